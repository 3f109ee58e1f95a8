"""What reconciler last applied, per object, as a digest recorded on the live side beside the
ownership marker (a policy row's `applied_digest` column, a Grafana rule's
`reconciler_applied_digest` annotation, a monitor's ledger entry).

Why: without a state file, a live object that differs from its spec could mean two different
things, and a drift job must tell them apart, like Terraform's `-refresh-only` beside `plan`:
- changed outside reconciler: live no longer is what reconciler last applied (someone edited it);
- spec changed, not applied yet: live still is what was last applied, the spec moved on.
The digest is of the kind's comparable form (`FieldTable.normalise`), the same form the planner
compares, so a live object read back after an apply has the digest recorded at the apply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.kinds.base import LiveObject, Resource
from reconciler.kinds.fields import FieldTable
from reconciler.plan.digest import fingerprint

# The one name every live side uses (column, annotation suffix, ledger entry key).
FIELD = "applied_digest"

OUT_OF_BAND = "out_of_band"  # live differs from what reconciler last applied
PENDING = "pending"  # live is what reconciler last applied; the spec changed since
UNKNOWN = "unknown"  # nothing recorded (applied by an older version, or imported)


def applied_digest(fields: FieldTable, state: Mapping[str, Any]) -> str:
    """The digest to record when writing `state` (a resource's desired state). Write-only fields
    are left out: the live side never returns them, so a read-back could not match them."""
    normal = fields.normalise(state)
    for path in fields.write_only_paths:
        parts = path.split(".")
        node: Any = normal
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(parts[-1], None)
    return fingerprint(normal)


def cause(fields: FieldTable, live: LiveObject, desired: Resource | None) -> str:
    """Why a managed live object differs from its spec."""
    recorded = live.applied_digest
    if not recorded:
        return UNKNOWN
    if applied_digest(fields, live.state) != recorded:
        return OUT_OF_BAND
    if desired is not None and applied_digest(fields, desired.state) == recorded:
        return OUT_OF_BAND  # the spec is what was applied, yet they differ: a change live
    return PENDING


def causes(
    entries: Sequence[Any], live: Sequence[LiveObject], desired: Sequence[Resource], tables: Mapping[str, FieldTable]
) -> None:
    """Set `cause` on every `drifted` drift entry."""
    live_by_key = {(o.kind, o.key): o for o in live}
    desired_by_name = {(r.kind, r.name): r for r in desired}
    for entry in entries:
        if entry.status != "drifted":
            continue
        obj = live_by_key.get((entry.kind, entry.key)) or next(
            (o for o in live if o.kind == entry.kind and o.managed and o.name == entry.name), None
        )
        table = tables.get(entry.kind)
        entry.cause = cause(table, obj, desired_by_name.get((entry.kind, entry.name))) if obj and table else UNKNOWN
