"""SQLite-store specifics beyond the scenario suite both stores run (test_policy_store_scenarios):
identity normalisation, the terminal view of a replace, lifting prevent_destroy, the JSON contract."""

from __future__ import annotations

from helpers import Project, policy


def _three(project: Project) -> None:
    project.write(
        "policies.yaml",
        policy("bi", ["wh-b", "wh-a"], 300, "SLA_BURST")
        + "---\n"
        + policy("etl", ["wh-etl"], 1800)
        + "---\n"
        + policy("adhoc", ["wh-adhoc"], 900, "ERROR", extra="included_statuses: [FAILED]"),
    )


def test_reordering_or_repeating_warehouses_changes_nothing(project: Project) -> None:
    _three(project)
    project.cli("apply", "--auto-approve")
    text = (project.root / "policies.yaml").read_text().replace('["wh-b", "wh-a"]', '["wh-a", "wh-b", "wh-a"]')
    project.write("policies.yaml", text)
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_a_replace_is_impossible_to_miss_in_the_terminal_view(project: Project) -> None:
    _three(project)
    project.cli("apply", "--auto-approve")
    project.write(
        "policies.yaml", (project.root / "policies.yaml").read_text().replace('["wh-etl"]', '["wh-etl", "wh-etl-2"]')
    )
    text = project.cli("plan").stdout
    assert "-/+ replace SlaPolicy/etl" in text and "DESTRUCTIVE" in text
    assert "reason: warehouse_ids changed ([wh-etl] -> [wh-etl, wh-etl-2]): identity hash differs" in text
    assert "apply refuses them without --allow-destructive" in text


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


def test_json_plan_contract(project: Project) -> None:
    _three(project)
    plan = project.plan_json()
    assert plan["format_version"] == 1
    assert plan["tool"]["name"] == "reconciler" and plan["tool"]["version"]
    assert plan["target"] == "local"
    assert plan["specs_digest"].startswith("sha256:")
    assert set(plan["summary"]) == {"create", "update", "replace", "delete", "unchanged"}
    op = plan["operations"][0]
    assert {
        "action",
        "kind",
        "name",
        "key",
        "changes",
        "reasons",
        "warnings",
        "destructive",
        "live_fingerprint",
    } <= set(op)
