"""Errors for machines: the JSON errors document and GitHub Actions annotations.

Why: in CI a failed `validate` or `plan` should show its problems on the lines of the pull
request (`::error file=…,line=…::…` is how a GitHub Actions step does that) and a bot should get
them as data, not scrape stderr. The human message still goes to stderr either way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from reconciler.contracts import ERRORS_FORMAT_VERSION, tool
from reconciler.errors import Diagnostic, SpecError

# `specs/x.yaml:12` inside a plan-time message (e.g. "SlaPolicy 'bi' (specs/p.yaml:4) matches ...").
_SOURCE = re.compile(r"([\w./\\-]+\.ya?ml):(\d+)")


def errors_of(exc: Exception) -> list[Diagnostic]:
    """The errors of a failed run, each with a file and line where one is known."""
    from reconciler.errors import SpecErrors

    if isinstance(exc, SpecErrors):
        return list(exc.errors)
    message = str(exc)
    # A refused plan lists its problems as "  - ..." lines: one annotation each, on its own spec line.
    head, *items = message.split("\n  - ")
    out = []
    for text in items or [message]:
        text = f"{head} {text}" if items else text
        found = _SOURCE.search(text)
        out.append(SpecError(found.group(1), int(found.group(2)), "", text) if found else SpecError("", None, "", text))
    return out


def errors_document(errors: Sequence[Diagnostic]) -> dict[str, Any]:
    return {
        "format_version": ERRORS_FORMAT_VERSION,
        "tool": tool(),
        "ok": False,
        "errors": [{"file": e.file or None, "line": e.line, "path": e.field, "message": e.message} for e in errors],
    }


def _escape_data(text: str) -> str:
    # GitHub's workflow-command escaping (actions/toolkit `escapeData` / `escapeProperty`).
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(
    level: str, message: str, file: str | None = None, line: int | None = None, title: str = ""
) -> str:
    """One workflow command, e.g. `::error file=specs/p.yaml,line=4,title=spec.sla_seconds::...`."""
    props = []
    if file:
        props.append(f"file={_escape_property(file)}")
        if line:
            props.append(f"line={line}")
    if title:
        props.append(f"title={_escape_property(title)}")
    return f"::{level} {','.join(props)}::{_escape_data(message)}" if props else f"::{level}::{_escape_data(message)}"


def github_annotations(errors: Sequence[Diagnostic]) -> list[str]:
    return [github_annotation("error", e.message, e.file, e.line, e.field or "reconciler") for e in errors]


def plan_annotations(plan: Any) -> list[str]:
    """Destructive operations and operations with warnings, as annotations on their spec lines."""
    out = []
    for op in plan.operations:
        file, line = None, None
        if op.source:
            found = _SOURCE.fullmatch(op.source)
            if found:
                file, line = found.group(1), int(found.group(2))
        if op.destructive:
            why = "; ".join(op.reasons + op.warnings)
            out.append(
                github_annotation("warning", f"{op.action.value} {op.address}: {why}", file, line, "destructive")
            )
        elif op.warnings:
            out.append(
                github_annotation("notice", f"{op.action.value} {op.address}: {'; '.join(op.warnings)}", file, line)
            )
    return out
