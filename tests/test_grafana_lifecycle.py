"""Grafana alert rules as code, through the CLI against the sandbox Grafana (issue 5's "Done when")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from grafana_helpers import (
    FULL_FORM_RULE,
    TOKEN,
    GrafanaProject,
    definition,
    folder_doc,
    grafana_refusing_rule_state,
    group_doc,
    shorthand_rule,
)
from grafana_helpers import (
    apply_clean as _apply,
)
from grafana_helpers import (
    base as _base,
)
from helpers import Project, run


def test_create_folder_group_and_rules_then_no_changes(gp: GrafanaProject) -> None:
    _base(gp)
    plan = gp.project.plan_json()
    # A group exists through its rules: a new group with Grafana's default interval is no operation.
    assert plan["summary"] == {"create": 3, "update": 0, "replace": 0, "delete": 0, "unchanged": 0}
    assert [(o["kind"], o["name"]) for o in plan["operations"]] == [
        ("GrafanaFolder", "alerts"),
        ("GrafanaAlertRule", "alerts/SLA miss visits synchronizer"),
        ("GrafanaAlertRule", "alerts/Visits synchronizer stalled"),
    ]
    assert [[(c["method"], c["path"]) for c in o["calls"]] for o in plan["operations"]] == [
        # The folder, then what was applied to it in the project's ledger (a folder has no field for it).
        [("POST", "/api/folders"), ("PUT", "/api/v1/provisioning/templates/reconciler-ledger-test")],
        [("POST", "/api/v1/provisioning/alert-rules")],
        [("POST", "/api/v1/provisioning/alert-rules")],
    ]
    assert gp.rules() == {}  # planning changes nothing

    _apply(gp)
    assert gp.folder("alerts")["title"] == "Alerts"
    group = gp.group("alerts", "sla")
    assert group["interval"] == 60 and len(group["rules"]) == 2
    rules = gp.rules()
    sla = rules["SLA miss visits synchronizer"]
    assert sla["condition"] == "C" and sla["for"] == "5m" and sla["provenance"] == "api"
    assert [q["refId"] for q in sla["data"]] == ["A", "B", "C"]
    assert sla["data"][1]["model"]["type"] == "reduce" and sla["data"][1]["model"]["reducer"] == "last"
    assert sla["data"][2]["model"]["conditions"][0]["evaluator"] == {"params": [300], "type": "gt"}
    assert sla["annotations"]["reconciler_managed_by"] == "reconciler/test"
    assert "reconciler_managed_by" not in sla["labels"]  # ownership never in labels
    stalled = rules["Visits synchronizer stalled"]
    assert stalled["uid"] == "visits-sync-stalled" and stalled["noDataState"] == "Alerting" and stalled["for"] == "10m"
    assert drift_clean(gp)


def drift_clean(gp: GrafanaProject) -> bool:
    return gp.cli("drift").exit_code == 0


def test_threshold_change_is_one_update_inside_the_model(gp: GrafanaProject) -> None:
    _base(gp)
    _apply(gp)
    uid = gp.rules()["SLA miss visits synchronizer"]["uid"]
    _base(gp, threshold="> 600")
    (op,) = gp.plan_ops()
    assert (op["action"], op["kind"], op["key"]) == ("update", "GrafanaAlertRule", uid)
    assert op["changes"] == [{"path": "data.C.model.conditions[0].evaluator.params", "before": [300], "after": [600]}]
    assert any("resets the evaluation state" in w for w in op["warnings"])
    _apply(gp)
    live = gp.rules()["SLA miss visits synchronizer"]
    assert live["uid"] == uid and live["data"][2]["model"]["conditions"][0]["evaluator"]["params"] == [600]


def test_interval_change_is_one_group_update(gp: GrafanaProject) -> None:
    _base(gp)
    _apply(gp)
    _base(gp, interval="2m")
    (op,) = gp.plan_ops()
    assert (op["action"], op["kind"], op["name"]) == ("update", "GrafanaRuleGroup", "sla")
    assert op["changes"] == [{"path": "interval", "before": 60, "after": 120}]
    assert "SLA miss visits synchronizer" in op["warnings"][0] and "Visits synchronizer stalled" in op["warnings"][0]
    _apply(gp)
    assert gp.group("alerts", "sla")["interval"] == 120


def test_moving_a_rule_between_groups_is_an_update_of_that_rule(gp: GrafanaProject) -> None:
    gp.write("folders.yaml", folder_doc())
    gp.write("fast.yaml", group_doc("fast", shorthand_rule("one") + shorthand_rule("two"), interval="1m"))
    gp.write("slow.yaml", group_doc("slow", shorthand_rule("three"), interval="5m"))
    _apply(gp)
    uid = gp.rules()["two"]["uid"]

    gp.write("fast.yaml", group_doc("fast", shorthand_rule("one"), interval="1m"))
    gp.write("slow.yaml", group_doc("slow", shorthand_rule("three") + shorthand_rule("two"), interval="5m"))
    (op,) = gp.plan_ops()
    assert (op["action"], op["kind"], op["key"], op["destructive"]) == ("update", "GrafanaAlertRule", uid, False)
    assert op["changes"] == [{"path": "group", "before": "fast", "after": "slow"}]
    _apply(gp)
    moved = gp.rules()["two"]
    assert moved["uid"] == uid and moved["ruleGroup"] == "slow"  # same rule, same uid
    assert gp.group("alerts", "slow")["interval"] == 300
    assert [r["title"] for r in gp.group("alerts", "fast")["rules"]] == ["one"]


def test_renaming_a_folder_is_one_update(gp: GrafanaProject) -> None:
    _base(gp)
    _apply(gp)
    gp.set_state(gp.rules()["SLA miss visits synchronizer"]["uid"], firing=2)
    gp.write("folders.yaml", folder_doc(title="SLA alerts"))
    (op,) = gp.plan_ops()
    assert (op["action"], op["kind"]) == ("update", "GrafanaFolder")
    assert op["changes"] == [{"path": "title", "before": "Alerts", "after": "SLA alerts"}]
    assert "grafana_folder label" in op["warnings"][0] and "2 firing" in op["warnings"][0]
    _apply(gp)
    assert gp.folder("alerts")["title"] == "SLA alerts"
    assert len(gp.rules()) == 2


def test_removing_a_rule_is_a_gated_delete(gp: GrafanaProject) -> None:
    _base(gp)
    _apply(gp)
    stalled = gp.rules()["Visits synchronizer stalled"]
    gp.set_state(stalled["uid"], firing=1, pending=2)
    gp.write("rules.yaml", group_doc("sla", shorthand_rule("SLA miss visits synchronizer")))
    (op,) = gp.plan_ops()
    assert (op["action"], op["key"], op["destructive"]) == ("delete", "visits-sync-stalled", True)
    assert "state history" in op["warnings"][0] and "1 alert instance(s) firing and 2 pending" in op["warnings"][0]

    refused = gp.cli("apply", "--auto-approve")
    assert refused.exit_code == 1 and "--allow-destructive" in refused.output
    assert "Visits synchronizer stalled" in gp.rules()

    _apply(gp, "--allow-destructive")
    assert set(gp.rules()) == {"SLA miss visits synchronizer"}


def test_drift_reports_a_field_edited_behind_the_tools_back(gp: GrafanaProject) -> None:
    _base(gp)
    _apply(gp)
    rule = gp.rules()["SLA miss visits synchronizer"]
    data = rule["data"]
    data[2]["model"]["conditions"][0]["evaluator"]["params"] = [900]
    gp.edit_behind_back(rule["uid"], {"data": data, "for": "15m"})

    drift = gp.cli("drift")
    assert drift.exit_code == 2
    assert "GrafanaAlertRule/alerts/SLA miss visits synchronizer" in drift.stdout
    assert "data.C.model.conditions[0].evaluator.params" in drift.stdout and "for" in drift.stdout
    report = json.loads(gp.cli("drift", "--format", "json").stdout)
    (entry,) = [o for o in report["objects"] if o["status"] == "drifted"]
    assert {c["path"] for c in entry["changes"]} == {"data.C.model.conditions[0].evaluator.params", "for"}

    _apply(gp)
    assert drift_clean(gp)


def test_unmanaged_rule_in_a_managed_group_survives_every_apply(gp: GrafanaProject) -> None:
    _base(gp)
    _apply(gp)
    handmade = gp.create_unmanaged("Hand-made check", "sla")
    before = definition(handmade)

    plan = gp.cli("plan", "--detailed-exitcode")
    assert plan.exit_code == 0 and "Unmanaged" in plan.stdout and "Hand-made check" in plan.stdout
    assert "unmanaged" in gp.cli("drift").stdout

    for step in (
        lambda: _base(gp, threshold="> 450"),
        lambda: gp.write("rules.yaml", group_doc("sla", shorthand_rule("SLA miss visits synchronizer", "> 450"))),
    ):
        step()
        _apply(gp, "--allow-destructive")
        assert definition(gp.rules()["Hand-made check"]) == before
        assert "reconciler_managed_by" not in (gp.rules()["Hand-made check"].get("annotations") or {})

    # Removing the whole group deletes reconciler's rules only (one per-rule DELETE each; a group is
    # no object of its own to delete); the group stays with the hand-made one, and the plan says so.
    gp.remove("rules.yaml")
    ops = gp.plan_ops()
    assert {(o["action"], o["kind"]) for o in ops} == {("delete", "GrafanaAlertRule")}
    assert all([c["method"] for c in o["calls"]] == ["DELETE"] for o in ops)
    assert all("'Hand-made check'" in o["warnings"][-1] and "stays in Grafana" in o["warnings"][-1] for o in ops)
    _apply(gp, "--allow-destructive")
    assert set(gp.rules()) == {"Hand-made check"}
    assert definition(gp.rules()["Hand-made check"]) == before


def test_alert_state_warning_counts_firing_and_pending(gp: GrafanaProject) -> None:
    _base(gp)
    _apply(gp)
    gp.set_state(gp.rules()["SLA miss visits synchronizer"]["uid"], firing=3, pending=1)
    _base(gp, threshold="> 10")
    text = gp.cli("plan").stdout
    assert "3 alert instance(s) firing and 1 pending now" in text and "may notify again" in text


def test_file_provisioned_rule_cannot_be_changed_and_the_plan_says_so(gp: GrafanaProject) -> None:
    _base(gp)
    _apply(gp)
    gp.api(
        "PUT", "/sandbox/grafana/rules/visits-sync-stalled/provenance", json={"provenance": "file"}
    ).raise_for_status()
    gp.write(
        "rules.yaml",
        group_doc("sla", shorthand_rule("SLA miss visits synchronizer") + FULL_FORM_RULE.replace("10m", "20m")),
    )
    plan = gp.cli("plan")
    assert plan.exit_code == 1
    assert "provisioned from a file" in plan.output and "Visits synchronizer stalled" in plan.output


def test_editable_provenance_writes_rules_the_ui_can_edit(gp: GrafanaProject) -> None:
    gp.write(
        "reconciler.yaml",
        f"project: test\ndefault_target: grafana\ntargets:\n  grafana:\n    grafana:\n      url: {gp.sandbox.url}\n      provenance: editable\n",
    )
    _base(gp)
    _apply(gp)
    assert all("provenance" not in r for r in gp.rules().values())
    # Removing an editable rule goes through too (its delete carries the matching provenance).
    gp.write("rules.yaml", group_doc("sla", shorthand_rule("SLA miss visits synchronizer")))
    _apply(gp, "--allow-destructive")
    assert set(gp.rules()) == {"SLA miss visits synchronizer"}


def test_explicit_uid_change_is_a_replace_with_a_warning(gp: GrafanaProject) -> None:
    _base(gp)
    _apply(gp)
    gp.write(
        "rules.yaml",
        group_doc(
            "sla",
            shorthand_rule("SLA miss visits synchronizer")
            + FULL_FORM_RULE.replace("visits-sync-stalled", "stalled-v2"),
        ),
    )
    (op,) = gp.plan_ops()
    assert (op["action"], op["key"], op["replaces_key"], op["destructive"]) == (
        "replace",
        "stalled-v2",
        "visits-sync-stalled",
        True,
    )
    assert "uid changed" in op["reasons"][0] and "silences" in op["warnings"][0]
    _apply(gp, "--allow-destructive")
    assert gp.rules()["Visits synchronizer stalled"]["uid"] == "stalled-v2"


def test_deleting_a_folder_is_destructive_and_refused_with_unmanaged_rules(gp: GrafanaProject) -> None:
    _base(gp)
    _apply(gp)
    gp.remove("rules.yaml")
    gp.remove("folders.yaml")
    ops = gp.plan_ops()
    folder_op = next(o for o in ops if o["kind"] == "GrafanaFolder")
    assert folder_op["action"] == "delete" and folder_op["destructive"]
    assert (
        "SLA miss visits synchronizer" in folder_op["warnings"][0]
        and "Visits synchronizer stalled" in folder_op["warnings"][0]
    )

    gp.create_unmanaged("Hand-made check", "other")
    refused = gp.cli("plan")
    assert refused.exit_code == 1
    assert "GrafanaFolder" in refused.output and "Hand-made check" in refused.output
    assert gp.folder("alerts") is not None and len(gp.rules()) == 3


def test_folder_and_rules_go_together_when_all_are_ours(gp: GrafanaProject) -> None:
    _base(gp)
    _apply(gp)
    gp.remove("rules.yaml")
    gp.remove("folders.yaml")
    _apply(gp, "--allow-destructive")
    assert gp.folder("alerts") is None and gp.rules() == {}


def test_wrong_url_or_token_is_an_error_not_an_empty_grafana(
    gp: GrafanaProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    _base(gp)
    gp.write(
        "reconciler.yaml",
        f"project: test\ndefault_target: grafana\ntargets:\n  grafana:\n    grafana:\n      url: {gp.sandbox.url}/not-grafana\n",
    )
    wrong_url = gp.cli("plan")
    assert (
        wrong_url.exit_code == 1
        and "list alert rules: HTTP 404" in wrong_url.stderr
        and "to create" not in wrong_url.stdout
    )
    assert "Check grafana.url" in wrong_url.stderr and "<html" not in wrong_url.stderr.lower()

    gp.write(
        "reconciler.yaml",
        f"project: test\ndefault_target: grafana\ntargets:\n  grafana:\n    grafana:\n      url: {gp.sandbox.url}\n",
    )
    monkeypatch.setenv("GRAFANA_TOKEN", "glsa_wrong")
    wrong_token = gp.cli("plan")
    assert wrong_token.exit_code == 1 and "HTTP 401" in wrong_token.stderr and "glsa_wrong" not in wrong_token.output
    assert "GRAFANA_TOKEN" in wrong_token.stderr


def test_declared_group_over_unmanaged_rules_needs_import(gp: GrafanaProject) -> None:
    gp.write("folders.yaml", folder_doc())
    _apply(gp)
    handmade = gp.create_unmanaged("Hand-made check", "sla", uid="hand-made")
    gp.write(
        "rules.yaml",
        group_doc(
            "sla",
            FULL_FORM_RULE.replace("Visits synchronizer stalled", "Hand-made check").replace(
                "visits-sync-stalled", "hand-made"
            ),
        ),
    )
    refused = gp.cli("plan")
    assert refused.exit_code == 1 and "reconciler import GrafanaAlertRule hand-made" in refused.output

    imported = run("import", "GrafanaRuleGroup", "alerts/sla", gp.root)
    assert imported.exit_code == 0, imported.output
    ops = gp.plan_ops()
    assert [(o["action"], o["key"]) for o in ops] == [("update", "hand-made")]
    assert {c["path"] for c in ops[0]["changes"]} >= {"for", "no_data_state"}
    adopted = gp.rules()["Hand-made check"]
    assert adopted["annotations"] == {
        **handmade["annotations"],
        "reconciler_managed_by": "reconciler/test",
        "reconciler_spec": "sla",
        "reconciler_uid": "hand-made",
        "reconciler_folder_owned": "true",  # its folder is declared
    }
    assert definition({**adopted, "annotations": None}) == definition(
        {**handmade, "annotations": None}
    )  # nothing else changed


def test_generate_specs_from_live_grafana_plan_no_changes(gp: GrafanaProject) -> None:
    gp.write("folders.yaml", folder_doc())
    _apply(gp)
    gp.create_unmanaged("Disk full", "infra checks")
    gp.create_unmanaged("Queue stuck", "infra checks")
    gp.remove("folders.yaml")

    result = run("import", "--generate-specs", "GrafanaRuleGroup", "alerts/*", gp.root)
    assert result.exit_code == 0, result.output
    written = (gp.root / "grafana" / "alerts.yaml").read_text()
    assert "kind: GrafanaFolder" in written and "kind: GrafanaRuleGroup" in written and "group: infra checks" in written
    plan = gp.cli("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert all(r["annotations"].get("reconciler_managed_by") == "reconciler/test" for r in gp.rules().values())


def test_grafana_export_file_converts_to_specs_that_plan_no_changes(gp: GrafanaProject, tmp_path: Path) -> None:
    gp.write("folders.yaml", folder_doc(title="SLA alerts"))
    _apply(gp)
    gp.create_unmanaged("Disk full", "infra")
    gp.create_unmanaged("Queue stuck", "infra")
    gp.create_unmanaged("Latency", "latency")
    export = gp.api("GET", "/api/v1/provisioning/alert-rules/export")
    assert export.status_code == 200
    assert "folderUid" not in export.text  # the YAML export names folders by title only
    export_file = tmp_path / "export.yaml"
    export_file.write_text(export.text)

    result = run("import", "--from-file", export_file, "GrafanaRuleGroup", "*", gp.root)
    assert result.exit_code == 0, result.output
    docs = list(yaml.safe_load_all((gp.root / "grafana" / "alerts.yaml").read_text()))
    assert [d["kind"] for d in docs] == ["GrafanaRuleGroup", "GrafanaRuleGroup"]  # the folder is declared already
    plan = gp.cli("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert gp.cli("validate").exit_code == 0


def test_generated_files_are_never_overwritten(gp: GrafanaProject) -> None:
    gp.write("folders.yaml", folder_doc())
    _apply(gp)
    gp.create_unmanaged("Disk full", "infra")
    (gp.root / "grafana").mkdir()
    (gp.root / "grafana" / "alerts.yaml").write_text("# mine\n")
    result = run("import", "--generate-specs", "GrafanaRuleGroup", "*", gp.root)
    assert result.exit_code == 1 and "not overwriting" in result.stderr
    assert (gp.root / "grafana" / "alerts.yaml").read_text() == "# mine\n"


INVALID = {
    "condition names a missing refId": (
        FULL_FORM_RULE.replace("condition: C", "condition: Z"),
        "1m",
        "rules.yaml:11: spec.rules[0].condition: 'Z' names no node; refIds are A, C",
    ),
    "interval 15s": (
        FULL_FORM_RULE,
        "15s",
        "rules.yaml:7: spec.interval: 15s is not a multiple of Grafana's 10s base interval",
    ),
    "bad uid": (
        FULL_FORM_RULE.replace("visits-sync-stalled", "bad uid!"),
        "1m",
        "rules.yaml:10: spec.rules[0].uid: String should match pattern",
    ),
    "bad duration": (
        FULL_FORM_RULE.replace("for: 10m", "for: 10 minutes"),
        "1m",
        "spec.rules[0].for: '10 minutes' is not a duration",
    ),
    "bad threshold": (
        shorthand_rule("x", threshold=">= banana"),
        "1m",
        "spec.rules[0].threshold: '>= banana' is not a threshold",
    ),
    "both forms": (shorthand_rule("x") + "  condition: C\n", "1m", "spec.rules[0]: use either the shorthand"),
    "misspelt for": (
        FULL_FORM_RULE.replace("for: 10m", "fro: 10m"),
        "1m",
        "spec.rules[0].fro: unknown field; did you mean 'for'?",
    ),
}


@pytest.mark.parametrize("case", INVALID, ids=list(INVALID))
@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
def test_invalid_rules_fail_with_file_line_and_change_nothing(gp: GrafanaProject, case: str, command: str) -> None:
    _base(gp)
    _apply(gp)
    before = gp.rules()
    rules, interval, expected = INVALID[case]
    gp.write("rules.yaml", group_doc("sla", rules, interval=interval))
    result = gp.cli(command, *(["--auto-approve", "--allow-destructive"] if command == "apply" else []))
    assert result.exit_code == 1
    assert expected in result.stderr, result.stderr
    assert gp.rules() == before


def test_every_invalid_rule_is_reported_in_one_run(gp: GrafanaProject) -> None:
    rules = (
        FULL_FORM_RULE.replace("condition: C", "condition: Z")
        + shorthand_rule("x", threshold=">= banana")
        + shorthand_rule("y")
        + shorthand_rule("y")
    )
    gp.write("rules.yaml", group_doc("sla", rules, interval="15s"))
    result = gp.cli("validate")
    assert result.exit_code == 1
    assert "4 problem(s)" in result.stderr, result.stderr
    assert "spec.rules[3].title: title 'y' is already used by rules[2]" in result.stderr
    assert "rules.yaml:7: spec.interval: 15s is not a multiple" in result.stderr
    assert "rules.yaml:11: spec.rules[0].condition: 'Z' names no node" in result.stderr
    assert "spec.rules[1].threshold: '>= banana' is not a threshold" in result.stderr


def test_titles_are_unique_per_folder_across_documents(gp: GrafanaProject) -> None:
    gp.write("folders.yaml", folder_doc())
    gp.write("a.yaml", group_doc("a", shorthand_rule("Same title")))
    gp.write("b.yaml", group_doc("b", shorthand_rule("Same title")))
    result = gp.cli("validate")
    assert (
        result.exit_code == 1
        and "b.yaml:9: spec.rules[0].title: rule title 'Same title' is already used in folder alerts" in result.stderr
    )


def test_group_in_a_missing_folder_fails_at_plan_time(gp: GrafanaProject) -> None:
    gp.write("rules.yaml", group_doc("sla", shorthand_rule("x"), folder="nowhere"))
    result = gp.cli("plan")
    assert (
        result.exit_code == 1
        and "rules.yaml:6: spec.folder: folder 'nowhere' does not exist in Grafana" in result.stderr
    )


def test_folder_under_a_missing_parent_fails_at_plan_time_at_its_parent_line(gp: GrafanaProject) -> None:
    gp.write("folders.yaml", folder_doc(extra="parent: nowhere"))
    result = gp.cli("plan")
    assert (
        result.exit_code == 1
        and "folders.yaml:7: spec.parent: parent folder 'nowhere' does not exist in Grafana" in result.stderr
    )


def test_example_specs_plan_cleanly_on_the_local_target(tmp_path: Path) -> None:
    from helpers import copy_examples

    specs = copy_examples(tmp_path)
    plan = run("plan", specs, "--format", "json")
    assert plan.exit_code == 0, plan.output
    ops = json.loads(plan.stdout)["operations"]
    grafana_ops = [(o["kind"], o["name"]) for o in ops if o["kind"].startswith("Grafana")]
    assert ("GrafanaAlertRule", "alerts/SLA miss visits synchronizer") in grafana_ops
    assert ("GrafanaFolder", "alerts") in grafana_ops
    assert run("apply", specs, "--auto-approve").exit_code == 0
    assert run("plan", specs, "--detailed-exitcode").exit_code == 0


def test_token_never_in_output(gp: GrafanaProject) -> None:
    _base(gp)
    for fmt in ("text", "json", "markdown"):
        assert TOKEN not in gp.cli("plan", "--format", fmt).output
    assert TOKEN not in gp.cli("apply", "--auto-approve").output


def test_renaming_a_group_moves_its_rules_and_keeps_their_uids(gp: GrafanaProject) -> None:
    _base(gp)
    _apply(gp)
    uids = {t: r["uid"] for t, r in gp.rules().items()}
    gp.write(
        "rules.yaml",
        group_doc("sla", shorthand_rule("SLA miss visits synchronizer") + FULL_FORM_RULE, extra="group: SLA misses"),
    )
    ops = gp.plan_ops()
    # Its rules move one by one (same interval: no group write at all).
    assert {(o["action"], o["kind"]) for o in ops} == {("update", "GrafanaAlertRule")}
    assert not any(o["destructive"] for o in ops)
    _apply(gp)
    assert {t: r["uid"] for t, r in gp.rules().items()} == uids
    assert {r["ruleGroup"] for r in gp.rules().values()} == {"SLA misses"}
    assert gp.group("alerts", "sla") is None


def test_moving_a_rule_to_another_folder_keeps_it(gp: GrafanaProject) -> None:
    gp.write("folders.yaml", folder_doc() + "---\n" + folder_doc("team", "Team"))
    gp.write("a.yaml", group_doc("a", shorthand_rule("stays") + shorthand_rule("travels")))
    _apply(gp)
    uid = gp.rules()["travels"]["uid"]
    gp.write("a.yaml", group_doc("a", shorthand_rule("stays")))
    gp.write("b.yaml", group_doc("b", shorthand_rule("travels"), folder="team"))
    ops = gp.plan_ops()
    rule_op = next(o for o in ops if o["kind"] == "GrafanaAlertRule")
    assert (rule_op["action"], rule_op["key"]) == ("update", uid)
    assert {c["path"] for c in rule_op["changes"]} == {"folder", "group"}
    _apply(gp)
    assert gp.rules()["travels"]["uid"] == uid and gp.rules()["travels"]["folderUID"] == "team"


def test_saved_plan_applies_exactly_or_is_stale(gp: GrafanaProject) -> None:
    _base(gp)
    _apply(gp)
    _base(gp, threshold="> 400")
    plan_file = gp.root.parent / "plan.json"
    assert gp.cli("plan", "--out", plan_file).exit_code == 0
    rule = gp.rules()["SLA miss visits synchronizer"]
    gp.edit_behind_back(rule["uid"], {"for": "20m"})
    stale = gp.cli("apply", "--plan", plan_file, "--auto-approve")
    assert stale.exit_code == 1 and "plan is stale" in stale.output
    assert gp.rules()["SLA miss visits synchronizer"]["for"] == "20m"

    assert gp.cli("plan", "--out", plan_file).exit_code == 0
    done = gp.cli("apply", "--plan", plan_file, "--auto-approve")
    assert done.exit_code == 0, done.output
    assert gp.cli("plan", "--detailed-exitcode").exit_code == 0


def test_a_single_rule_can_be_imported_by_uid(gp: GrafanaProject) -> None:
    gp.write("folders.yaml", folder_doc())
    _apply(gp)
    gp.create_unmanaged("Visits synchronizer stalled", "sla", uid="visits-sync-stalled")
    gp.write("rules.yaml", group_doc("sla", FULL_FORM_RULE))
    refused = gp.cli("plan")
    assert refused.exit_code == 1 and "reconciler import GrafanaAlertRule visits-sync-stalled" in refused.output
    assert run("import", "GrafanaAlertRule", "visits-sync-stalled", gp.root).exit_code == 0
    (op,) = gp.plan_ops()
    assert (op["action"], op["key"]) == ("update", "visits-sync-stalled")
    _apply(gp)


def test_nested_folders_are_created_parent_first(gp: GrafanaProject) -> None:
    gp.write(
        "folders.yaml",
        folder_doc("a-child", "Child", extra="parent: z-parent") + "---\n" + folder_doc("z-parent", "Parent"),
    )
    ops = gp.plan_ops()
    assert [o["name"] for o in ops] == ["z-parent", "a-child"]
    _apply(gp)
    assert gp.folder("a-child")["parentUid"] == "z-parent"
    # Grafana folders carry no metadata to record who made them: once their specs are gone,
    # folders without reconciler's rules are left in place (never deleted on a guess).
    gp.remove("folders.yaml")
    assert gp.cli("plan", "--detailed-exitcode").exit_code == 0
    assert gp.folder("z-parent") is not None


def test_unreadable_alert_state_is_a_note_not_a_failure(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAFANA_TOKEN", TOKEN)  # restored after the test
    with grafana_refusing_rule_state(project, tmp_path / "denied.db") as gp:
        _base(gp)
        _apply(gp)
        _base(gp, threshold="> 1")
        plan = gp.project.plan_json()
        assert any("alert state unavailable" in n and "HTTP 403" in n for n in plan["notes"])
        (op,) = plan["operations"]
        assert "could not be read" in op["warnings"][0]
