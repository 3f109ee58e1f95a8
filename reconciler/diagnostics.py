"""One diagnostics model for every problem and warning reconciler reports (pure).

A `Diagnostic` says how bad it is (`severity`), which object it is about (`object`, the
`Kind/name` address), where in that object's document (`path` from the document root, e.g.
`("spec", "rules", 0, "title")`), and what is wrong (`summary`, optional `detail`). Whoever finds
the problem states the path, never a file or line; the loader (spec checks) and the engine
(provider checks) resolve it to `file:line` once, from the lines the YAML loader recorded
(`resolve`). The same shape carries the planner's refusals and warnings, attached to the
operations of the plan JSON. Modelled on terraform-plugin-framework's
`Diagnostics.AddAttributeError(path, summary, detail)` and the Databricks CLI's
`diag.Diagnostic{Severity, Summary, Detail, Paths, Locations}`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol

FieldPath = tuple[str | int, ...]

#: Longest value quoted in a message; past it the value is cut and its length said.
MAX_QUOTED = 80


def shorten(text: str, limit: int = MAX_QUOTED) -> str:
    """`text`, cut to about `limit` characters with how much was left out: a 1 MB value in a
    spec must not become a 1 MB error message."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


def dotted(path: FieldPath) -> str:
    """("spec", "rules", 0, "title") -> "spec.rules[0].title"."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(text: str) -> FieldPath:
    """The inverse of `dotted` (for problems found with a path already written out)."""
    return tuple(int(index) if index else key for key, index in _PART.findall(text))


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    summary: str
    path: FieldPath = ()
    object: str | None = None
    detail: str = ""
    file: str | None = None
    line: int | None = None
    # The object itself, when the finder has it (two objects may share an address while their
    # documents clash): what `resolve` locates the path in. Never serialised or compared.
    subject: Located | None = field(default=None, repr=False, compare=False)

    @classmethod
    def error(
        cls,
        summary: str,
        path: FieldPath = (),
        *,
        object: str | None = None,
        detail: str = "",
        subject: Located | None = None,
    ) -> Diagnostic:
        return cls(Severity.ERROR, summary, tuple(path), object, detail, subject=subject)

    @classmethod
    def warning(cls, summary: str, path: FieldPath = (), *, object: str | None = None, detail: str = "") -> Diagnostic:
        return cls(Severity.WARNING, summary, tuple(path), object, detail)

    @property
    def field(self) -> str:
        """The path as written in messages: `spec.rules[0].title`."""
        return dotted(self.path)

    @property
    def message(self) -> str:
        return f"{self.summary}: {self.detail}" if self.detail else self.summary

    @property
    def location(self) -> str | None:
        if self.file is None:
            return None
        return f"{self.file}:{self.line}" if self.line else self.file

    def at(self, file: str, line: int | None) -> Diagnostic:
        return replace(self, file=file, line=line)

    def __str__(self) -> str:
        """`file:line: field.path: message`, as every spec problem has always read."""
        where = self.location
        # Paths carry keys and messages quote values as written: both are capped.
        path, message = shorten(self.field, 200), shorten(self.message, 1000)
        text = f"{path}: {message}" if path else message
        return f"{where}: {text}" if where else text

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity.value,
            "summary": self.summary,
            "detail": self.detail,
            "object": self.object,
            "path": self.field,
            "source": self.location,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Diagnostic:
        file, line = None, None
        source = data.get("source")
        if source:
            head, _, tail = str(source).rpartition(":")
            file, line = (head, int(tail)) if head and tail.isdigit() else (str(source), None)
        return cls(
            Severity(data["severity"]),
            data["summary"],
            parse_path(data.get("path") or ""),
            data.get("object"),
            data.get("detail") or "",
            file,
            line,
        )


def spec_error(file: str, line: int | None, path: str, message: str) -> Diagnostic:
    """An error already located (found while reading a file): `file:line: path: message`."""
    return Diagnostic(Severity.ERROR, message, parse_path(path), None, "", file, line)


class Position(Protocol):
    @property
    def file(self) -> str: ...

    @property
    def line(self) -> int: ...


class Located(Protocol):
    """What a diagnostic's object is resolved against (a `Resource`)."""

    @property
    def address(self) -> str: ...

    def locate(self, path: FieldPath) -> Position: ...


def resolve(diagnostics: Iterable[Diagnostic], objects: Iterable[Located]) -> list[Diagnostic]:
    """Each diagnostic at `file:line` of its path in its object's document (the deepest part of
    the path the file has); ones already located, or about no known object, stay as they are."""
    by_address = {o.address: o for o in objects}
    out = []
    for diag in diagnostics:
        obj = diag.subject or (by_address.get(diag.object) if diag.object is not None else None)
        if obj is not None and diag.file is None:
            where = obj.locate(diag.path)
            diag = diag.at(where.file, where.line)
        out.append(diag)
    return out
