"""Kind `SlaPolicy`: one row of the warehouse SLA framework's `query_sla_policies` table.

Identity follows the framework's `compute_hash` idea: a SHA-256 of the warehouse ids, here sorted
and de-duplicated so that order and repeats in a spec never make a new policy. Everything else
about a policy is updatable in place (the MERGE keyed by the hash rewrites the row).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator

from reconciler.diagnostics import Diagnostic
from reconciler.plan.model import ApiCall, Operation
from reconciler.specs.envelope import KindSpec

from .base import Facts, Kind, LiveObject, Resource, duplicate_keys
from .fields import FieldRule, FieldTable, OnChange


class PolicyMode(StrEnum):
    SLA_BURST = "SLA_BURST"  # alert when any query runs longer than the SLA
    ERROR = "ERROR"  # alert when any query fails
    ALL = "ALL"  # both


class QueryStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    FAILED = "FAILED"
    FINISHED = "FINISHED"


ALL_STATUSES = [s.value for s in QueryStatus]

# How each field of a policy row is changed, read and compared; the spec model's defaults and the
# one normaliser both come from here.
FIELDS = FieldTable(
    [
        FieldRule(
            "warehouse_ids",
            OnChange.IDENTITY,
            "sorted and de-duplicated; hashed into policy_hash",
            unordered=True,
            replace_reason="identity hash differs",
        ),
        FieldRule("sla_seconds"),
        FieldRule("policy_mode", server_default="ALL"),
        FieldRule("included_statuses", unordered=True, empty_is_unset=True, server_default=sorted(ALL_STATUSES)),
        FieldRule("policy_hash", server_owned=True, description="key column, derived from warehouse_ids"),
        FieldRule("policy_id", server_owned=True, description="row id assigned by the store"),
        FieldRule("managed_by", server_owned=True, description="ownership marker"),
        FieldRule("applied_at", server_owned=True, description="when reconciler last wrote the row"),
    ]
)


_DEFAULT_STATUSES = tuple(QueryStatus(s) for s in FIELDS.default("included_statuses"))


class SlaPolicySpec(KindSpec):
    """An SLA policy over one or more SQL warehouses."""

    warehouse_ids: list[str] = Field(
        min_length=1,
        description="SQL warehouse ids the policy watches; order and duplicates do not matter. "
        "The sorted, de-duplicated set is the policy's identity.",
    )
    sla_seconds: int = Field(gt=0, description="Queries running longer than this many seconds breach the SLA.")
    policy_mode: PolicyMode = Field(
        default=PolicyMode(FIELDS.default("policy_mode")),
        description="SLA_BURST: alert on SLA breaches; ERROR: alert on failed queries; ALL: both.",
    )
    included_statuses: list[QueryStatus] = Field(
        default_factory=lambda: list(_DEFAULT_STATUSES),
        min_length=1,
        description="Query statuses the policy looks at.",
    )

    @field_validator("warehouse_ids")
    @classmethod
    def _non_blank(cls, value: list[str]) -> list[str]:
        for item in value:
            if not item.strip():
                raise ValueError("warehouse ids must not be blank")
        return value


def compute_hash(warehouse_ids: Sequence[str]) -> str:
    """The policy's identity: SHA-256 of its sorted, de-duplicated warehouse ids."""
    canonical = ",".join(sorted({w.strip() for w in warehouse_ids}))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PolicyFacts(Facts):
    """What a policy row says beside its policy: who wrote it and when."""

    managed_by: str | None = None  # the ownership marker, whoever's it is
    applied_at: str | None = None  # when reconciler last wrote the row (ISO 8601)


PolicyResource = Resource[SlaPolicySpec]
PolicyLive = LiveObject[PolicyFacts]


class SlaPolicyKind(Kind[SlaPolicySpec, PolicyFacts]):
    name = "SlaPolicy"
    spec_model = SlaPolicySpec
    rank = 10
    default_backend = "sqlite"
    description = "A row of the SLA policy table (query_sla_policies)."
    fields = FIELDS

    def backend(self, target: Any) -> str:
        store = getattr(target, "policy_store", None)
        return store.type if store is not None else self.default_backend

    def key(self, name: str, spec: SlaPolicySpec) -> str:
        return compute_hash(spec.warehouse_ids)

    def desired_state(self, spec: SlaPolicySpec) -> dict[str, Any]:
        return normalise_policy(
            spec.warehouse_ids, spec.sla_seconds, spec.policy_mode.value, [s.value for s in spec.included_statuses]
        )

    def validate_all(self, resources: Sequence[PolicyResource]) -> list[Diagnostic]:
        """One policy per warehouse set: the set is the row's key. Both ends of a clash point at
        `warehouse_ids`, the field that makes it, not at the documents' names."""
        return duplicate_keys(
            resources,
            lambda r: ("spec", "warehouse_ids"),
            lambda dup, first, at: (
                f"same warehouse set as SlaPolicy '{first.name}' ({at}); a warehouse set can have only one policy"
            ),
        )

    def identity_change_reason(self, desired: PolicyResource, live: PolicyLive) -> str:
        before = ", ".join(live.state.get("warehouse_ids", []))
        after = ", ".join(desired.state["warehouse_ids"])
        if before == after:
            return (
                f"policy_hash changes from {live.key[:12]}… to {desired.key[:12]}…: the row was written under a hash "
                "that is not the hash of its warehouse set (another tool, e.g. add_sla_policy()); it is rewritten "
                "under the spec's hash"
            )
        return f"warehouse_ids changed ([{before}] -> [{after}]): identity hash differs"

    def loss_warnings(self, live: PolicyLive, action: str) -> list[str]:
        warehouses = ", ".join(live.state.get("warehouse_ids", []))
        if action == "replace":
            return [
                f"the policy row for [{warehouses}] (policy_hash {live.key[:12]}…) is deleted after the new row is "
                "written: history the monitoring jobs keyed by the old policy_id/policy_hash (query_history_log) "
                "no longer links to the new policy"
            ]
        return [
            f"the policy row for [{warehouses}] is deleted: those warehouses are no longer checked against this SLA"
        ]

    def api_call(self, op: Operation, desired: PolicyResource | None, live: PolicyLive | None) -> ApiCall:
        verb = {"create": "insert", "update": "update", "replace": "replace", "delete": "delete"}[op.action.value]
        if op.action.value == "replace":
            summary = f"delete the row under hash {(op.replaces_key or op.key)[:12]} and insert it under {op.key[:12]}"
        else:
            summary = f"{verb} 1 row in query_sla_policies (hash {op.key[:12]})"
        return ApiCall("SQL", "query_sla_policies", summary, op.action.value)

    def describe(self, state: dict[str, Any]) -> str:
        return (
            f"warehouses [{', '.join(state.get('warehouse_ids', []))}], sla {state.get('sla_seconds')}s, "
            f"mode {state.get('policy_mode')}"
        )


def normalise_policy(
    warehouse_ids: Sequence[str], sla_seconds: int | None, policy_mode: str | None, statuses: Sequence[str] | None
) -> dict[str, Any]:
    """The comparable form of a policy, shared by specs and every policy store: the columns in
    spec shape, put in normal form by the field table (sets sorted, defaults filled)."""
    return FIELDS.normalise(
        {
            "warehouse_ids": [w.strip() for w in warehouse_ids],
            "sla_seconds": sla_seconds,
            "policy_mode": policy_mode,
            "included_statuses": list(statuses or []),
        }
    )
