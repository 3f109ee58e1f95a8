"""Errors a user sees. Every message names where to look: a file and line for spec problems, the
live object for plan and apply problems."""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.diagnostics import MAX_QUOTED, Diagnostic, shorten, spec_error

__all__ = ["MAX_QUOTED", "Diagnostic", "PlanError", "ReconcilerError", "SpecError", "SpecErrors", "shorten"]

# A problem in a spec file is a located error `Diagnostic` (`file:line: field.path: message`);
# `SpecError(file, line, path, message)` builds one where the reader already knows file and line.
SpecError = spec_error


class ReconcilerError(Exception):
    """An error the CLI reports as-is (exit 1); no traceback, the message says it all."""


class SpecErrors(ReconcilerError):
    """All spec problems found in a run, reported together rather than one per run."""

    def __init__(self, errors: Iterable[Diagnostic]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.file or "", e.line or 0, e.field))
        super().__init__("\n".join(str(e) for e in self.errors))


class PlanError(ReconcilerError):
    """The plan cannot be made or must not be applied (unmanaged takeover, prevent_destroy, ...)."""

    def __init__(self, message: str, diagnostics: Iterable[Diagnostic] = ()) -> None:
        super().__init__(message)
        # The refusals behind it, one per object, for callers that report them as data.
        self.diagnostics = list(diagnostics)


class StalePlanError(ReconcilerError):
    """A saved plan no longer matches the live system or the specs."""
