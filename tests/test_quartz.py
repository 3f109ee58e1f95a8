"""Quartz cron syntax: what the Databricks schedule fields accept."""

import pytest

from reconciler.quartz import quartz_error


@pytest.mark.parametrize(
    "expression",
    [
        "0 0 4 * * ?",
        "0 0/15 * * * ?",
        "0 30 6 ? * MON-FRI",
        "0 0 12 1,15 * ? 2030",
        "0 0 0 L * ?",
        "0 0 0 ? * 6#3",
        "0 0 0 LW * ?",
        "0 0 0 ? JAN,JUL FRIL",
    ],
)
def test_valid_expressions(expression: str) -> None:
    assert quartz_error(expression) is None


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("0 4 * * *", "expected 6 or 7 fields"),
        ("0 0 4 * * *", "exactly one of day-of-month and day-of-week"),
        ("0 0 4 ? * ?", "exactly one of day-of-month and day-of-week"),
        ("0 61 4 * * ?", "minutes field '61'"),
        ("0 0 24 * * ?", "hours field '24'"),
        ("0 0 4 * FOO ?", "month field 'FOO'"),
        ("0 0/0 4 * * ?", "step"),
        ("? 0 4 * * ?", "'?' is only allowed"),
    ],
)
def test_invalid_expressions(expression: str, problem: str) -> None:
    error = quartz_error(expression)
    assert error is not None and problem in error
