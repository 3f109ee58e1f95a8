"""Field-level differences between a live object and its spec, via deepdiff.

Both sides are first normalised with the kind's field table (server-owned fields dropped, server
defaults filled), so only differences a user can act on remain. Lists of scalars are reported as a
whole (`included_statuses: [A, B] -> [A, B, C]` reads better than an item at index 2); lists of
objects keep their item paths so a change deep inside a query model stays one precise line.
"""

from __future__ import annotations

import copy
from typing import Any

from deepdiff import DeepDiff

from reconciler.kinds.fields import FieldBehaviour, FieldTable

from .model import Change

_ABSENT = None


def _format(path: list[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _get(root: Any, path: list[Any]) -> Any:
    node = root
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return _ABSENT
    return node


def _is_scalar_list(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value)


def _walk(value: Any, path: list[Any], fn: Any) -> Any:
    """Apply fn(path, value) -> value bottom-up over dicts."""
    if isinstance(value, dict):
        value = {k: _walk(v, path + [k], fn) for k, v in value.items()}
    return fn(path, value)


def normalise(state: dict[str, Any], fields: FieldTable, other: dict[str, Any]) -> dict[str, Any]:
    """Drop server-owned fields; fill server defaults where a side leaves them unset."""
    state = copy.deepcopy(state)

    def fix(path: list[Any], value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        result = {}
        for key, item in value.items():
            rule = fields.rule_for(_format(path + [key]))
            if rule and rule.behaviour is FieldBehaviour.SERVER_OWNED and rule.matches_exactly(_format(path + [key])):
                continue
            if item is None and rule and rule.behaviour is FieldBehaviour.SERVER_DEFAULT and rule.has_default:
                item = copy.deepcopy(rule.default)
            result[key] = item
        return result

    state = _walk(state, [], fix)
    # A server-default field the spec leaves unset takes whatever the server chose.
    for rule in fields.with_behaviour(FieldBehaviour.SERVER_DEFAULT):
        if rule.has_default or "*" in rule.path:
            continue
        parts = rule.path.split(".")
        if _get(state, parts) is None and _get(other, parts) is not None:
            parent = _get(state, parts[:-1]) if len(parts) > 1 else state
            if isinstance(parent, dict):
                parent[parts[-1]] = copy.deepcopy(_get(other, parts))
    return state


def diff_states(live: dict[str, Any], desired: dict[str, Any], fields: FieldTable) -> list[Change]:
    """Changes that turn `live` into `desired`, one per field path."""
    before = normalise(live, fields, desired)
    after = normalise(desired, fields, before)
    # Server-owned fields that only the live side has are ignored (dropped above); fields only
    # the live side has that the spec does not model at all are not ours to diff either.
    tree = DeepDiff(before, after, view="tree", ignore_order=False, verbose_level=2)
    changes: dict[str, Change] = {}
    for report in tree.values():
        for level in report:
            path = level.path(output_format="list")
            # Collapse list-of-scalars changes to the list itself.
            for i in range(len(path)):
                if isinstance(path[i], int) and _is_scalar_list(_get(after, path[:i]) or _get(before, path[:i]) or []):
                    path = path[:i]
                    break
            key = _format(path)
            if key in changes:
                continue
            changes[key] = Change(path=key, before=_get(before, path), after=_get(after, path))
    return sorted(changes.values(), key=lambda c: c.path)


def field_changes(state: dict[str, Any], fields: FieldTable, *, created: bool) -> list[Change]:
    """A whole object as per-field changes: every field added (create) or removed (delete)."""
    clean = normalise(state, fields, {})
    out = []
    for key, value in sorted(clean.items()):
        if value is None:
            continue
        # A map of objects (a rule's query nodes by refId) is shown one entry per object, so a
        # reviewer sees each node whole instead of one cut-off blob.
        parts = (
            sorted(value.items())
            if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values())
            else [(None, value)]
        )
        for sub, part in parts:
            path = key if sub is None else f"{key}.{sub}"
            out.append(Change(path=path, before=None if created else part, after=part if created else None))
    return out
