"""Errors a user sees. Every message names where to look: a file and line for spec problems, the
live object for plan and apply problems."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class SpecError:
    """One problem in a spec file, formatted `file:line: field.path: message`."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


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
