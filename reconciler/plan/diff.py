"""Field-level differences between a live object and its spec.

Both sides are first put in their comparable form by the kind's field table (one generic
normaliser: server-owned fields dropped, server defaults filled, sets sorted, keyed lists as maps;
see `reconciler.kinds.fields`), so only differences a user can act on remain; equal forms are
not diffed at all. Lists of scalars are reported as a whole (`included_statuses: [A, B] ->
[A, B, C]` reads better than an item at index 2); lists of objects keep their item paths so a
change deep inside a query model stays one precise line.
"""

from __future__ import annotations

from typing import Any

from deepdiff import DeepDiff

from reconciler.kinds.fields import FieldTable

from .model import Change

_ABSENT = None
_MISSING: Any = object()


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


def diff_normalised(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """Changes between two states already in their comparable form, one per field path.

    A top-level field that is added, removed, of another type, a scalar or a list of scalars is
    one change of that field, compared here; only fields that differ inside a nested structure
    go to DeepDiff, whose set-up per call was most of a plan of thousands of changed objects."""
    if before == after:
        return []
    changes: dict[str, Change] = {}
    nested_before: dict[str, Any] = {}
    nested_after: dict[str, Any] = {}
    for key in before.keys() | after.keys():
        old, new = before.get(key, _MISSING), after.get(key, _MISSING)
        if type(old) is type(new) and old == new:
            continue
        if old is _MISSING or new is _MISSING or type(old) is not type(new) or not _nested(new):
            path = _format([key])
            changes[path] = Change(path=path, before=_get(before, [key]), after=_get(after, [key]))
        else:
            nested_before[key], nested_after[key] = old, new
    if nested_before:
        _deep_changes(nested_before, nested_after, before, after, changes)
    return sorted(changes.values(), key=lambda c: c.path)


def _nested(value: Any) -> bool:
    """A value whose changes are reported inside it: a mapping or a list holding structures."""
    return isinstance(value, dict) or (isinstance(value, list) and not _is_scalar_list(value))


def _deep_changes(
    old: dict[str, Any], new: dict[str, Any], before: dict[str, Any], after: dict[str, Any], changes: dict[str, Change]
) -> None:
    """The changes inside nested fields, by DeepDiff, each at its precise path."""
    tree = DeepDiff(old, new, view="tree", ignore_order=False, verbose_level=2)
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


def diff_states(live: dict[str, Any], desired: dict[str, Any], fields: FieldTable) -> list[Change]:
    """Changes that turn `live` into `desired`, one per field path."""
    return diff_normalised(fields.normalise(live), fields.normalise(desired))


def field_changes(state: dict[str, Any], fields: FieldTable, *, created: bool) -> list[Change]:
    """A whole object as per-field changes: every field added (create) or removed (delete)."""
    clean = fields.normalise(state)
    out = []
    for key, value in sorted(clean.items()):
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
