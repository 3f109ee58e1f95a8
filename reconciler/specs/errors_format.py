"""Turns pydantic validation errors into `file:line: field.path: message` errors."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from reconciler.errors import SpecError

from .yaml_loader import Document, PathKey, dotted_path


def _expected_list(expected: str) -> str:
    # pydantic writes "'A', 'B' or 'C'"; we want "A, B, C".
    return expected.replace("'", "").replace(" or ", ", ")


def _message(err: dict[str, Any]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind in ("literal_error", "enum") and "expected" in ctx:
        return f"{value!r} is not one of {_expected_list(str(ctx['expected']))}"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind in ("too_short",) and isinstance(value, list) and not value:
        return "must not be empty"
    msg = str(err.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg


def validation_errors(exc: ValidationError, doc: Document, prefix: PathKey = ()) -> list[SpecError]:
    """All errors of one failed validation, each pointing at the line of its field."""
    out: list[SpecError] = []
    for err in exc.errors(include_url=False):
        # Drop union/tag markers pydantic inserts into locations (e.g. function-after[...]).
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p and "]" in p)))
        path = prefix + loc
        out.append(SpecError(doc.file, doc.line_for(path), dotted_path(path), _message(err)))
    return out
