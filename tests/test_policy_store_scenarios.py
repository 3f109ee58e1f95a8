"""One scenario suite, three SLA policy stores: embedded SQLite, PostgreSQL (a real server
started by the tests, through SQLAlchemy + psycopg) and a Databricks Delta table via a SQL
warehouse (the sandbox's, through the real SDK). Every scenario drives the CLI and must have the
same outcome on every store."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from helpers import import_hints, policy, run_printed
from policy_stores import StoreProject, make_store_project

from reconciler.sandbox import SandboxServer, SandboxSettings

NASTY = "it's \"quoted\"'; DROP TABLE query_sla_policies; --"


@pytest.fixture(params=["sqlite", "postgresql", "databricks"])
def project(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    servers: list[SandboxServer] = []

    def start_sandbox() -> SandboxServer:
        servers.append(SandboxServer(tmp_path / "sandbox" / "sandbox.db", SandboxSettings()).start())
        return servers[-1]

    yield make_store_project(
        request.param, tmp_path, monkeypatch, start_sandbox, lambda: request.getfixturevalue("postgres_server")
    )
    for server in servers:
        server.stop()


def _three(project: StoreProject) -> None:
    project.write(
        "policies.yaml",
        policy("bi", ["wh-b", "wh-a"], 300, "SLA_BURST")
        + "---\n"
        + policy("etl", ["wh-etl"], 1800)
        + "---\n"
        + policy("adhoc", ["wh-adhoc"], 900, "ERROR", extra="included_statuses: [FAILED]"),
    )


def _by_name(project: StoreProject) -> dict[str, dict[str, Any]]:
    return {r["spec_name"]: r for r in project.rows()}


def test_create_then_no_changes(project: StoreProject) -> None:
    _three(project)
    plan = project.cli("plan", "--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    assert "3 to create" in plan.stdout
    assert project.rows() == []  # a plan writes nothing

    applied = project.cli("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "Apply complete: 3 operation(s) succeeded" in applied.stdout
    rows = _by_name(project)
    assert set(rows) == {"bi", "etl", "adhoc"}
    assert rows["bi"]["warehouse_ids"] == ["wh-a", "wh-b"]
    assert rows["adhoc"]["policy_mode"] == "ERROR" and rows["adhoc"]["query_statuses"] == ["FAILED"]
    assert rows["etl"]["query_statuses"] == ["FAILED", "FINISHED", "QUEUED", "RUNNING"]
    assert rows["bi"]["managed_by"] == "reconciler/test" and rows["bi"]["prevent_destroy"] is False
    assert all(r["applied_at"] for r in rows.values())

    again = project.cli("plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "No changes" in again.stdout


def test_update_is_one_field_of_one_policy(project: StoreProject) -> None:
    _three(project)
    project.cli("apply", "--auto-approve")
    project.write(
        "policies.yaml", (project.root / "policies.yaml").read_text().replace("sla_seconds: 1800", "sla_seconds: 3600")
    )
    plan = project.plan_json()
    assert plan["summary"] == {"create": 0, "update": 1, "replace": 0, "delete": 0, "unchanged": 2}
    (op,) = plan["operations"]
    assert (op["action"], op["name"], op["destructive"]) == ("update", "etl", False)
    assert op["changes"] == [{"path": "sla_seconds", "before": 1800, "after": 3600}]
    ids_before = {r["spec_name"]: r["policy_id"] for r in project.rows()}
    assert project.cli("apply", "--auto-approve").exit_code == 0
    rows = _by_name(project)
    assert rows["etl"]["sla_seconds"] == 3600
    assert {n: r["policy_id"] for n, r in rows.items()} == ids_before  # updated in place
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_replace_when_warehouses_change_is_gated(project: StoreProject) -> None:
    _three(project)
    project.cli("apply", "--auto-approve")
    project.write(
        "policies.yaml", (project.root / "policies.yaml").read_text().replace('["wh-etl"]', '["wh-etl", "wh-etl-2"]')
    )
    (op,) = project.plan_json()["operations"]
    assert op["action"] == "replace" and op["destructive"] is True
    assert any("identity hash differs" in r for r in op["reasons"]) and op["warnings"]

    before = project.rows()
    refused = project.cli("apply", "--auto-approve")
    assert refused.exit_code == 1 and "--allow-destructive" in refused.output
    assert project.rows() == before

    done = project.cli("apply", "--auto-approve", "--allow-destructive")
    assert done.exit_code == 0, done.output
    etl = [r for r in project.rows() if r["spec_name"] == "etl"]
    assert len(etl) == 1 and etl[0]["warehouse_ids"] == ["wh-etl", "wh-etl-2"]
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_delete_when_a_spec_is_removed_is_gated(project: StoreProject) -> None:
    _three(project)
    project.cli("apply", "--auto-approve")
    project.write(
        "policies.yaml", policy("bi", ["wh-b", "wh-a"], 300, "SLA_BURST") + "---\n" + policy("etl", ["wh-etl"], 1800)
    )
    (op,) = project.plan_json()["operations"]
    assert (op["action"], op["name"], op["destructive"]) == ("delete", "adhoc", True)

    refused = project.cli("apply", "--auto-approve")
    assert refused.exit_code == 1 and "delete SlaPolicy/adhoc" in refused.output
    assert len(project.rows()) == 3
    assert project.cli("apply", "--auto-approve", "--allow-destructive").exit_code == 0
    assert {r["spec_name"] for r in project.rows()} == {"bi", "etl"}


def test_prevent_destroy_is_recorded_and_enforced(project: StoreProject) -> None:
    project.write("p.yaml", policy("vault", ["wh-v"], 60, extra="lifecycle:\n  prevent_destroy: true"))
    project.cli("apply", "--auto-approve")
    assert project.rows()[0]["prevent_destroy"] is True
    project.remove("p.yaml")
    delete = project.cli("apply", "--auto-approve", "--allow-destructive")
    assert delete.exit_code == 1 and "prevent_destroy" in delete.output
    assert [r["spec_name"] for r in project.rows()] == ["vault"]


def test_drift_names_what_changed_behind_gits_back(project: StoreProject) -> None:
    _three(project)
    project.cli("apply", "--auto-approve")
    assert project.cli("drift").exit_code == 0

    project.sql("UPDATE {table} SET sla_seconds = :s WHERE spec_name = :n", s=5, n="bi")
    drift = project.cli("drift")
    assert drift.exit_code == 2
    assert "drifted" in drift.stdout and "SlaPolicy/bi" in drift.stdout and "sla_seconds" in drift.stdout
    report = json.loads(project.cli("drift", "--format", "json").stdout)
    (entry,) = [o for o in report["objects"] if o["status"] == "drifted"]
    assert entry["name"] == "bi" and entry["changes"] == [{"path": "sla_seconds", "before": 5, "after": 300}]

    project.sql("DELETE FROM {table} WHERE spec_name = :n", n="etl")
    statuses = {o["name"]: o["status"] for o in json.loads(project.cli("drift", "--format", "json").stdout)["objects"]}
    assert statuses["etl"] == "missing" and statuses["adhoc"] == "in_sync"

    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert project.cli("drift").exit_code == 0


def test_unmanaged_row_is_shown_never_touched(project: StoreProject) -> None:
    _three(project)
    project.cli("apply", "--auto-approve")
    project.store.insert_row("handmade", ["wh-z"], 42, ["FAILED"], "ERROR")
    plan = project.cli("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert "Unmanaged" in plan.stdout and "wh-z" in plan.stdout
    drift = project.cli("drift")
    assert drift.exit_code == 0 and "unmanaged" in drift.stdout

    project.write("policies.yaml", policy("bi", ["wh-b", "wh-a"], 300, "SLA_BURST"))
    assert project.cli("apply", "--auto-approve", "--allow-destructive").exit_code == 0
    (handmade,) = [r for r in project.rows() if r["policy_hash"] == "handmade"]
    assert handmade["sla_seconds"] == 42 and handmade["managed_by"] is None


def test_spec_matching_an_unmanaged_row_stops_until_imported(project: StoreProject) -> None:
    project.write("p.yaml", policy("legacy", ["wh-l"], 120))
    project.cli("apply", "--auto-approve")
    project.sql("UPDATE {table} SET managed_by = NULL, spec_name = NULL, sla_seconds = :s", s=100)
    key = project.rows()[0]["policy_hash"]

    plan = project.cli("plan")
    assert plan.exit_code == 1
    assert "does not manage" in plan.output
    target = project.store.target
    (hint,) = import_hints(plan.output)
    assert hint == shlex.join(["reconciler", "import", "SlaPolicy", key, str(project.root), "--target", target])

    imported = run_printed(hint)
    assert imported.exit_code == 0, imported.output
    assert project.rows()[0]["managed_by"] == "reconciler/test"
    (op,) = project.plan_json()["operations"]
    assert op["action"] == "update" and op["changes"] == [{"path": "sla_seconds", "before": 100, "after": 120}]


def test_saved_plan_applies_exactly_or_is_stale(project: StoreProject, tmp_path: Path) -> None:
    project.write("p.yaml", policy("a", ["wa"], 100))
    fresh = tmp_path / "fresh.json"
    assert project.cli("plan", "--out", fresh).exit_code == 0
    assert project.cli("apply", "--plan", fresh, "--auto-approve").exit_code == 0
    assert [r["sla_seconds"] for r in project.rows()] == [100]

    project.write("p.yaml", policy("a", ["wa"], 200))
    stale = tmp_path / "stale.json"
    project.cli("plan", "--out", stale)
    project.sql("UPDATE {table} SET sla_seconds = :s", s=150)
    result = project.cli("apply", "--plan", stale, "--auto-approve")
    assert result.exit_code == 1
    assert "plan is stale" in result.stderr and "SlaPolicy/a" in result.stderr
    assert [r["sla_seconds"] for r in project.rows()] == [150]


def test_saved_create_plan_is_stale_once_the_row_exists(project: StoreProject, tmp_path: Path) -> None:
    project.write("p.yaml", policy("a", ["wa"]))
    planfile = tmp_path / "plan.json"
    project.cli("plan", "--out", planfile)
    project.cli("apply", "--auto-approve")
    result = project.cli("apply", "--plan", planfile, "--auto-approve")
    assert result.exit_code == 1 and "plan is stale" in result.stderr


def test_quotes_and_sql_in_values_are_stored_verbatim(project: StoreProject) -> None:
    project.write("p.yaml", policy("nasty", [NASTY, "wh-ok"], 77))
    applied = project.cli("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    (row,) = project.rows()
    assert row["warehouse_ids"] == sorted([NASTY, "wh-ok"])
    assert project.store.exists()
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0

    project.write("p.yaml", policy("nasty", [NASTY, "wh-ok"], 78))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert [r["sla_seconds"] for r in project.rows()] == [78]
    project.remove("p.yaml")
    assert project.cli("apply", "--auto-approve", "--allow-destructive").exit_code == 0
    assert project.rows() == [] and project.store.exists()


def test_failed_write_fails_the_whole_batch_and_a_rerun_converges(project: StoreProject) -> None:
    # An apply's rows are written together (one statement, one transaction): one row refused
    # means none is written, and each operation of the batch reports the store's error.
    project.write("p.yaml", policy("seed", ["w0"]))
    project.cli("apply", "--auto-approve")
    project.store.reject_writes(666, "disk quota exceeded")
    project.write(
        "p.yaml",
        policy("seed", ["w0"])
        + "---\n"
        + policy("a", ["w1"], 10)
        + "---\n"
        + policy("b", ["w2"], 666)
        + "---\n"
        + policy("c", ["w3"], 30),
    )
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 1
    for name in ("a", "b", "c"):
        assert f"[FAILED] create SlaPolicy/{name}" in result.stdout
    assert result.stdout.count("disk quota exceeded") >= 3
    assert {r["spec_name"] for r in project.rows()} == {"seed"}

    project.store.accept_writes()
    rerun = project.cli("apply", "--auto-approve")
    assert rerun.exit_code == 0, rerun.output
    assert "3 operation(s) succeeded" in rerun.stdout
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_a_framework_table_gets_ownership_columns_only_with_allow_migrate(
    project: StoreProject, tmp_path: Path
) -> None:
    project.store.create_framework_table()
    project.store.insert_row("framework-row", ["wh-f"], 60, ["FAILED"], "ERROR")
    idle = project.plan_json()
    assert idle["operations"] == [] and idle["migrations"] == []  # nothing to write: nothing to migrate
    assert any("no ownership column(s) managed_by, spec_name, prevent_destroy, applied_at" in n for n in idle["notes"])

    project.write("p.yaml", policy("a", ["w1"], 10))
    planfile = tmp_path / "plan.json"
    assert project.cli("plan", "--out", planfile).exit_code == 0
    plan = json.loads(planfile.read_text())
    (migration,) = plan["migrations"]
    assert migration["kind"] == "SlaPolicy" and "managed_by" in migration["description"]
    assert all("ADD COLUMN" in s for s in migration["statements"]) and migration["statements"]
    assert [u["key"] for u in plan["unmanaged"]] == ["framework-row"]
    text = project.cli("plan").stdout
    assert "--allow-migrate" in text and "ADD COLUMN" in text

    before = project.rows()
    refused = project.cli("apply", "--plan", planfile, "--auto-approve")
    assert refused.exit_code == 1 and "--allow-migrate" in refused.output and "nothing was applied" in refused.output
    assert project.rows() == before and "managed_by" not in before[0]

    done = project.cli("apply", "--plan", planfile, "--auto-approve", "--allow-migrate")
    assert done.exit_code == 0, done.output
    assert "[ok] migrate SlaPolicy" in done.stdout and "[ok] create SlaPolicy/a" in done.stdout
    rows = {r["policy_hash"]: r for r in project.rows()}
    assert rows["framework-row"]["managed_by"] is None and rows["framework-row"]["sla_seconds"] == 60
    (ours,) = [r for r in rows.values() if r["spec_name"] == "a"]
    assert ours["managed_by"] == "reconciler/test" and ours["sla_seconds"] == 10

    # The framework's own writes, which know nothing of the new columns, keep working.
    project.store.insert_row("framework-row-2", ["wh-g"], 30, ["QUEUED"], "ALL")
    again = project.plan_json()
    assert again["operations"] == [] and again["migrations"] == []
    assert not any("ownership column" in n for n in again["notes"])


def test_importing_from_a_framework_table_migrates_only_with_allow_migrate(project: StoreProject) -> None:
    from reconciler.kinds.sla_policy import compute_hash

    project.store.create_framework_table()
    key = compute_hash(["wh-l"])
    project.store.insert_row(key, ["wh-l"], 100, ["FAILED"], "ERROR")
    project.write("p.yaml", policy("legacy", ["wh-l"], 120))
    plan = project.cli("plan")
    assert plan.exit_code == 1 and "does not manage" in plan.output

    command = shlex.join(
        ["reconciler", "import", "SlaPolicy", key, str(project.root), "--target", project.store.target]
    )
    refused = run_printed(command)
    assert refused.exit_code == 1 and "--allow-migrate" in refused.output, refused.output
    assert "managed_by" not in project.rows()[0]

    imported = run_printed(command + " --allow-migrate")
    assert imported.exit_code == 0, imported.output
    assert "Migrated SlaPolicy" in imported.output
    (row,) = project.rows()
    assert row["managed_by"] == "reconciler/test" and row["sla_seconds"] == 100
    (op,) = project.plan_json()["operations"]
    assert op["action"] == "update" and {c["path"] for c in op["changes"]} >= {"sla_seconds"}


def test_a_concurrent_writer_between_plan_and_apply_is_never_overwritten(project: StoreProject) -> None:
    """Another writer inserts the same policy between this plan's read and its write: the upsert's
    owner guard leaves that row alone and the operation fails, saying so."""
    from reconciler.apply.applier import OpStatus, execute
    from reconciler.engine import Session

    project.write("p.yaml", policy("a", ["w1"], 10))
    project.cli("apply", "--auto-approve")  # the table exists
    project.write("p.yaml", policy("a", ["w1"], 10) + "---\n" + policy("b", ["w2"], 20))
    with Session(project.root) as session:
        plan, live = session.plan()
        (op,) = plan.operations
        project.store.insert_row(op.key, ["w2"], 99, ["FAILED"], "ERROR")  # someone else, meanwhile
        report = execute(plan, session, live)
    (result,) = report.results
    assert result.status is OpStatus.FAILED and result.error and "not managed by reconciler/test" in result.error
    (theirs,) = [r for r in project.rows() if r["policy_hash"] == op.key]
    assert theirs["sla_seconds"] == 99 and theirs["managed_by"] is None
