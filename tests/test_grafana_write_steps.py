"""The API calls apply makes are planned, shown and executed exactly (issue #12, "Done when").

A plan that changes rules in two groups and one group's interval lists its calls in text,
Markdown and JSON; apply makes exactly those write requests (counted by the sandbox per path) and
no rule outside the plan is written: not ours, and not ours-but-unchanged either.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from grafana_helpers import GrafanaProject, apply_clean, definition, folder_doc, group_doc, shorthand_rule

from reconciler.grafana.spec_model import GrafanaRuleGroupSpec
from reconciler.grafana.write_steps import plan_grafana_calls
from reconciler.kinds.base import LiveObject, Resource, SourceRef
from reconciler.kinds.kind_registry import KINDS
from reconciler.plan.model import Action, Operation
from reconciler.plan.steps import StepView

RULES = "/api/v1/provisioning/alert-rules"


def _specs(gp: GrafanaProject, sla_threshold: str, other_threshold: str, interval: str) -> None:
    gp.write("folders.yaml", folder_doc())
    gp.write(
        "rules.yaml",
        group_doc("sla", shorthand_rule("A", sla_threshold) + shorthand_rule("B"), interval=interval)
        + "---\n"
        + group_doc("other", shorthand_rule("C", other_threshold) + shorthand_rule("D")),
    )


def _writes(counts: dict[str, int]) -> Counter[str]:
    return Counter({k: v for k, v in counts.items() if not k.startswith("GET ")})


def test_planned_calls_are_shown_everywhere_and_apply_makes_exactly_them(gp: GrafanaProject) -> None:
    _specs(gp, "> 300", "> 300", "1m")
    apply_clean(gp)
    gp.create_unmanaged("Hand-made check", "other")
    before = gp.rules()
    uid = {title: rule["uid"] for title, rule in before.items()}

    _specs(gp, "> 600", "> 900", "2m")
    plan = gp.project.plan_json()
    calls = [(o["kind"], o["name"], [(c["method"], c["path"]) for c in o["calls"]]) for o in plan["operations"]]
    group_path = "/api/v1/provisioning/folder/alerts/rule-groups/sla"
    assert calls == [
        ("GrafanaAlertRule", "alerts/A", [("PUT", f"{RULES}/{uid['A']}")]),
        ("GrafanaRuleGroup", "sla", [("PUT", group_path)]),  # after the rule writes of its group
        ("GrafanaAlertRule", "alerts/C", [("PUT", f"{RULES}/{uid['C']}")]),
    ]
    (interval_call,) = plan["operations"][1]["calls"]
    assert interval_call["summary"] == "writes group alerts/sla: interval 1m -> 2m"
    assert [(r["name"], r["managed"]) for r in interval_call["rewrites"]] == [("A", True), ("B", True)]

    text = gp.cli("plan").stdout
    assert f"PUT {group_path}: writes group alerts/sla: interval 1m -> 2m; rewrites 2 rule(s)" in text
    assert "rewrites: 'A' (ours); 'B' (ours)" in text
    assert f"PUT {RULES}/{uid['C']}: update rule 'C' (data)" in text
    markdown = gp.cli("plan", "--format", "markdown").stdout
    assert f"`PUT {group_path}`: writes group alerts/sla: interval 1m -> 2m; rewrites 2 rule(s)" in markdown
    assert f"`PUT {RULES}/{uid['A']}`: update rule 'A' (data)" in markdown

    gp.api("DELETE", "/sandbox/requests").raise_for_status()
    result = gp.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    counts: dict[str, Any] = gp.api("GET", "/sandbox/requests").json()["requests"]
    planned = Counter(f"{c['method']} {c['path']}" for o in plan["operations"] for c in o["calls"])
    assert _writes(counts) == planned  # exactly the planned writes, each once; everything else is a read

    after = gp.rules()
    for title in ("D", "Hand-made check"):  # outside the plan: not written at all
        assert after[title]["updated"] == before[title]["updated"]
        assert definition(after[title]) == definition(before[title])
    assert gp.group("alerts", "sla")["interval"] == 120 and gp.group("alerts", "other")["interval"] == 60
    assert gp.cli("plan", "--detailed-exitcode").exit_code == 0


def test_a_rule_moved_into_a_group_with_another_interval_takes_the_groups_interval(gp: GrafanaProject) -> None:
    gp.write("folders.yaml", folder_doc())
    gp.write("fast.yaml", group_doc("fast", shorthand_rule("one") + shorthand_rule("two"), interval="1m"))
    gp.write("slow.yaml", group_doc("slow", shorthand_rule("three"), interval="5m"))
    apply_clean(gp)
    gp.write("fast.yaml", group_doc("fast", shorthand_rule("one"), interval="1m"))
    gp.write("slow.yaml", group_doc("slow", shorthand_rule("three") + shorthand_rule("two"), interval="5m"))
    (op,) = gp.plan_ops()
    move, interval = op["calls"]
    assert move["method"] == "PUT" and move["summary"] == "move rule 'two' alerts/fast -> alerts/slow"
    # A single-rule PUT keeps the rule's interval (Grafana's UpdateAlertRule): only the moved rule
    # differs from the group, so the interval write rewrites it alone.
    assert interval["summary"] == "writes group alerts/slow: interval 1m -> 5m"
    assert [r["name"] for r in interval["rewrites"]] == ["two"]
    apply_clean(gp)


def test_a_new_group_with_another_interval_is_one_interval_write_after_its_rules(gp: GrafanaProject) -> None:
    gp.write("folders.yaml", folder_doc())
    gp.write("rules.yaml", group_doc("slow", shorthand_rule("x") + shorthand_rule("y"), interval="5m"))
    ops = gp.plan_ops()
    assert [(o["kind"], [c["method"] for c in o["calls"]]) for o in ops] == [
        ("GrafanaFolder", ["POST", "PUT"]),  # the folder, then its applied digest in the project's ledger
        ("GrafanaAlertRule", ["POST"]),
        ("GrafanaAlertRule", ["POST"]),
        ("GrafanaRuleGroup", ["PUT"]),
    ]
    assert ops[-1]["calls"][0]["summary"] == "writes group alerts/slow: interval 1m -> 5m"
    apply_clean(gp)
    assert gp.group("alerts", "slow")["interval"] == 300


def test_swapped_titles_park_one_rule_under_a_temporary_title(gp: GrafanaProject) -> None:
    gp.write("folders.yaml", folder_doc())
    gp.write(
        "rules.yaml",
        group_doc("g", shorthand_rule("Alpha", extra="uid: u-alpha") + shorthand_rule("Beta", extra="uid: u-beta")),
    )
    apply_clean(gp)
    gp.write(
        "rules.yaml",
        group_doc("g", shorthand_rule("Beta", extra="uid: u-alpha") + shorthand_rule("Alpha", extra="uid: u-beta")),
    )
    ops = gp.plan_ops()
    assert [[(c["method"], c["path"]) for c in o["calls"]] for o in ops] == [
        [("PUT", f"{RULES}/u-alpha"), ("PUT", f"{RULES}/u-beta")],  # park u-alpha, freeing 'Alpha' for u-beta
        [("PUT", f"{RULES}/u-alpha")],
    ]
    assert "temporary title" in ops[0]["calls"][0]["summary"]
    # The plan orders the two writes: apply never runs the second beside the first.
    assert ops[0]["after"] == [] and ops[1]["after"] == [f"{ops[0]['kind']}/{ops[0]['name']}"]
    apply_clean(gp, "--parallelism", "10")
    assert {r["uid"]: t for t, r in gp.rules().items()} == {"u-alpha": "Beta", "u-beta": "Alpha"}


def test_a_rule_taking_a_title_another_gives_up_waits_for_that_write(gp: GrafanaProject) -> None:
    gp.write("folders.yaml", folder_doc())
    gp.write("rules.yaml", group_doc("g", shorthand_rule("Old", extra="uid: u-old")))
    apply_clean(gp)
    gp.write(
        "rules.yaml",
        group_doc("g", shorthand_rule("Old", extra="uid: u-new") + shorthand_rule("Renamed", extra="uid: u-old")),
    )
    ops = gp.plan_ops()
    assert [(o["action"], o["key"]) for o in ops] == [("update", "u-old"), ("create", "u-new")]
    assert ops[1]["after"] == [f"{ops[0]['kind']}/{ops[0]['name']}"]
    assert "after: " + ops[1]["after"][0] in gp.cli("plan").stdout
    apply_clean(gp, "--parallelism", "10")
    assert {r["uid"]: t for t, r in gp.rules().items()} == {"u-old": "Renamed", "u-new": "Old"}


def test_independent_rule_writes_run_parallelism_at_once_and_converge(gp: GrafanaProject) -> None:
    """Rule writes touch one rule each, so apply runs them --parallelism at once (the sandbox
    counts the requests it serves at the same time); creates into one group wait for each other,
    so each group ends in the spec's order, and a plan right after has nothing to change."""
    gp.write("folders.yaml", folder_doc())
    groups = [group_doc(f"g{g}", "".join(shorthand_rule(f"R{g}-{i}") for i in range(3))) for g in range(4)]
    gp.write("rules.yaml", "---\n".join(groups))
    ops = gp.plan_ops()
    creates = [o for o in ops if o["kind"] == "GrafanaAlertRule"]
    assert [o["after"] for o in creates[:3]] == [
        [],
        [f"GrafanaAlertRule/{creates[0]['name']}"],
        [f"GrafanaAlertRule/{creates[1]['name']}"],
    ]
    gp.sandbox.faults.settings.latency_ms = 50.0  # every request open long enough to overlap
    gp.api("DELETE", "/sandbox/requests").raise_for_status()
    apply_clean(gp, "--parallelism", "4")
    seen = gp.api("GET", "/sandbox/requests").json()
    assert seen["requests"]["POST /api/v1/provisioning/alert-rules"] == 12
    assert 2 <= seen["peak_in_flight"] <= 4
    for g in range(4):
        assert [r["title"] for r in (gp.group("alerts", f"g{g}") or {})["rules"]] == [f"R{g}-{i}" for i in range(3)]

    groups = [group_doc(f"g{g}", "".join(shorthand_rule(f"R{g}-{i}", "> 900") for i in range(3))) for g in range(4)]
    gp.write("rules.yaml", "---\n".join(groups))
    assert all(o["after"] == [] for o in gp.plan_ops())  # updates in place are independent
    gp.api("DELETE", "/sandbox/requests").raise_for_status()
    apply_clean(gp, "--parallelism", "1")
    assert gp.api("GET", "/sandbox/requests").json()["peak_in_flight"] == 1


# --- the pure step, from hand-made live objects -------------------------------------------------
def _live_rule(uid: str, title: str, managed: bool = True, owner: str | None = None) -> LiveObject:
    state = {"title": title, "folder": "alerts", "group": "sla"}
    return LiveObject(kind="GrafanaAlertRule", key=uid, state=state, managed=managed, owner=owner)


def test_a_group_interval_write_names_every_rule_it_rewrites_and_whose_it_is() -> None:
    spec = GrafanaRuleGroupSpec.model_validate(
        {
            "folder": "alerts",
            "interval": "2m",
            "rules": [{"title": "A", "query": {"datasource": "p", "expr": "x"}, "threshold": "> 1"}],
        }
    )
    kind = KINDS["GrafanaRuleGroup"]
    state = {**kind.desired_state(spec), "group": "sla"}
    group = Resource("GrafanaRuleGroup", "sla", "alerts/sla", spec, state, SourceRef("rules.yaml", 1))
    live = [
        LiveObject(
            "GrafanaRuleGroup", "alerts/sla", {"folder": "alerts", "group": "sla", "interval": 60}, managed=True
        ),
        _live_rule("a", "A"),
        _live_rule("b", "Hand-made", managed=False),
        _live_rule("c", "Theirs", managed=False, owner="reconciler/other"),
    ]
    op = Operation(Action.UPDATE, "GrafanaRuleGroup", "sla", "alerts/sla")
    (planned,) = plan_grafana_calls([op], StepView([group], live))
    (call,) = planned.calls
    assert call.line() == (
        "PUT /api/v1/provisioning/folder/alerts/rule-groups/sla: writes group alerts/sla: interval 1m -> 2m; "
        "rewrites 3 rule(s), 2 not ours"
    )
    assert [(r.name, r.whose) for r in call.rewrites] == [
        ("A", "ours"),
        ("Hand-made", "not ours"),
        ("Theirs", "managed by reconciler/other"),
    ]


def test_kinds_without_write_steps_plan_their_one_call() -> None:
    from test_plan_builder import make_plan, row
    from test_plan_builder import spec as policy

    plan = make_plan([policy("etl", ["wh-1"], sla=600)], [row(["wh-1"])])
    (op,) = plan.operations
    assert [(c.method, c.path) for c in op.calls] == [("SQL", "query_sla_policies")]
    assert op.calls[0].summary.startswith("update 1 row in query_sla_policies")
