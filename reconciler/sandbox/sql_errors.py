"""The one error the sandbox warehouse's engine raises: the statement ends FAILED with it."""

from __future__ import annotations


class StatementFailed(Exception):
    """The warehouse rejected the statement: it ends FAILED with this error."""

    def __init__(self, message: str, error_code: str = "BAD_REQUEST", sql_state: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.sql_state = sql_state
