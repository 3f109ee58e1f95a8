"""Grafana safety rules through the CLI against the sandbox: a folder's prevent_destroy survives
the removal of its spec, rules reconciler does not manage are never rewritten, and the plan
states the alert-state cost of an update for the whole group."""

from __future__ import annotations

from grafana_helpers import FULL_FORM_RULE, GrafanaProject, apply_clean, base, definition, folder_doc, group_doc, shorthand_rule

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
    gp.api("DELETE", f"/api/v1/provisioning/alert-rules/{gp.rules()['Hand-made check']['uid']}",
           headers={"X-Disable-Provenance": "true"}).raise_for_status()
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
    assert f"reconciler import GrafanaRuleGroup alerts/sla {gp.root} --target grafana" in " ".join(refused.output.split())
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
    assert op["changes"] == [{"path": "title", "before": "SLA miss visits synchronizer", "after": "SLA miss - visits synchronizer"}]
    apply_clean(gp)
    assert gp.rules()["SLA miss - visits synchronizer"]["uid"] == uid
