"""Per-field behaviour as data, read by one generic normaliser for every kind.

Each kind declares a table of `FieldRule`s. A rule answers three independent questions about one
field (a dotted path, `*` matching one segment: a map key or a list item, e.g.
`custom_metrics.*.input_columns`):

- how a change is applied (`change`): `identity` (part of the object's key), `update` (in place)
  or `replace` (the live system cannot change it in place);
- how the live value is read: `server_owned` (set by the server only: never diffed), `write_only`
  (accepted but never returned: compared with the last applied value the live side records),
  `server_default=<value>` (what the server fills in when it is unset: unset never differs);
- how values are compared: `unordered` (a set: order and repeats ignored), `keyed_by=<field>` (a
  list of objects compared as a map keyed by that field, so a change reads `metrics.<name>.x`),
  `case_insensitive`, `empty_is_unset` (`[]`, `{}` and `""` are the same as unset).

`FieldTable.normalise` applies them to a state (desired or live) in one walk; the planner
diffs the results, the README and `reconciler fields` render the same table, and tests check it
against the emulators. Lookups are precompiled into a tree of path segments, so neither the
normaliser nor the planner scans patterns per path.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import KW_ONLY, dataclass
from enum import StrEnum
from typing import Any, Final


class OnChange(StrEnum):
    """How a change of the field is applied."""

    IDENTITY = "identity"  # part of the object's key: a change makes another object (a replace)
    UPDATE = "update"  # changed in place, history kept
    REPLACE = "replace"  # the live system cannot change it in place: destroy and recreate


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final[Any] = _Unset()


@dataclass(frozen=True)
class FieldRule:
    path: str
    change: OnChange = OnChange.UPDATE
    description: str = ""
    _: KW_ONLY
    # read
    server_owned: bool = False
    write_only: bool = False
    server_default: Any = UNSET
    # compare
    unordered: bool = False
    keyed_by: str | None = None
    case_insensitive: bool = False
    empty_is_unset: bool = False
    # Domain words for why a change of this field forces a replace.
    replace_reason: str = ""

    @property
    def has_default(self) -> bool:
        return self.server_default is not UNSET

    @property
    def forces_replace(self) -> bool:
        return self.change in (OnChange.IDENTITY, OnChange.REPLACE)

    @property
    def read(self) -> list[str]:
        out = [name for name in ("server_owned", "write_only") if getattr(self, name)]
        if self.has_default:
            out.append(f"server_default `{self.server_default!r}`")
        return out

    @property
    def compare(self) -> list[str]:
        out = [name for name in ("unordered", "case_insensitive", "empty_is_unset") if getattr(self, name)]
        if self.keyed_by:
            out.insert(0, f"keyed_by `{self.keyed_by}`")
        return out


def split_path(path: str) -> list[str]:
    """`a.b[0].c` -> ["a", "b", "0", "c"]."""
    return path.replace("[", ".").replace("]", "").split(".")


class _Node:
    """One path segment of a table: the rule for exactly this path, and the segments below.

    What the normaliser asks of a rule is read once here (`seal`), not per value walked."""

    __slots__ = ("children", "defaulted", "owned", "rule", "star", "transforms")

    def __init__(self) -> None:
        self.rule: FieldRule | None = None
        self.children: dict[str, _Node] = {}
        self.star: _Node | None = None
        self.owned = False  # server-owned: dropped
        self.transforms = False  # the rule changes values (defaults, sets, case, keyed lists, empties)
        self.defaulted: tuple[tuple[str, _Node], ...] = ()  # children filled in when absent

    def seal(self) -> None:
        for below in (*self.children.values(), *([self.star] if self.star else [])):
            below.seal()
        rule = self.rule
        self.owned = rule is not None and rule.server_owned
        self.transforms = rule is not None and bool(
            rule.keyed_by or rule.empty_is_unset or rule.has_default or rule.case_insensitive or rule.unordered
        )
        self.defaulted = tuple(
            (key, child)
            for key, child in self.children.items()
            if child.rule is not None and child.rule.has_default and not child.owned
        )


class FieldTable:
    """A kind's field rules, compiled once into a tree of path segments."""

    def __init__(self, rules: Iterable[FieldRule]) -> None:
        self.rules = tuple(rules)
        self._root = _Node()
        for rule in self.rules:
            node = self._root
            for part in rule.path.split("."):
                if part == "*":
                    node.star = node.star or _Node()
                    node = node.star
                else:
                    node = node.children.setdefault(part, _Node())
            node.rule = rule
        self._root.seal()
        self._lookups: dict[str, FieldRule | None] = {}
        self.write_only_paths = tuple(r.path for r in self.rules if r.write_only and "*" not in r.path)

    def __getitem__(self, path: str) -> FieldRule:
        for rule in self.rules:
            if rule.path == path:
                return rule
        raise KeyError(path)

    def default(self, path: str) -> Any:
        """The server default of `path`, for a spec model to state it once (from this table)."""
        rule = self[path]
        if not rule.has_default:
            raise KeyError(f"{path} has no server_default")
        return copy.deepcopy(rule.server_default)

    def rule_for(self, path: str) -> FieldRule | None:
        """The most specific rule for `path` (the rule of the field or of what it lies inside)."""
        if path not in self._lookups:
            self._lookups[path] = _deepest(self._root, split_path(path), 0)[1]
        return self._lookups[path]

    # --- the generic normaliser ------------------------------------------------------------
    def normalise(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The comparable form of `state`: server-owned fields dropped, server defaults filled,
        sets sorted, keyed lists as maps, case folded, empty as unset; unset (None) fields the
        table knows, and top-level ones, left out. Idempotent, so every side may be normalised as often as convenient."""
        return _normalise_dict(state, self._root, top=True)

    def write_only_values(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The write-only values of a desired state: what a provider records on the live side
        when it writes them, for `with_last_applied` to compare against next time."""
        normal = self.normalise(state)
        out: dict[str, Any] = {}
        for path in self.write_only_paths:
            value = _get(normal, path.split("."))
            out[path] = None if value is _ABSENT else value
        return out

    def with_last_applied(
        self, live: Mapping[str, Any], last_applied: Mapping[str, Any] | None, desired: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
        """The live state as compared: each write-only field (never returned by the live system)
        takes the value last applied (recorded on the live side). Where nothing was recorded
        (the object was adopted), it takes the desired value rather than invent a difference;
        those (path, assumed value) are returned so the plan can say what it assumed."""
        state = self.normalise(live)
        assumed: list[tuple[str, Any]] = []
        if not self.write_only_paths:
            return state, assumed  # nothing to take from elsewhere: the one walk is the answer
        wanted = self.normalise(desired)
        for path in self.write_only_paths:
            parts = path.split(".")
            if last_applied is not None and path in last_applied:
                value = last_applied[path]
            else:
                value = _get(wanted, parts)
                if value is not _ABSENT and value != self[path].server_default:
                    assumed.append((path, value))
            _set(state, parts, None if value is _ABSENT else copy.deepcopy(value))
        return self.normalise(state), assumed

    # --- rendering -------------------------------------------------------------------------
    def to_markdown(self) -> str:
        lines = ["| field | change | read | compare | notes |", "|---|---|---|---|---|"]
        for rule in self.rules:
            change = "—" if rule.server_owned else rule.change.value
            note = rule.description or (rule.replace_reason if rule.forces_replace else "")
            lines.append(f"| `{rule.path}` | {change} | {', '.join(rule.read)} | {', '.join(rule.compare)} | {note} |")
        return "\n".join(lines)


_ABSENT: Final[Any] = _Unset()


def _deepest(node: _Node, parts: list[str], depth: int) -> tuple[int, FieldRule | None]:
    best: tuple[int, FieldRule | None] = (depth, node.rule) if node.rule else (-1, None)
    if depth < len(parts):
        for child in (node.children.get(parts[depth]), node.star):
            if child is not None:
                found = _deepest(child, parts, depth + 1)
                if found[0] > best[0]:
                    best = found
    return best


def _get(root: Any, parts: list[str]) -> Any:
    node = root
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return _ABSENT
        node = node[part]
    return node


def _set(root: dict[str, Any], parts: list[str], value: Any) -> None:
    node = root
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = node[part] = {}
        node = nxt
    node[parts[-1]] = value


#: One encoder for every sort key: `json.dumps` with options builds a new encoder per call, which
#: at 10,000 objects cost more than the rest of the normaliser. Strings take the C escaper.
_encode = json.JSONEncoder(sort_keys=True, default=str).encode
_encode_str = json.encoder.encode_basestring_ascii


def _unique_sorted(values: list[Any]) -> list[Any]:
    """A set's normal form: repeats dropped, items ordered by their canonical JSON text."""
    if all(type(v) is str for v in values):
        return sorted(set(values), key=_encode_str)
    return [v for _, v in sorted({_encode(v): v for v in values}.items())]


def _fresh(value: Any) -> Any:
    """A copy of a default the caller may change: scalars as they are, flat lists copied."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, list) and all(item is None or isinstance(item, (str, int, float)) for item in value):
        return list(value)
    return copy.deepcopy(value)


def _normalise_dict(value: Mapping[str, Any], node: _Node | None, top: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if node is None:
        for key, item in value.items():
            out[key] = _normalise(item, None)
        return out
    children, star = node.children, node.star
    for key, item in value.items():
        child = children.get(key if type(key) is str else str(key)) or star
        if child is not None and child.owned:
            continue
        item = _normalise(item, child)
        # Unset is left out where the table knows the field (or at the top): unset and absent are
        # one thing there. Inside values it does not model (a query's model) a null is kept as is.
        if item is not None or (not top and (child is None or child.rule is None)):
            out[key] = item
    for key, child in node.defaulted:
        if key not in out:
            filled = _normalise(None, child)
            if filled is not None:
                out[key] = filled
    return out


def _normalise(value: Any, node: _Node | None) -> Any:
    if node is None or not node.transforms:
        if isinstance(value, dict):
            return _normalise_dict(value, node)
        if isinstance(value, list):
            items = node.star if node is not None else None
            return [_normalise(item, items) for item in value]
        return value
    rule: Any = node.rule  # not None: only a rule transforms
    if rule.keyed_by and isinstance(value, list):
        key = rule.keyed_by
        if all(isinstance(item, dict) and key in item for item in value):
            value = {str(item[key]): {f: v for f, v in item.items() if f != key} for item in value}
    if isinstance(value, dict):
        value = _normalise_dict(value, node)
    elif isinstance(value, list):
        items = node.star
        value = [_normalise(item, items) for item in value]
    if rule.empty_is_unset and (value == [] or value == {} or value == ""):
        value = None
    if value is None and rule.has_default:
        value = _fresh(rule.server_default)  # stated in its normal form
    if rule.case_insensitive:
        if isinstance(value, str):
            value = value.lower()
        elif isinstance(value, list):
            value = [v.lower() if isinstance(v, str) else v for v in value]
    if rule.unordered and isinstance(value, list):
        value = _unique_sorted(value)
    return value
