"""Syntax check for Quartz cron expressions (the schedule format Databricks monitors and jobs use).

Why here and not in one user: both the `QualityMonitor` kind (offline validation, so a typo fails
`reconciler validate` instead of an apply) and the sandbox's monitor emulator (which refuses what the
service refuses) need the same rule. It follows the Quartz 2.3 CronTrigger tutorial
(https://www.quartz-scheduler.org/documentation/quartz-2.3.0/tutorials/crontrigger.html), which the
Databricks API reference links: 6 or 7 fields `sec min hour day-of-month month day-of-week [year]`,
special characters `* , - / ? L W #`, and exactly one of day-of-month / day-of-week set to `?`.
It checks syntax and ranges, not whether the expression ever fires.
"""

from __future__ import annotations

import re

_MONTHS = {
    m: i + 1 for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])
}
_DAYS = {d: i + 1 for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}

# (name, low, high, names)
_FIELDS = [
    ("seconds", 0, 59, {}),
    ("minutes", 0, 59, {}),
    ("hours", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, _DAYS),
    ("year", 1970, 2099, {}),
]


def quartz_error(expression: str) -> str | None:
    """None when `expression` is a valid Quartz cron expression, else what is wrong with it."""
    parts = expression.split()
    if len(parts) not in (6, 7):
        return f"expected 6 or 7 fields (seconds minutes hours day-of-month month day-of-week [year]), got {len(parts)}"
    dom, dow = parts[3], parts[5]
    if (dom == "?") == (dow == "?"):
        return "exactly one of day-of-month and day-of-week must be '?'"
    for text, (name, low, high, names) in zip(parts, _FIELDS):
        problem = _field_error(text.upper(), name, low, high, names)
        if problem:
            return f"{name} field '{text}': {problem}"
    return None


def _field_error(text: str, name: str, low: int, high: int, names: dict[str, int]) -> str | None:
    if text == "?":
        return None if name in ("day-of-month", "day-of-week") else "'?' is only allowed in day-of-month or day-of-week"
    for item in text.split(","):
        problem = _item_error(item, name, low, high, names)
        if problem:
            return problem
    return None


def _item_error(item: str, name: str, low: int, high: int, names: dict[str, int]) -> str | None:
    if not item:
        return "empty list item"
    if name == "day-of-month" and re.fullmatch(r"L(-\d{1,2})?|LW|\d{1,2}W", item):
        number = re.findall(r"\d+", item)
        if number and not 0 <= int(number[0]) <= 31:
            return f"{number[0]} is out of range"
        return None
    if name == "day-of-week":
        nth = re.fullmatch(r"([A-Z]{3}|\d)#(\d)", item)
        if nth:
            if _value(nth.group(1), low, high, names) is None:
                return f"'{nth.group(1)}' is not a day of week"
            return None if 1 <= int(nth.group(2)) <= 5 else "the n in 'day#n' must be 1..5"
        last = re.fullmatch(r"([A-Z]{3}|\d)?L", item)
        if last:
            if last.group(1) and _value(last.group(1), low, high, names) is None:
                return f"'{last.group(1)}' is not a day of week"
            return None
    base, _, step = item.partition("/")
    if step and (not step.isdigit() or int(step) == 0):
        return f"step '/{step}' must be a positive number"
    if base == "*":
        return None
    start, dash, end = base.partition("-")
    for value in (start, end) if dash else (start,):
        if _value(value, low, high, names) is None:
            return f"'{value}' is not a value between {low} and {high}" + (" or a name" if names else "")
    return None


def _value(text: str, low: int, high: int, names: dict[str, int]) -> int | None:
    if text in names:
        return names[text]
    if text.isdigit() and low <= int(text) <= high:
        return int(text)
    return None


# Java short zone ids Quartz (java.util.TimeZone) accepts besides the IANA names.
_JAVA_SHORT_ZONES = {"UTC", "GMT", "PST", "EST", "CST", "MST", "IST", "JST", "CET", "EET", "ECT", "AET", "BST"}


def timezone_error(zone: str) -> str | None:
    """None when `zone` is a time zone id a Quartz schedule accepts (IANA name or Java short id)."""
    from zoneinfo import available_timezones

    if zone in _JAVA_SHORT_ZONES or zone in available_timezones():
        return None
    return f"'{zone}' is not a time zone id (use an IANA name such as 'UTC' or 'Europe/Berlin')"
