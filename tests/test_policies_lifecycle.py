"""The core scenario, through the CLI: plan -> apply -> change -> plan -> drift, on SQLite."""

from __future__ import annotations

import json

from helpers import Project, policy, run


def _three(project: Project) -> None:
    project.write(
        "policies.yaml",
        policy("bi", ["wh-b", "wh-a"], 300, "SLA_BURST")
        + "---\n"
        + policy("etl", ["wh-etl"], 1800)
        + "---\n"
        + policy("adhoc", ["wh-adhoc"], 900, "ERROR", extra="included_statuses: [FAILED]"),
    )


def test_plan_apply_then_no_changes(project: Project) -> None:
    _three(project)
    plan = project.cli("plan", "--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    assert "3 to create" in plan.stdout
    assert project.rows() == []  # plan changes nothing

    applied = project.cli("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "Apply complete: 3 operation(s) succeeded" in applied.stdout
    rows = {r["spec_name"]: r for r in project.rows()}
    assert set(rows) == {"bi", "etl", "adhoc"}
    assert json.loads(rows["bi"]["warehouse_ids"]) == ["wh-a", "wh-b"]
    assert rows["adhoc"]["policy_mode"] == "ERROR"
    assert rows["bi"]["managed_by"] == "reconciler/test"

    again = project.cli("plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "No changes" in again.stdout


def test_changing_sla_seconds_is_one_update_of_one_field(project: Project) -> None:
    _three(project)
    project.cli("apply", "--auto-approve")
    project.write("policies.yaml", (project.root / "policies.yaml").read_text().replace("sla_seconds: 1800", "sla_seconds: 3600"))
    plan = project.plan_json()
    assert plan["summary"] == {"create": 0, "update": 1, "replace": 0, "delete": 0, "unchanged": 2}
    (op,) = plan["operations"]
    assert (op["action"], op["name"], op["destructive"]) == ("update", "etl", False)
    assert op["changes"] == [{"path": "sla_seconds", "before": 1800, "after": 3600}]
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert {r["spec_name"]: r["sla_seconds"] for r in project.rows()}["etl"] == 3600


def test_reordering_or_repeating_warehouses_changes_nothing(project: Project) -> None:
    _three(project)
    project.cli("apply", "--auto-approve")
    text = (project.root / "policies.yaml").read_text().replace('["wh-b", "wh-a"]', '["wh-a", "wh-b", "wh-a"]')
    project.write("policies.yaml", text)
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_changing_warehouse_ids_is_a_gated_replace(project: Project) -> None:
    _three(project)
    project.cli("apply", "--auto-approve")
    project.write("policies.yaml", (project.root / "policies.yaml").read_text().replace('["wh-etl"]', '["wh-etl", "wh-etl-2"]'))
    plan = project.plan_json()
    (op,) = plan["operations"]
    assert op["action"] == "replace" and op["destructive"] is True
    assert any("warehouse_ids changed" in r and "identity hash differs" in r for r in op["reasons"])
    assert op["warnings"]

    text = project.cli("plan")
    assert "-/+ replace SlaPolicy/etl" in text.stdout and "DESTRUCTIVE" in text.stdout

    before = project.rows()
    refused = project.cli("apply", "--auto-approve")
    assert refused.exit_code == 1
    assert "--allow-destructive" in refused.output
    assert project.rows() == before

    done = project.cli("apply", "--auto-approve", "--allow-destructive")
    assert done.exit_code == 0, done.output
    etl = [r for r in project.rows() if r["spec_name"] == "etl"]
    assert len(etl) == 1 and json.loads(etl[0]["warehouse_ids"]) == ["wh-etl", "wh-etl-2"]
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_removing_a_spec_plans_a_gated_delete(project: Project) -> None:
    _three(project)
    project.cli("apply", "--auto-approve")
    project.write("policies.yaml", policy("bi", ["wh-b", "wh-a"], 300, "SLA_BURST") + "---\n" + policy("etl", ["wh-etl"], 1800))
    plan = project.plan_json()
    (op,) = plan["operations"]
    assert (op["action"], op["name"], op["destructive"]) == ("delete", "adhoc", True)

    refused = project.cli("apply", "--auto-approve")
    assert refused.exit_code == 1 and "delete SlaPolicy/adhoc" in refused.output
    assert len(project.rows()) == 3

    assert project.cli("apply", "--auto-approve", "--allow-destructive").exit_code == 0
    assert {r["spec_name"] for r in project.rows()} == {"bi", "etl"}


def test_prevent_destroy_refuses_replace_and_delete_always(project: Project) -> None:
    project.write("p.yaml", policy("vault", ["wh-v"], 60, extra="lifecycle:\n  prevent_destroy: true"))
    project.cli("apply", "--auto-approve")

    project.write("p.yaml", policy("vault", ["wh-v", "wh-w"], 60, extra="lifecycle:\n  prevent_destroy: true"))
    replace = project.cli("plan")
    assert replace.exit_code == 1
    assert "prevent_destroy" in replace.output and "SlaPolicy 'vault'" in replace.output
    assert project.cli("apply", "--auto-approve", "--allow-destructive").exit_code == 1

    project.remove("p.yaml")
    delete = project.cli("apply", "--auto-approve", "--allow-destructive")
    assert delete.exit_code == 1 and "prevent_destroy" in delete.output
    assert [r["spec_name"] for r in project.rows()] == ["vault"]

    # Lifting the protection is itself an ordinary update; then the delete goes through.
    project.write("p.yaml", policy("vault", ["wh-v"], 60))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.remove("p.yaml")
    assert project.cli("apply", "--auto-approve", "--allow-destructive").exit_code == 0
    assert project.rows() == []


def test_drift_names_a_field_edited_behind_gits_back(project: Project) -> None:
    _three(project)
    project.cli("apply", "--auto-approve")
    assert project.cli("drift").exit_code == 0

    project.sql("UPDATE query_sla_policies SET sla_seconds = 5 WHERE spec_name = 'bi'")
    drift = project.cli("drift")
    assert drift.exit_code == 2
    assert "drifted" in drift.stdout and "SlaPolicy/bi" in drift.stdout and "sla_seconds" in drift.stdout

    report = json.loads(project.cli("drift", "--format", "json").stdout)
    (entry,) = [o for o in report["objects"] if o["status"] == "drifted"]
    assert entry["name"] == "bi" and entry["changes"][0]["path"] == "sla_seconds"

    project.sql("DELETE FROM query_sla_policies WHERE spec_name = 'etl'")
    statuses = {o["name"]: o["status"] for o in json.loads(project.cli("drift", "--format", "json").stdout)["objects"]}
    assert statuses["etl"] == "missing"

    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert project.cli("drift").exit_code == 0


def test_unmanaged_row_is_shown_and_survives_apply(project: Project) -> None:
    _three(project)
    project.cli("apply", "--auto-approve")
    project.sql(
        "INSERT INTO query_sla_policies (policy_hash, warehouse_ids, sla_seconds, query_statuses, policy_mode) "
        "VALUES ('handmade', '[\"wh-z\"]', 42, '[\"FAILED\"]', 'ERROR')"
    )
    plan = project.cli("plan", "--detailed-exitcode")
    assert plan.exit_code == 0  # not ours: nothing to do
    assert "Unmanaged" in plan.stdout and "wh-z" in plan.stdout
    drift = project.cli("drift")
    assert drift.exit_code == 0 and "unmanaged" in drift.stdout

    project.write("policies.yaml", policy("bi", ["wh-b", "wh-a"], 300, "SLA_BURST"))
    assert project.cli("apply", "--auto-approve", "--allow-destructive").exit_code == 0
    handmade = [r for r in project.rows() if r["policy_hash"] == "handmade"]
    assert handmade and handmade[0]["sla_seconds"] == 42 and handmade[0]["managed_by"] is None


def test_declared_policy_over_unmanaged_row_stops_plan_until_imported(project: Project) -> None:
    project.write("p.yaml", policy("legacy", ["wh-l"], 120))
    project.cli("apply", "--auto-approve")
    project.sql("UPDATE query_sla_policies SET managed_by = NULL, spec_name = NULL, sla_seconds = 100")
    key = project.rows()[0]["policy_hash"]

    plan = project.cli("plan")
    assert plan.exit_code == 1
    assert "does not manage" in plan.output and key in plan.output and f"reconciler import SlaPolicy {key}" in plan.output

    imported = run("import", "SlaPolicy", key, project.root)
    assert imported.exit_code == 0, imported.output
    plan = project.plan_json()
    (op,) = plan["operations"]
    assert op["action"] == "update" and op["changes"] == [{"path": "sla_seconds", "before": 100, "after": 120}]


def test_json_plan_contract(project: Project) -> None:
    _three(project)
    plan = project.plan_json()
    assert plan["format_version"] == 1
    assert plan["tool"]["name"] == "reconciler" and plan["tool"]["version"]
    assert plan["target"] == "local"
    assert plan["specs_digest"].startswith("sha256:")
    assert set(plan["summary"]) == {"create", "update", "replace", "delete", "unchanged"}
    op = plan["operations"][0]
    assert {"action", "kind", "name", "key", "changes", "reasons", "warnings", "destructive", "live_fingerprint"} <= set(op)
