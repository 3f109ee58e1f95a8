"""Errors a user sees. Every message names where to look: a file and line for spec problems, the
live object for plan and apply problems."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: Longest value quoted in a message; past it the value is cut and its length said.
MAX_QUOTED = 80


def shorten(text: str, limit: int = MAX_QUOTED) -> str:
    """`text`, cut to about `limit` characters with how much was left out: a 1 MB value in a
    spec must not become a 1 MB error message."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


@dataclass(frozen=True)
class SpecError:
    """One problem in a spec file, formatted `file:line: field.path: message`."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        # Paths carry keys and messages quote values as written: both are capped.
        path, message = shorten(self.path, 200), shorten(self.message, 1000)
        return f"{where}: {path}: {message}" if path else f"{where}: {message}"


class ReconcilerError(Exception):
    """An error the CLI reports as-is (exit 1); no traceback, the message says it all."""


class SpecErrors(ReconcilerError):
    """All spec problems found in a run, reported together rather than one per run."""

    def __init__(self, errors: Iterable[SpecError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.file, e.line or 0, e.path))
        super().__init__("\n".join(str(e) for e in self.errors))


class PlanError(ReconcilerError):
    """The plan cannot be made or must not be applied (unmanaged takeover, prevent_destroy, ...)."""


class StalePlanError(ReconcilerError):
    """A saved plan no longer matches the live system or the specs."""
