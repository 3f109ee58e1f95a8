"""The `query_sla_policies` row shape, shared by every policy store (SQLite, Databricks SQL).

Columns follow the warehouse SLA framework's table (policy_id, policy_hash, warehouse_ids,
sla_seconds, query_statuses, policy_mode) plus ownership: who manages the row, under which spec
name, whether it is protected, and when it was last applied.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from reconciler.kinds.base import LiveObject
from reconciler.kinds.sla_policy import FIELDS, PolicyFacts, PolicyLive, PolicyResource, normalise_policy
from reconciler.last_applied import applied_digest

TABLE = "query_sla_policies"

# Column order used by reads and writes.
COLUMNS = (
    "policy_id",
    "policy_hash",
    "warehouse_ids",
    "sla_seconds",
    "query_statuses",
    "policy_mode",
    "managed_by",
    "spec_name",
    "prevent_destroy",
    "applied_at",
    "applied_digest",
)

# Reconciler's ownership columns: the ones a table created by the SLA framework itself lacks,
# added (nullable, so the framework's own jobs keep working) by `apply --allow-migrate`. A table an
# earlier reconciler made lacks `applied_digest` (reconciler.last_applied) and is migrated the same way.
OWNERSHIP_COLUMNS = ("managed_by", "spec_name", "prevent_destroy", "applied_at", "applied_digest")

# Columns holding lists of strings (JSON text in SQLite, ARRAY<STRING> in Delta).
LIST_COLUMNS = ("warehouse_ids", "query_statuses")

# The table's own comment in stores that keep one (a constant: no value is ever put into SQL text).
TABLE_COMMENT = (
    "SLA policies of the warehouse SLA framework. Rows whose managed_by starts with reconciler/ are "
    "managed by reconciler from specs in git: change those through the specs, not here."
)


def decode_list(value: Any) -> list[str]:
    """A list column as read: a list already, JSON text, or (hand-written rows) comma-separated text,
    read as the framework would."""
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    try:
        decoded = json.loads(value)
    except (TypeError, json.JSONDecodeError):
        decoded = None
    if isinstance(decoded, list):
        return [str(v) for v in decoded]
    return [p.strip() for p in str(value).split(",") if p.strip()]


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def row_values(resource: PolicyResource, owner: str) -> dict[str, Any]:
    """The column values reconciler writes for a declared policy (lists as Python lists)."""
    state = resource.state
    return {
        "policy_hash": resource.key,
        "warehouse_ids": list(state["warehouse_ids"]),
        "sla_seconds": state["sla_seconds"],
        "query_statuses": list(state["included_statuses"]),
        "policy_mode": state["policy_mode"],
        "managed_by": owner,
        "spec_name": resource.name,
        "prevent_destroy": bool(resource.lifecycle.prevent_destroy),
        "applied_at": now_iso(),
        "applied_digest": applied_digest(FIELDS, state),
    }


def row_to_live(row: Mapping[str, Any], owner: str) -> PolicyLive:
    """A row (lists already decoded) as the planner sees it."""
    managed = row.get("managed_by") == owner
    return LiveObject(
        kind="SlaPolicy",
        key=str(row["policy_hash"]),
        state=normalise_policy(
            row.get("warehouse_ids") or [],
            row.get("sla_seconds"),
            row.get("policy_mode"),
            row.get("query_statuses") or [],
        ),
        managed=managed,
        name=row.get("spec_name") if managed else None,
        raw={k: row.get(k) for k in COLUMNS},
        facts=PolicyFacts(managed_by=_text(row.get("managed_by")), applied_at=_text(row.get("applied_at"))),
        owner=None if managed else row.get("managed_by") or None,
        prevent_destroy=bool(row.get("prevent_destroy")) if managed else False,
        applied_digest=row.get("applied_digest") if managed else None,
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
