"""Per-field behaviour as data.

Each kind declares a table of `FieldRule`s. The planner reads it to decide update vs replace and
what to ignore, the README renders it, and tests check it against the sandbox. Paths are dotted,
with `*` matching one segment (a map key or a list index), e.g. `custom_metrics.*.input_columns`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any


class FieldBehaviour(StrEnum):
    IDENTITY = "identity"  # part of the object's key: a change is a replace (new object)
    UPDATABLE = "updatable"  # changed in place, history kept
    FORCES_REPLACE = "forces_replace"  # the live system cannot change it in place
    SERVER_DEFAULT = "server_default"  # filled by the server when unset: unset never differs
    WRITE_ONLY = "write_only"  # accepted but not returned: compared with the last applied value
    SERVER_OWNED = "server_owned"  # set by the server only: never diffed


_UNSET = object()


@dataclass(frozen=True)
class FieldRule:
    path: str
    behaviour: FieldBehaviour
    description: str = ""
    # For SERVER_DEFAULT: the value the server fills in when the spec leaves the field unset.
    default: Any = _UNSET
    # Domain words for why a change of this field forces a replace.
    replace_reason: str = ""

    @property
    def has_default(self) -> bool:
        return self.default is not _UNSET

    def matches(self, path: str) -> bool:
        """True when `path` is this field or lies inside it."""
        pattern_parts = self.path.split(".")
        parts = _split(path)
        if len(parts) < len(pattern_parts):
            return False
        return all(fnmatchcase(p, q) for p, q in zip(parts, pattern_parts))

    def matches_exactly(self, path: str) -> bool:
        return self.matches(path) and len(_split(path)) == len(self.path.split("."))


def _split(path: str) -> list[str]:
    return path.replace("[", ".").replace("]", "").split(".")


class FieldTable:
    """A kind's field rules, looked up by change path (most specific rule wins)."""

    def __init__(self, rules: Iterable[FieldRule]) -> None:
        self.rules = tuple(rules)

    def rule_for(self, path: str) -> FieldRule | None:
        best: FieldRule | None = None
        for rule in self.rules:
            if rule.matches(path) and (best is None or len(rule.path.split(".")) > len(best.path.split("."))):
                best = rule
        return best

    def with_behaviour(self, behaviour: FieldBehaviour) -> list[FieldRule]:
        return [r for r in self.rules if r.behaviour is behaviour]

    def to_markdown(self) -> str:
        lines = ["| field | behaviour | notes |", "|---|---|---|"]
        for rule in self.rules:
            note = rule.description or rule.replace_reason
            if rule.has_default:
                note = f"{note} (default `{rule.default!r}`)".strip()
            lines.append(f"| `{rule.path}` | {rule.behaviour.value} | {note} |")
        return "\n".join(lines)
