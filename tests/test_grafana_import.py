"""`reconciler import` on Grafana through the CLI against the sandbox: only what a spec declares
is adopted, nothing else about the adopted rules changes (provenance included), the cost in
alert state is stated, and groups that cannot be managed are skipped before any file is written."""

from __future__ import annotations

from grafana_helpers import FULL_FORM_RULE, GrafanaProject, apply_clean, definition, folder_doc, group_doc
from helpers import run


def _handmade(gp: GrafanaProject) -> None:
    gp.write("folders.yaml", folder_doc())
    apply_clean(gp)
    gp.create_unmanaged("Visits synchronizer stalled", "sla", uid="visits-sync-stalled")
    gp.create_unmanaged("Hand-made check", "sla", uid="hand-made")


def _give_to_another_project(gp: GrafanaProject) -> None:
    """Mark every rule of alerts/sla as another reconciler project's."""
    group = gp.group("alerts", "sla")
    for rule in group["rules"]:
        rule["annotations"] = {**(rule.get("annotations") or {}), "reconciler_managed_by": "reconciler/other"}
    gp.api(
        "PUT",
        "/api/v1/provisioning/folder/alerts/rule-groups/sla",
        json=group,
        headers={"X-Disable-Provenance": "true"},
    ).raise_for_status()


def test_import_adopts_only_the_rules_the_spec_declares(gp: GrafanaProject) -> None:
    _handmade(gp)
    other = definition(gp.rules()["Hand-made check"])
    gp.write("rules.yaml", group_doc("sla", FULL_FORM_RULE))

    result = run("import", "GrafanaRuleGroup", "alerts/sla", gp.root)
    assert result.exit_code == 0, result.output
    assert "left unmanaged" in result.stdout and "'Hand-made check'" in result.stdout
    rules = gp.rules()
    assert rules["Visits synchronizer stalled"]["annotations"]["reconciler_managed_by"] == "reconciler/test"
    assert definition(rules["Hand-made check"]) == other  # not declared: not touched

    ops = gp.plan_ops()
    assert all(o["action"] != "delete" for o in ops)  # an imported group never turns into deletes
    plan = gp.cli("plan")
    assert "Hand-made check" in plan.stdout and "Unmanaged" in plan.stdout


def test_import_without_a_declaring_spec_is_refused_and_changes_nothing(gp: GrafanaProject) -> None:
    _handmade(gp)
    before = {t: definition(r) for t, r in gp.rules().items()}
    result = run("import", "GrafanaRuleGroup", "alerts/sla", gp.root)
    assert result.exit_code == 1
    assert "no GrafanaRuleGroup spec" in result.stderr and "declares 'alerts/sla'" in result.stderr
    assert "--generate-specs" in result.stderr
    assert {t: definition(r) for t, r in gp.rules().items()} == before

    refused = run("import", "SlaPolicy", "0123abcd", gp.root)
    # SlaPolicy specs can be generated from the policy table too (issue #18), so it is suggested.
    assert refused.exit_code == 1 and "no SlaPolicy spec" in refused.stderr and "--generate-specs" in refused.stderr


def test_import_keeps_provenance_and_states_the_alert_state_cost(gp: GrafanaProject) -> None:
    _handmade(gp)
    gp.set_state("visits-sync-stalled", firing=4)
    assert "provenance" not in gp.rules()["Visits synchronizer stalled"]  # clicked together in the UI: editable
    gp.write("rules.yaml", group_doc("sla", FULL_FORM_RULE))

    result = run("import", "GrafanaRuleGroup", "alerts/sla", gp.root)
    assert result.exit_code == 0, result.output
    assert "resets the evaluation state" in result.stdout
    assert "'Visits synchronizer stalled' (4 alert instance(s) firing and 0 pending now)" in result.stdout
    assert "provenance" not in gp.rules()["Visits synchronizer stalled"]  # still editable, as before the import


def test_generate_specs_skips_groups_provisioned_from_files_before_writing(gp: GrafanaProject) -> None:
    gp.write("folders.yaml", folder_doc())
    apply_clean(gp)
    gp.create_unmanaged("Disk full", "infra")
    gp.create_unmanaged("From a file", "provisioned", uid="from-file")
    gp.api("PUT", "/sandbox/grafana/rules/from-file/provenance", json={"provenance": "file"}).raise_for_status()

    result = run("import", "--generate-specs", "GrafanaRuleGroup", "alerts/*", gp.root)
    assert result.exit_code == 0, result.output
    assert "alerts/provisioned holds rules provisioned from files" in result.stdout
    written = (gp.root / "grafana" / "alerts.yaml").read_text()
    assert "Disk full" in written and "From a file" not in written
    plan = gp.cli("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output


def test_a_spec_with_another_explicit_uid_is_not_matched_by_title(gp: GrafanaProject) -> None:
    _handmade(gp)
    gp.write("rules.yaml", group_doc("sla", FULL_FORM_RULE.replace("visits-sync-stalled", "spec-uid")))
    refused = gp.cli("plan")
    assert refused.exit_code == 1 and "set the spec's uid to visits-sync-stalled" in refused.output
    result = run("import", "GrafanaRuleGroup", "alerts/sla", gp.root)
    assert result.exit_code == 1 and "nothing to adopt" in result.stderr
    assert "reconciler_managed_by" not in gp.rules()["Visits synchronizer stalled"]["annotations"]


def test_a_rule_declared_in_another_group_gets_the_rule_import_hint(gp: GrafanaProject) -> None:
    _handmade(gp)
    gp.write("rules.yaml", group_doc("elsewhere", FULL_FORM_RULE.replace("  uid: visits-sync-stalled\n", "")))
    refused = gp.cli("plan")
    assert refused.exit_code == 1
    assert f"reconciler import GrafanaAlertRule visits-sync-stalled {gp.root} --target grafana" in " ".join(
        refused.output.split()
    )
    assert run("import", "GrafanaAlertRule", "visits-sync-stalled", gp.root).exit_code == 0
    (op,) = [o for o in gp.plan_ops() if o["kind"] == "GrafanaAlertRule"]  # adopted: a move to the declared group
    assert (op["action"], op["key"]) == ("update", "visits-sync-stalled")
    assert {"path": "group", "before": "sla", "after": "elsewhere"} in op["changes"]


def test_generate_specs_skips_groups_another_project_manages(gp: GrafanaProject) -> None:
    _handmade(gp)
    _give_to_another_project(gp)
    result = run("import", "--generate-specs", "GrafanaRuleGroup", "alerts/*", gp.root)
    assert result.exit_code == 0, result.output
    assert "alerts/sla holds rules managed by reconciler/other; skipped" in result.stdout
    assert not (gp.root / "grafana" / "alerts.yaml").exists()


def test_a_rule_another_project_manages_is_never_offered_for_import(gp: GrafanaProject) -> None:
    _handmade(gp)
    _give_to_another_project(gp)
    gp.write("rules.yaml", group_doc("sla", FULL_FORM_RULE))  # same uid as the other project's rule
    refused = gp.cli("plan")
    assert refused.exit_code == 1
    assert "another project manages (reconciler/other)" in refused.output and "reconciler import" not in refused.output
    gp.write("rules.yaml", group_doc("sla", FULL_FORM_RULE.replace("  uid: visits-sync-stalled\n", "")))  # same title
    refused = gp.cli("plan")
    assert refused.exit_code == 1
    assert "another project manages (reconciler/other)" in refused.output and "reconciler import" not in refused.output


def test_a_hand_written_provisioning_file_converts_to_valid_specs(gp: GrafanaProject, tmp_path) -> None:  # type: ignore[no-untyped-def]
    gp.write("folders.yaml", folder_doc())
    apply_clean(gp)
    source = tmp_path / "alerting.yaml"
    source.write_text(
        "apiVersion: 1\n"
        "groups:\n"
        "  - orgId: 1\n"
        "    name: from files\n"
        "    folder: Alerts\n"
        "    interval: 1m\n"
        "    rules:\n"
        "      - uid: disk-full\n"
        "        title: Disk full\n"
        "        condition: B\n"
        "        data:\n"
        "          - refId: A\n"
        "            relativeTimeRange: {from: 600, to: 0}\n"
        "            datasourceUid: prometheus\n"
        "            model: {expr: disk_used_ratio, refId: A}\n"
        "          - refId: B\n"
        "            datasourceUid: __expr__\n"
        "            model: {type: threshold, expression: A, refId: B, conditions: [{evaluator: {type: gt, params: [0.9]}}]}\n"
    )
    result = run("import", "--from-file", source, "GrafanaRuleGroup", "*", gp.root)
    assert result.exit_code == 0, result.output
    written = (gp.root / "grafana" / "alerts.yaml").read_text()
    # Grafana's file-provisioning defaults: omitted noDataState is NoData (the spec's default too),
    # omitted execErrState is Alerting in a file (the API's and the spec's default is Error)
    assert "no_data_state" not in written and "exec_err_state: Alerting" in written
    assert gp.cli("validate").exit_code == 0
