"""Grafana safety rules through the CLI against the sandbox: a folder's prevent_destroy survives
the removal of its spec, rules reconciler does not manage are never rewritten, and the plan
states the alert-state cost of an update for the whole group."""

from __future__ import annotations

from grafana_helpers import (
    FULL_FORM_RULE,
    GrafanaProject,
    apply_clean,
    base,
    definition,
    folder_doc,
    group_doc,
    shorthand_rule,
)
from helpers import run

PROTECTED = "lifecycle:\n  prevent_destroy: true\n"


def test_folder_prevent_destroy_outlives_its_spec(gp: GrafanaProject) -> None:
    base(gp)
    gp.write("folders.yaml", folder_doc(extra=PROTECTED))
    apply_clean(gp)

    # Both specs gone from git: the folder (and with it every rule in it) must not be deleted.
    gp.remove("rules.yaml")
    gp.remove("folders.yaml")
    refused = gp.cli("plan")
    assert refused.exit_code == 1
    assert "GrafanaFolder 'alerts'" in refused.output and "prevent_destroy" in refused.output
    assert gp.cli("apply", "--auto-approve", "--allow-destructive").exit_code == 1
    assert gp.folder("alerts") is not None and len(gp.rules()) == 2

    # Lifting it is an explicit, reviewed step: declare it with prevent_destroy false and apply.
    base(gp)
    ops = gp.plan_ops()
    assert [(o["action"], o["kind"], o["changes"]) for o in ops] == [
        ("update", "GrafanaFolder", [{"path": "lifecycle.prevent_destroy", "before": True, "after": False}])
    ]
    assert "resets their evaluation state" in ops[0]["warnings"][0]
    apply_clean(gp)
    gp.remove("rules.yaml")
    gp.remove("folders.yaml")
    apply_clean(gp, "--allow-destructive")
    assert gp.folder("alerts") is None and gp.rules() == {}


def test_protecting_an_existing_folder_records_it_on_its_rules(gp: GrafanaProject) -> None:
    base(gp)
    apply_clean(gp)
    handmade = definition(gp.create_unmanaged("Hand-made check", "sla"))
    gp.write("folders.yaml", folder_doc(extra=PROTECTED))
    (op,) = gp.plan_ops()
    assert (op["action"], op["kind"]) == ("update", "GrafanaFolder")
    assert op["changes"] == [{"path": "lifecycle.prevent_destroy", "before": False, "after": True}]
    apply_clean(gp)
    assert definition(gp.rules()["Hand-made check"]) == handmade  # not ours: untouched

    # A rule added to the protected folder later carries the marker too.
    gp.write("more.yaml", group_doc("more", shorthand_rule("Late arrival")))
    apply_clean(gp)
    assert {t: r["annotations"].get("reconciler_folder_prevent_destroy") for t, r in gp.rules().items()} == {
        "SLA miss visits synchronizer": "true",
        "Visits synchronizer stalled": "true",
        "Late arrival": "true",
        "Hand-made check": None,
    }
    gp.api(
        "DELETE",
        f"/api/v1/provisioning/alert-rules/{gp.rules()['Hand-made check']['uid']}",
        headers={"X-Disable-Provenance": "true"},
    ).raise_for_status()
    gp.remove("rules.yaml")
    gp.remove("more.yaml")
    gp.remove("folders.yaml")
    refused = gp.cli("plan")
    assert refused.exit_code == 1 and "prevent_destroy" in refused.output


def test_interval_change_is_refused_while_the_group_holds_rules_not_ours(gp: GrafanaProject) -> None:
    base(gp)
    apply_clean(gp)
    handmade = definition(gp.create_unmanaged("Hand-made check", "sla"))
    provenance = gp.rules()["Hand-made check"].get("provenance")

    base(gp, interval="2m")
    refused = gp.cli("plan")
    assert refused.exit_code == 1
    assert "rules.yaml" in refused.output and "spec.interval" in refused.output and "Hand-made check" in refused.output
    assert f"reconciler import GrafanaRuleGroup alerts/sla {gp.root} --target grafana" in " ".join(
        refused.output.split()
    )
    assert gp.cli("apply", "--auto-approve").exit_code == 1
    assert gp.group("alerts", "sla")["interval"] == 60
    assert definition(gp.rules()["Hand-made check"]) == handmade
    assert gp.rules()["Hand-made check"].get("provenance") == provenance


def test_update_warning_names_the_other_rules_of_the_group_and_their_alerts(gp: GrafanaProject) -> None:
    base(gp)
    apply_clean(gp)
    gp.create_unmanaged("Hand-made check", "sla")
    rules = gp.rules()
    gp.set_state(rules["Visits synchronizer stalled"]["uid"], firing=2)
    gp.set_state(rules["Hand-made check"]["uid"], pending=4)

    base(gp, threshold="> 600")
    (op,) = gp.plan_ops()
    assert op["name"] == "alerts/SLA miss visits synchronizer"
    own, group = op["warnings"]
    assert "rule 'SLA miss visits synchronizer'" in own and "no alert instances are firing or pending now" in own
    assert "group 'sla'" in group and "2 other rule(s)" in group and "2 firing instance(s)" in group
    assert "'Visits synchronizer stalled' (2 alert instance(s) firing and 0 pending now)" in group
    assert "'Hand-made check' (0 alert instance(s) firing and 4 pending now)" in group
    assert group.index("Visits synchronizer stalled") < group.index("Hand-made check")  # busiest first


def test_renaming_a_rule_with_a_derived_uid_is_an_update_that_keeps_it(gp: GrafanaProject) -> None:
    base(gp)
    apply_clean(gp)
    uid = gp.rules()["SLA miss visits synchronizer"]["uid"]
    gp.write("rules.yaml", group_doc("sla", shorthand_rule("SLA miss - visits synchronizer") + FULL_FORM_RULE))
    (op,) = gp.plan_ops()
    assert (op["action"], op["key"]) == ("update", uid)
    assert op["changes"] == [
        {"path": "title", "before": "SLA miss visits synchronizer", "after": "SLA miss - visits synchronizer"}
    ]
    apply_clean(gp)
    assert gp.rules()["SLA miss - visits synchronizer"]["uid"] == uid


def test_folder_protection_survives_rule_rewrites_after_its_spec_is_gone(gp: GrafanaProject) -> None:
    base(gp)
    gp.write("folders.yaml", folder_doc(extra=PROTECTED))
    apply_clean(gp)
    gp.remove("folders.yaml")  # the groups still use the folder: it is left alone, not deleted
    apply_clean(gp)
    base(gp, threshold="> 900")
    gp.remove("folders.yaml")
    apply_clean(gp)  # rewrites the rule while no spec declares its folder
    assert gp.rules()["SLA miss visits synchronizer"]["annotations"]["reconciler_folder_prevent_destroy"] == "true"
    gp.remove("rules.yaml")
    refused = gp.cli("plan")
    assert refused.exit_code == 1 and "prevent_destroy" in refused.output


def test_a_folder_is_never_deleted_with_subfolders_or_dashboards_it_may_not_delete(gp: GrafanaProject) -> None:
    gp.write(
        "folders.yaml",
        folder_doc("par", "Parent") + "---\n" + folder_doc("chi", "Child", extra="parent: par\n" + PROTECTED),
    )
    gp.write("rules.yaml", group_doc("g", shorthand_rule("P1"), folder="par"))
    apply_clean(gp)
    gp.write("folders.yaml", folder_doc("chi", "Child", extra="parent: par\n" + PROTECTED))
    gp.remove("rules.yaml")
    refused = gp.cli("plan")
    assert refused.exit_code == 1
    assert (
        "GrafanaFolder 'par'" in refused.output
        and "subfolder 'Child' (chi)" in refused.output
        and "still declared" in refused.output
    )
    assert gp.cli("apply", "--auto-approve", "--allow-destructive").exit_code == 1
    assert gp.folder("par") is not None and gp.folder("chi") is not None

    # A dashboard in the folder: Grafana would delete it with the folder.
    gp.write("folders.yaml", folder_doc("par", "Parent"))
    gp.write("rules.yaml", group_doc("g", shorthand_rule("P1"), folder="par"))
    gp.api("DELETE", "/api/folders/chi").raise_for_status()
    apply_clean(gp)
    gp.api(
        "POST", "/sandbox/grafana/dashboards", json={"uid": "dash-1", "folderUid": "par", "title": "Ops"}
    ).raise_for_status()
    gp.remove("folders.yaml")
    gp.remove("rules.yaml")
    refused = gp.cli("plan")
    assert refused.exit_code == 1 and "1 dashboard(s)" in refused.output
    assert gp.folder("par") is not None


def test_two_rules_can_swap_titles(gp: GrafanaProject) -> None:
    first = FULL_FORM_RULE.replace("Visits synchronizer stalled", "Alpha").replace("visits-sync-stalled", "u-alpha")
    second = FULL_FORM_RULE.replace("Visits synchronizer stalled", "Beta").replace("visits-sync-stalled", "u-beta")
    gp.write("folders.yaml", folder_doc())
    gp.write("rules.yaml", group_doc("sla", first + second))
    apply_clean(gp)
    swapped = first.replace("title: Alpha", "title: Beta") + second.replace("title: Beta", "title: Alpha")
    gp.write("rules.yaml", group_doc("sla", swapped))
    apply_clean(gp)
    assert {r["uid"]: t for t, r in gp.rules().items()} == {"u-alpha": "Beta", "u-beta": "Alpha"}


def test_a_hand_made_folder_is_not_deleted_after_its_rules_were_imported(gp: GrafanaProject) -> None:
    gp.api("POST", "/api/folders", json={"uid": "hf", "title": "Hand folder"}).raise_for_status()
    gp.create_unmanaged("Hand-made check", "hg", folder="hf", uid="hand-made")
    rule = FULL_FORM_RULE.replace("Visits synchronizer stalled", "Hand-made check").replace(
        "visits-sync-stalled", "hand-made"
    )
    gp.write("rules.yaml", group_doc("hg", rule, folder="hf"))
    assert run("import", "GrafanaRuleGroup", "hf/hg", gp.root).exit_code == 0
    apply_clean(gp)
    gp.remove("rules.yaml")
    ops = gp.plan_ops()
    assert [(o["action"], o["kind"]) for o in ops if o["kind"] == "GrafanaFolder"] == []
    apply_clean(gp, "--allow-destructive")
    assert gp.folder("hf") is not None and gp.rules() == {}


def test_a_ui_copy_of_a_managed_rule_is_not_reconcilers(gp: GrafanaProject) -> None:
    base(gp)
    apply_clean(gp)
    group = gp.group("alerts", "sla")
    copy = {**group["rules"][1], "uid": "copy-1", "title": "Copy of stalled"}
    body = {"interval": group["interval"], "rules": group["rules"] + [copy]}
    gp.api(
        "PUT", "/api/v1/provisioning/folder/alerts/rule-groups/sla", json=body, headers={"X-Disable-Provenance": "true"}
    ).raise_for_status()
    plan = gp.cli("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output  # not planned for deletion: it is not reconciler's
    assert "Copy of stalled" in plan.stdout and "Unmanaged" in plan.stdout


def test_a_renamed_rules_old_title_can_be_used_again(gp: GrafanaProject) -> None:
    gp.write("folders.yaml", folder_doc())
    gp.write("rules.yaml", group_doc("sla", shorthand_rule("Old")))
    apply_clean(gp)
    gp.write("rules.yaml", group_doc("sla", shorthand_rule("New")))
    apply_clean(gp)
    gp.write("rules.yaml", group_doc("sla", shorthand_rule("New") + shorthand_rule("Old", threshold="> 5")))
    apply_clean(gp)  # converges in one apply: the group is written in one consistent step
    assert set(gp.rules()) == {"New", "Old"}


def test_a_moved_rules_warning_names_the_group_it_moves_into(gp: GrafanaProject) -> None:
    gp.write("folders.yaml", folder_doc())
    gp.write(
        "rules.yaml",
        group_doc("sla", shorthand_rule("Mover") + shorthand_rule("Stayer"))
        + "---\n"
        + group_doc("other", shorthand_rule("Resident")),
    )
    apply_clean(gp)
    gp.set_state(gp.rules()["Resident"]["uid"], firing=7)
    gp.write(
        "rules.yaml",
        group_doc("sla", shorthand_rule("Stayer"))
        + "---\n"
        + group_doc("other", shorthand_rule("Resident") + shorthand_rule("Mover")),
    )
    (op,) = [o for o in gp.plan_ops() if o["kind"] == "GrafanaAlertRule"]
    assert op["name"] == "alerts/Mover"
    assert "group 'other'" in op["warnings"][1] and "'Resident' (7 alert instance(s) firing" in op["warnings"][1]
    apply_clean(gp)


def test_a_saved_plan_never_rewrites_a_rule_it_left_alone(gp: GrafanaProject, tmp_path) -> None:  # type: ignore[no-untyped-def]
    base(gp)
    apply_clean(gp)
    base(gp, threshold="> 450")
    saved = tmp_path / "plan.json"
    assert gp.cli("plan", "--out", str(saved)).exit_code == 0
    gp.edit_behind_back("visits-sync-stalled", {"for": "20m"})
    gp.set_state("visits-sync-stalled", firing=3)
    result = gp.cli("apply", "--plan", str(saved), "--auto-approve")
    assert result.exit_code == 0, result.output
    stalled = gp.rules()["Visits synchronizer stalled"]
    assert stalled["for"] == "20m"  # not in the plan: not touched (drift will report it)
    assert gp.cli("drift").exit_code == 2


def test_a_declared_group_holding_only_rules_not_ours_takes_our_rules_in(gp: GrafanaProject) -> None:
    gp.write("folders.yaml", folder_doc())
    apply_clean(gp)
    handmade = definition(gp.create_unmanaged("Hand-made check", "sla"))
    base(gp)
    ops = gp.plan_ops()
    assert [(o["action"], o["kind"]) for o in ops] == [("create", "GrafanaAlertRule"), ("create", "GrafanaAlertRule")]
    apply_clean(gp)
    assert definition(gp.rules()["Hand-made check"]) == handmade


def test_folder_cycles_are_errors_before_anything_is_applied(gp: GrafanaProject) -> None:
    gp.write(
        "folders.yaml",
        folder_doc("ui", "UI", extra="parent: team2") + "---\n" + folder_doc("team2", "Team 2", extra="parent: ui"),
    )
    result = gp.cli("validate")
    assert (
        result.exit_code == 1
        and "folders.yaml:7: spec.parent: folders cannot nest in a cycle: ui -> team2 -> ui" in result.stderr
    )

    gp.write("folders.yaml", folder_doc("ui", "UI"))
    apply_clean(gp)
    gp.api("POST", "/api/folders", json={"uid": "uisub", "title": "UI sub", "parentUid": "ui"}).raise_for_status()
    gp.write("folders.yaml", folder_doc("ui", "UI", extra="parent: uisub"))
    refused = gp.cli("plan")
    assert refused.exit_code == 1 and "folders.yaml:7: spec.parent: folder 'uisub' is inside 'ui'" in refused.stderr
    assert gp.folder("ui").get("parentUid") is None


def test_the_pull_request_comment_shows_alert_state_warnings_up_front(gp: GrafanaProject) -> None:
    base(gp)
    apply_clean(gp)
    gp.set_state(gp.rules()["SLA miss visits synchronizer"]["uid"], firing=3)
    base(gp, threshold="> 900")
    gp.write("more.yaml", group_doc("more", shorthand_rule("Brand new", threshold="> 1")))
    md = gp.cli("plan", "--format", "markdown").stdout
    banner = md.split("> [!WARNING]\n", 1)[1].split("\n\n", 1)[0]
    assert md.index("> [!WARNING]") < md.index("<details>")
    assert (
        "update `GrafanaAlertRule/alerts/SLA miss visits synchronizer`" in banner
        and "3 alert instance(s) firing" in banner
    )
    # The group-wide warning is there too: the other rules' firing alerts are not hidden.
    assert "update `GrafanaAlertRule/alerts/Visits synchronizer stalled`" not in banner
    assert "other rule(s) there" in banner
    # A created rule's query nodes are listed one by one, whole: the threshold is visible.
    created = md.split("Brand new</code></summary>", 1)[1].split("</details>", 1)[0]
    assert "`data.C`" in created and '"params": [1]' in created


def test_a_saved_folder_delete_is_stale_once_the_folder_holds_more(gp: GrafanaProject, tmp_path) -> None:  # type: ignore[no-untyped-def]
    base(gp)
    apply_clean(gp)
    gp.remove("rules.yaml")
    gp.remove("folders.yaml")
    saved = tmp_path / "delete.json"
    assert gp.cli("plan", "--out", str(saved)).exit_code == 0
    gp.api("POST", "/sandbox/grafana/dashboards", json={"uid": "dash-1", "folderUid": "alerts"}).raise_for_status()
    refused = gp.cli("apply", "--plan", str(saved), "--auto-approve", "--allow-destructive")
    assert refused.exit_code == 1 and "plan is stale" in refused.output and "GrafanaFolder/alerts" in refused.output
    assert gp.folder("alerts") is not None and len(gp.rules()) == 2


def test_a_password_in_the_grafana_url_never_reaches_the_output(gp: GrafanaProject) -> None:
    base(gp)
    gp.write(
        "reconciler.yaml",
        "project: test\ndefault_target: g\ntargets:\n  g:\n    grafana:\n      url: http://admin:s3cret@127.0.0.1:1\n",
    )
    result = gp.cli("plan")
    assert (
        result.exit_code == 1 and "cannot reach http://127.0.0.1:1" in result.output and "s3cret" not in result.output
    )
