"""Each field property, read by the one generic normaliser: an unchanged spec plans nothing and a
real change plans exactly one field change. Pure: the planner is given hand-made live objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from reconciler.kinds.base import Kind, LiveObject, Resource, SourceRef
from reconciler.kinds.fields import FieldRule, FieldTable, OnChange
from reconciler.plan.builder import PlanInput, build_plan
from reconciler.plan.model import Plan
from reconciler.specs.envelope import KindSpec

TABLE = FieldTable(
    [
        FieldRule("name", OnChange.IDENTITY),
        FieldRule("statuses", unordered=True),
        FieldRule("metrics", keyed_by="name"),
        FieldRule("metrics.*.columns", OnChange.REPLACE, unordered=True),
        FieldRule("mode", server_default="ALL"),
        FieldRule("warehouse", OnChange.REPLACE, write_only=True),
        FieldRule("slices", unordered=True, empty_is_unset=True),
        FieldRule("schema", case_insensitive=True),
        FieldRule("version", server_owned=True),
        FieldRule("labels", server_default={}),
    ]
)


class ToyKind(Kind):
    name = "Toy"
    spec_model = KindSpec
    fields: ClassVar[FieldTable] = TABLE
    default_backend = "none"


KINDS = {"Toy": ToyKind()}
BASE: dict[str, Any] = {
    "name": "t",
    "statuses": ["A", "B"],
    "metrics": [{"name": "m", "columns": ["x", "y"], "definition": "avg(x)"}],
    "mode": "ALL",
    "warehouse": "wh-1",
    "slices": ["region"],
    "schema": "main.monitoring",
}


def plan(desired: dict[str, Any], live: dict[str, Any], last_applied: dict[str, Any] | None = None) -> Plan:
    resource = Resource("Toy", "t", "t", KindSpec(), desired, SourceRef("toy.yaml", 1))
    obj = LiveObject("Toy", "t", live, managed=True, name="t", last_applied=last_applied)
    return build_plan(PlanInput("test", Path("specs"), "sha256:x", [resource], [obj], KINDS))


def with_(state: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = {**state, **changes}
    return {k: v for k, v in out.items() if v is not ...}


APPLIED = {"warehouse": "wh-1"}
LIVE = {k: v for k, v in BASE.items() if k != "warehouse"}  # write-only: never returned


def assert_unchanged(p: Plan) -> None:
    assert not p.operations, [c.path for op in p.operations for c in op.changes]
    assert [u.name for u in p.unchanged] == ["t"]


def one_change(p: Plan) -> tuple[str, str]:
    (op,) = p.operations
    (change,) = op.changes
    return op.action.value, change.path


def test_the_base_state_plans_nothing() -> None:
    assert_unchanged(plan(BASE, LIVE, APPLIED))


@pytest.mark.parametrize(
    ("live", "changed", "expected"),
    [
        pytest.param(
            with_(LIVE, statuses=["B", "A", "B"]),
            with_(BASE, statuses=["A", "B", "C"]),
            ("update", "statuses"),
            id="unordered",
        ),
        pytest.param(
            with_(
                LIVE,
                metrics=[{"name": "m", "definition": "avg(x)", "columns": ["y", "x"]}],
            ),
            with_(BASE, metrics=[{"name": "m", "columns": ["x", "y"], "definition": "max(x)"}]),
            ("update", "metrics.m.definition"),
            id="keyed_by",
        ),
        pytest.param(
            with_(LIVE, mode=None),
            with_(BASE, mode="ERROR"),
            ("update", "mode"),
            id="server_default",
        ),
        pytest.param(
            with_(LIVE, schema="MAIN.Monitoring"),
            with_(BASE, schema="main.sales"),
            ("update", "schema"),
            id="case_insensitive",
        ),
        pytest.param(
            with_(LIVE, version=7),
            with_(BASE, mode="ERROR"),
            ("update", "mode"),
            id="server_owned",
        ),
    ],
)
def test_each_property_reads_an_equivalent_live_value_as_unchanged(
    live: dict[str, Any], changed: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert_unchanged(plan(BASE, live, APPLIED))
    assert one_change(plan(changed, live, APPLIED)) == expected


def test_empty_is_unset_both_ways() -> None:
    spec = with_(BASE, slices=...)  # no slices in the spec
    assert_unchanged(plan(spec, with_(LIVE, slices=[]), APPLIED))
    assert_unchanged(plan(spec, with_(LIVE, slices=None), APPLIED))
    assert one_change(plan(spec, LIVE, APPLIED)) == ("update", "slices")


def test_server_default_fills_an_absent_field_on_either_side() -> None:
    assert_unchanged(plan(with_(BASE, mode=...), LIVE, APPLIED))
    assert_unchanged(plan(BASE, with_(LIVE, mode=...), APPLIED))
    assert_unchanged(plan(BASE, with_(LIVE, labels={}), APPLIED))
    assert one_change(plan(with_(BASE, labels={"team": "a"}), LIVE, APPLIED)) == ("update", "labels.team")


def test_keyed_by_reports_an_added_item_by_its_key() -> None:
    metrics = [*BASE["metrics"], {"name": "n", "columns": ["z"], "definition": "sum(z)"}]
    assert one_change(plan(with_(BASE, metrics=metrics), LIVE, APPLIED)) == ("update", "metrics.n")


def test_unordered_inside_keyed_items_and_replace_from_the_table() -> None:
    metrics = [{"name": "m", "columns": ["x", "z"], "definition": "avg(x)"}]
    p = plan(with_(BASE, metrics=metrics), LIVE, APPLIED)
    assert one_change(p) == ("replace", "metrics.m.columns")
    assert p.operations[0].reasons == ["metrics.*.columns changed: cannot be changed in place"]


def test_write_only_is_compared_with_the_last_applied_value() -> None:
    # Not returned by the live system: the recorded value stands in for it.
    assert_unchanged(plan(BASE, LIVE, {"warehouse": "wh-1"}))
    p = plan(with_(BASE, warehouse="wh-2"), LIVE, {"warehouse": "wh-1"})
    assert one_change(p) == ("replace", "warehouse")
    (change,) = p.operations[0].changes
    assert (change.before, change.after) == ("wh-1", "wh-2")


def test_write_only_unrecorded_is_assumed_to_match_and_the_plan_says_so() -> None:
    p = plan(BASE, LIVE, {})
    assert_unchanged(p)
    assert p.notes == [
        "Toy t: warehouse was not applied by reconciler and the live system does not return it; "
        "assumed to be 'wh-1' as the spec says"
    ]


def test_server_owned_fields_are_never_diffed_nor_listed() -> None:
    p = plan(BASE, with_(LIVE, version=1), APPLIED)
    assert_unchanged(p)
    assert "version" not in TABLE.normalise(with_(LIVE, version=1))


def test_the_normaliser_is_idempotent() -> None:
    once = TABLE.normalise(with_(LIVE, statuses=["B", "A"], schema="MAIN.X", slices=[]))
    assert TABLE.normalise(once) == once
    assert once["statuses"] == ["A", "B"] and once["schema"] == "main.x" and "slices" not in once
    assert once["metrics"] == {"m": {"columns": ["x", "y"], "definition": "avg(x)"}}


def test_lookups_pick_the_most_specific_rule() -> None:
    assert TABLE.rule_for("metrics.m.columns") is TABLE["metrics.*.columns"]
    assert TABLE.rule_for("metrics.m.definition") is TABLE["metrics"]
    assert TABLE.rule_for("statuses[0]") is TABLE["statuses"]
    assert TABLE.rule_for("unknown") is None
