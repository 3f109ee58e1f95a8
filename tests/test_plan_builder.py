"""The pure planner, unit by unit: a PlanInput built from hand-made live objects and resources
of the real kinds, assertions on the plan (SQLMesh's tests/core/test_plan*.py style). No I/O: what
the CLI scenario tests prove end to end, these pin down in the planner alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.diagnostics import Severity
from reconciler.errors import PlanError
from reconciler.kinds.base import LiveObject, Resource, SourceRef
from reconciler.kinds.kind_registry import KINDS
from reconciler.kinds.sla_policy import SlaPolicySpec, compute_hash
from reconciler.plan.builder import PlanInput, build_plan
from reconciler.plan.model import Action, Plan
from reconciler.specs.envelope import Lifecycle

SLA = KINDS["SlaPolicy"]


def spec(name: str, warehouses: list[str], sla: int = 300, *, prevent_destroy: bool = False, **extra: Any) -> Resource:
    model = SlaPolicySpec(
        warehouse_ids=warehouses, sla_seconds=sla, lifecycle=Lifecycle(prevent_destroy=prevent_destroy), **extra
    )
    return Resource(
        kind="SlaPolicy",
        name=name,
        key=SLA.key(name, model),
        spec=model,
        state=SLA.desired_state(model),
        source=SourceRef("specs/policies.yaml", 3),
    )


def row(
    warehouses: list[str],
    sla: int = 300,
    *,
    name: str | None = "etl",
    managed: bool = True,
    owner: str | None = None,
    prevent_destroy: bool = False,
    statuses: list[str] | None = None,
) -> LiveObject:
    state = {"warehouse_ids": warehouses, "sla_seconds": sla, "policy_mode": None, "included_statuses": statuses}
    return LiveObject(
        kind="SlaPolicy",
        key=compute_hash(warehouses),
        state={**state, "policy_id": 7, "applied_at": "2026-01-01T00:00:00+00:00"},  # server-owned: ignored
        managed=managed,
        name=name if managed else None,
        owner=owner,
        prevent_destroy=prevent_destroy,
    )


def make_plan(desired: list[Resource], live: list[LiveObject], strict: bool = True) -> Plan:
    return build_plan(
        PlanInput(
            target="local",
            specs_dir=Path("specs"),
            specs_digest="sha256:test",
            desired=desired,
            live=live,
            kinds=KINDS,
        ),
        strict=strict,
    )


def actions(plan: Plan) -> list[tuple[str, str]]:
    return [(op.action.value, op.name) for op in plan.operations]


def test_a_declared_object_with_nothing_live_is_created_field_by_field() -> None:
    plan = make_plan([spec("etl", ["wh-b", "wh-a"])], [])
    (op,) = plan.operations
    assert (op.action, op.key, op.destructive, op.live_fingerprint) == (
        Action.CREATE,
        compute_hash(["wh-a", "wh-b"]),
        False,
        None,
    )
    assert [(c.path, c.after) for c in op.changes] == [
        ("included_statuses", ["FAILED", "FINISHED", "QUEUED", "RUNNING"]),
        ("policy_mode", "ALL"),
        ("sla_seconds", 300),
        ("warehouse_ids", ["wh-a", "wh-b"]),
    ]
    assert op.source == "specs/policies.yaml:3"
    assert plan.summary == {"create": 1, "update": 0, "replace": 0, "delete": 0, "unchanged": 0}


def test_an_equal_live_object_is_unchanged_whatever_its_server_owned_fields() -> None:
    plan = make_plan([spec("etl", ["wh-a", "wh-b"])], [row(["wh-b", "wh-a"])])
    assert plan.operations == [] and [u.name for u in plan.unchanged] == ["etl"]


def test_a_changed_field_is_an_update_of_that_field_only() -> None:
    live = row(["wh-a"], 300)
    plan = make_plan([spec("etl", ["wh-a"], 600)], [live])
    (op,) = plan.operations
    assert (op.action, op.destructive, op.live_fingerprint) == (Action.UPDATE, False, live.fingerprint)
    assert [(c.path, c.before, c.after) for c in op.changes] == [("sla_seconds", 300, 600)]


def test_a_prevent_destroy_change_alone_is_an_update() -> None:
    plan = make_plan([spec("etl", ["wh-a"], prevent_destroy=True)], [row(["wh-a"])])
    (op,) = plan.operations
    assert op.action is Action.UPDATE
    assert [(c.path, c.before, c.after) for c in op.changes] == [("lifecycle.prevent_destroy", False, True)]


def test_an_identity_move_is_a_replace_of_the_old_key() -> None:
    old = row(["wh-a"])
    plan = make_plan([spec("etl", ["wh-a", "wh-b"])], [old])
    (op,) = plan.operations
    assert (op.action, op.destructive, op.key, op.replaces_key) == (
        Action.REPLACE,
        True,
        compute_hash(["wh-a", "wh-b"]),
        old.key,
    )
    assert op.reasons == ["warehouse_ids changed ([wh-a] -> [wh-a, wh-b]): identity hash differs"]
    assert [c.path for c in op.changes] == ["warehouse_ids"]
    assert op.warnings and "deleted after the new row is written" in op.warnings[0]


def test_an_identity_move_of_a_protected_object_is_refused() -> None:
    with pytest.raises(PlanError, match="has lifecycle.prevent_destroy, but this change needs a replace"):
        make_plan([spec("etl", ["wh-a", "wh-b"])], [row(["wh-a"], prevent_destroy=True)])


def test_a_managed_object_no_spec_declares_is_deleted() -> None:
    plan = make_plan([], [row(["wh-a"])])
    (op,) = plan.operations
    assert (op.action, op.name, op.destructive, op.reasons) == (
        Action.DELETE,
        "etl",
        True,
        ["no spec declares it any more"],
    )
    assert [c.path for c in op.changes] == ["included_statuses", "policy_mode", "sla_seconds", "warehouse_ids"]
    assert all(c.after is None for c in op.changes)


def test_deleting_what_was_applied_with_prevent_destroy_is_refused_or_noted() -> None:
    live = [row(["wh-a"], prevent_destroy=True)]
    with pytest.raises(PlanError, match="applied with lifecycle.prevent_destroy: deleting it is refused"):
        make_plan([], live)
    drift = make_plan([], live, strict=False)  # drift: the refusal is a note, the delete still shown
    assert actions(drift) == [("delete", "etl")]
    assert any("deleting it is refused" in n for n in drift.notes)


def test_an_unmanaged_object_is_listed_never_touched() -> None:
    plan = make_plan([], [row(["wh-x"], managed=False)])
    assert plan.operations == []
    (u,) = plan.unmanaged
    assert (u.key, u.declared_by) == (compute_hash(["wh-x"]), None)


def test_declaring_an_unmanaged_object_is_refused_with_an_import_hint() -> None:
    with pytest.raises(PlanError) as exc:
        make_plan([spec("etl", ["wh-x"])], [row(["wh-x"], managed=False)])
    assert "reconciler does not manage" in str(exc.value)
    assert f"reconciler import SlaPolicy {compute_hash(['wh-x'])} specs --target local" in str(exc.value)
    plan = make_plan([spec("etl", ["wh-x"])], [row(["wh-x"], managed=False)], strict=False)
    assert plan.operations == [] and plan.unmanaged[0].declared_by == "specs/policies.yaml:3"


def test_declaring_another_projects_object_is_refused_without_an_import_hint() -> None:
    with pytest.raises(PlanError) as exc:
        make_plan([spec("etl", ["wh-x"])], [row(["wh-x"], managed=False, owner="reconciler/other")])
    assert "another project manages (reconciler/other)" in str(exc.value)
    assert "reconciler import" not in str(exc.value)


def test_a_locked_object_is_refused_when_it_differs_and_unchanged_when_not() -> None:
    locked = row(["wh-a"])
    locked.locked_reason = "provisioned from a file"
    assert make_plan([spec("etl", ["wh-a"])], [locked]).operations == []
    with pytest.raises(PlanError, match="differs from its spec but cannot be changed: provisioned from a file"):
        make_plan([spec("etl", ["wh-a"], 900)], [locked])


def test_operations_are_ordered_creates_by_rank_then_deletes_in_reverse() -> None:
    plan = make_plan([spec("b-new", ["wh-b"]), spec("a-new", ["wh-a"])], [row(["wh-old"], name="old")])
    assert actions(plan) == [("create", "a-new"), ("create", "b-new"), ("delete", "old")]


def test_the_plan_input_is_not_modified() -> None:
    desired = [spec("etl", ["wh-a"], 600)]
    live = [row(["wh-a"])]
    before = (dict(desired[0].state), dict(live[0].state))
    make_plan(desired, live)
    assert (desired[0].state, live[0].state) == before


# ---- diagnostics attached to operations ----------------------------------------------------------


def test_warnings_and_refusals_are_diagnostics_on_their_operations() -> None:
    plan = make_plan([spec("etl", ["wh-a", "wh-b"])], [row(["wh-a"])])
    (op,) = plan.operations
    (diag,) = op.diagnostics
    assert (diag.severity, diag.object, diag.summary, diag.location) == (
        Severity.WARNING,
        "SlaPolicy/etl",
        op.warnings[0],
        "specs/policies.yaml:3",
    )
    drift = make_plan([], [row(["wh-a"], prevent_destroy=True)], strict=False)
    (delete,) = drift.operations
    severities = [d.severity for d in delete.diagnostics]
    assert severities == [Severity.ERROR, Severity.WARNING]
    assert "deleting it is refused" in delete.diagnostics[0].summary
    assert drift.diagnostics == []


def test_refusals_without_an_operation_are_the_plans_own_and_the_errors() -> None:
    declared = [spec("etl", ["wh-x"])]
    live = [row(["wh-x"], managed=False)]
    drift = make_plan(declared, live, strict=False)
    (refusal,) = drift.diagnostics
    assert (refusal.severity, refusal.object, refusal.location) == (
        Severity.ERROR,
        "SlaPolicy/etl",
        "specs/policies.yaml:3",
    )
    assert drift.notes == [refusal.summary]
    with pytest.raises(PlanError) as exc:
        make_plan(declared, live)
    assert exc.value.diagnostics == [refusal]


def test_diagnostics_survive_the_plan_json() -> None:
    plan = make_plan([], [row(["wh-a"], prevent_destroy=True)], strict=False)
    data = json.loads(plan.to_json())
    (op,) = data["operations"]
    assert [d["severity"] for d in op["diagnostics"]] == ["error", "warning"]
    assert set(op["diagnostics"][0]) == {"severity", "summary", "detail", "object", "path", "source"}
    assert op["warnings"] == [d["summary"] for d in op["diagnostics"] if d["severity"] == "warning"]
    assert Plan.from_dict(data).operations[0].diagnostics == plan.operations[0].diagnostics
