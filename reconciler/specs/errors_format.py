"""Turns pydantic validation errors into `file:line: field.path: message` errors."""

from __future__ import annotations

import difflib
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from reconciler.diagnostics import Diagnostic
from reconciler.errors import SpecError, shorten

from .yaml_loader import Document, PathKey, dotted_path


def _expected_list(expected: str) -> str:
    # pydantic writes "'A', 'B' or 'C'"; we want "A, B, C".
    return expected.replace("'", "").replace(" or ", ", ")


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Pydantic models an annotation can hold (through Optional, unions, lists, dicts)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out += _models_in(arg)
    return out


def _allowed_fields(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str]:
    """Field names valid at `loc` (the parent of an unknown field), best effort."""
    candidates: list[type[BaseModel]] = [model] if model else []
    for part in loc:
        if isinstance(part, int):
            continue
        nxt: list[type[BaseModel]] = []
        for m in candidates:
            field = next((f for n, f in m.model_fields.items() if part in (n, f.alias)), None)
            if field is not None:
                nxt += _models_in(field.annotation)
        if nxt:
            candidates = nxt
    names: list[str] = []
    for m in candidates:
        # As written in a spec: a field's alias when it has one (`for`, not `for_`).
        names += [f.alias or n for n, f in m.model_fields.items() if (f.alias or n) not in names]
    return names


def _unknown_field(err: ErrorDetails, model: type[BaseModel] | None) -> str:
    name = str(err["loc"][-1])
    allowed = _allowed_fields(model, tuple(err["loc"][:-1]))
    if not allowed:
        return "unknown field"
    close = difflib.get_close_matches(name, allowed, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else f" (allowed: {', '.join(allowed)})"
    return f"unknown field{hint}"


def _message(err: ErrorDetails, model: type[BaseModel] | None = None) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind in ("literal_error", "enum") and "expected" in ctx:
        return f"{shorten(repr(value))} is not one of {_expected_list(str(ctx['expected']))}"
    if kind == "extra_forbidden":
        return _unknown_field(err, model)
    if kind == "missing":
        return "required field is missing"
    if kind in ("too_short",) and isinstance(value, list) and not value:
        return "must not be empty"
    msg = str(err.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg


def validation_errors(
    exc: ValidationError, doc: Document, prefix: PathKey = (), model: type[BaseModel] | None = None
) -> list[Diagnostic]:
    """All errors of one failed validation, each pointing at the line of its field; `model`
    (the validated model) lets unknown-field errors suggest the field that was meant."""
    out: list[Diagnostic] = []
    for err in exc.errors(include_url=False):
        # Drop union/tag markers pydantic inserts into locations (e.g. function-after[...]).
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p and "]" in p)))
        path = _drop_union_tags(prefix + loc, doc)
        out.append(SpecError(doc.file, doc.line_for(path), dotted_path(path), _message(err, model)))
    return out


def _drop_union_tags(path: PathKey, doc: Document) -> PathKey:
    """Without the tag a discriminated union inserts (`policy_store.databricks.table` is
    `policy_store.table` in the file): a part that is no key in the document, followed by one that is."""
    out: PathKey = ()
    for i, part in enumerate(path):
        nxt = path[i + 1] if i + 1 < len(path) else None
        if nxt is not None and out + (part,) not in doc.lines and out + (nxt,) in doc.lines:
            continue
        out += (part,)
    return out
