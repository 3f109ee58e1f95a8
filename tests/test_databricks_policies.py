"""What only the Databricks policy store has: a table that may not exist yet, a warehouse that
pages, polls, fails and cancels, a configured table name, and SQL that never carries a value."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers import policy, run
from policy_stores import DBX_TOKEN, DBX_WAREHOUSE, StoreProject, control, databricks_project_file, make_store_project

from reconciler.kinds.sla_policy import compute_hash
from reconciler.sandbox import SandboxServer, SandboxSettings
from reconciler.uc_names import InvalidName, quote_table_name

NASTY = "it's \"quoted\"'; DROP TABLE main.sla_monitoring.query_sla_policies; --"


@pytest.fixture
def sandbox_server(tmp_path: Path) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path / "sandbox" / "sandbox.db", SandboxSettings()) as server:
        yield server


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox_server: SandboxServer) -> StoreProject:
    return make_store_project("databricks", tmp_path, monkeypatch, lambda: sandbox_server)


def statements(sandbox: SandboxServer) -> list[dict[str, Any]]:
    return control(sandbox, "statements", method="GET")["statements"]


def test_plan_against_a_missing_table_says_it_will_be_created_and_creates_nothing(
    project: StoreProject, sandbox_server: SandboxServer
) -> None:
    project.write("p.yaml", policy("a", ["wa"]) + "---\n" + policy("b", ["wb"]))
    plan = project.plan_json()
    assert plan["summary"]["create"] == 2
    assert plan["notes"] == [
        "SlaPolicy table `main`.`sla_monitoring`.`query_sla_policies` does not exist: apply will create it "
        "(CREATE TABLE IF NOT EXISTS ... USING DELTA on warehouse sandbox-warehouse)"
    ]
    text = project.cli("plan")
    assert "does not exist: apply will create it" in text.stdout
    drift = json.loads(project.cli("drift", "--format", "json").stdout)
    assert {o["status"] for o in drift["objects"]} == {"missing"}
    assert not project.store.exists()
    assert not any(s["statement"].lstrip().upper().startswith("CREATE TABLE") for s in statements(sandbox_server))

    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert project.store.exists()
    comment = project.store.query("SELECT comment FROM duckdb_tables() WHERE table_name = 'query_sla_policies'")
    assert "managed by reconciler" in comment[0]["comment"]
    again = project.plan_json()
    assert again["notes"] == [] and again["summary"]["unchanged"] == 2


def test_apply_into_a_missing_schema_fails_with_the_warehouses_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox_server: SandboxServer
) -> None:
    project = make_store_project("databricks", tmp_path, monkeypatch, lambda: sandbox_server)
    project.write("reconciler.yaml", databricks_project_file(sandbox_server.url, table="main.nowhere.policies"))
    project.write("p.yaml", policy("a", ["wa"]))
    assert "apply will create it" in project.cli("plan").stdout
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 1
    assert "[FAILED] create SlaPolicy/a" in result.stdout
    assert "[SCHEMA_NOT_FOUND] The schema `main`.`nowhere` cannot be found" in result.stdout


def test_no_value_is_ever_part_of_the_sql_text(project: StoreProject, sandbox_server: SandboxServer) -> None:
    project.write("p.yaml", policy("nasty", [NASTY, "wh-sentinel-1"], 4242, "SLA_BURST"))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.write("p.yaml", policy("nasty", [NASTY, "wh-sentinel-1"], 4343, "SLA_BURST"))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.remove("p.yaml")
    assert project.cli("apply", "--auto-approve", "--allow-destructive").exit_code == 0

    ours = [
        s for s in statements(sandbox_server) if "sla_monitoring" in s["statement"] and "policy_hash" in s["statement"]
    ]
    kinds = {s["statement"].split()[0].upper() for s in ours}
    assert {"SELECT", "MERGE", "DELETE"} <= kinds
    for s in ours:
        for value in ("wh-sentinel-1", "DROP TABLE", "4242", "4343", "SLA_BURST", "reconciler/test", "nasty"):
            assert value not in s["statement"], s["statement"]
    merges = [s for s in ours if s["statement"].startswith("MERGE")]
    bound = {p["name"]: p for p in merges[0]["parameters"]}
    assert json.loads(bound["warehouse_ids_0"]["value"]) == sorted([NASTY, "wh-sentinel-1"])
    assert bound["sla_seconds_0"] == {"name": "sla_seconds_0", "value": "4242", "type": "INT"}
    assert "`main`.`sla_monitoring`.`query_sla_policies`" in merges[0]["statement"]


def test_reads_page_through_every_result_chunk(project: StoreProject, sandbox_server: SandboxServer) -> None:
    control(sandbox_server, "config", {"chunk_row_limit": 2})
    project.write("p.yaml", "---\n".join(policy(f"p{i}", [f"w{i}"], 10 + i) for i in range(7)))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert len(project.rows()) == 7
    plan = project.plan_json()
    assert plan["summary"] == {"create": 0, "update": 0, "replace": 0, "delete": 0, "unchanged": 7}


def test_slow_statements_are_polled_to_completion(project: StoreProject, sandbox_server: SandboxServer) -> None:
    control(sandbox_server, "config", {"running_polls": 2})  # every statement answers RUNNING twice
    project.write("p.yaml", policy("a", ["wa"], 10))
    applied = project.cli("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    control(sandbox_server, "config", {"running_polls": 0})
    assert [r["sla_seconds"] for r in project.rows()] == [10]
    assert all(s["state"] == "SUCCEEDED" for s in statements(sandbox_server) if "MERGE" in s["statement"])


def test_a_statement_past_its_timeout_is_cancelled_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox_server: SandboxServer
) -> None:
    project = make_store_project("databricks", tmp_path, monkeypatch, lambda: sandbox_server)
    project.write(
        "reconciler.yaml", databricks_project_file(sandbox_server.url, extra="      statement_timeout_seconds: 1\n")
    )
    project.write("p.yaml", policy("a", ["wa"], 10))
    control(sandbox_server, "config", {"running_polls": 10_000})
    result = project.cli("plan")
    assert result.exit_code == 1
    assert "did not finish within 1 s (statement_timeout_seconds); it was cancelled" in result.stderr
    assert statements(sandbox_server)[-1]["state"] == "CANCELED"


def test_a_statement_cancelled_on_the_warehouse_fails_the_operation(
    project: StoreProject, sandbox_server: SandboxServer
) -> None:
    project.write("p.yaml", policy("a", ["wa"], 10))
    control(
        sandbox_server, "faults", {"statement_contains": "MERGE", "state": "CANCELED", "message": "admin", "times": 1}
    )
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 1
    assert "[FAILED] create SlaPolicy/a" in result.stdout and "statement CANCELED" in result.stdout
    assert project.cli("apply", "--auto-approve").exit_code == 0


def test_the_token_never_appears_in_output_or_plans(project: StoreProject, tmp_path: Path) -> None:
    project.write("p.yaml", policy("a", ["wa"]))
    planfile = tmp_path / "plan.json"
    outputs = [
        project.cli("plan", "--out", planfile).output,
        project.cli("apply", "--plan", planfile, "--auto-approve").output,
    ]
    outputs.append(project.cli("drift", "--format", "json").output)
    assert all(DBX_TOKEN not in o for o in outputs)
    assert DBX_TOKEN not in planfile.read_text()


@pytest.mark.parametrize(
    "table, problem",
    [
        ("sla_policies", "is not a three-part table name"),
        ("main.sla", "is not a three-part table name"),
        ("main.sla.t; DROP TABLE x", "is not a valid name part"),
        ("main.sla.`t`x`", "is not a valid name part"),
        ("main..t", "is not a valid name part"),
    ],
)
def test_table_name_is_validated_in_the_project_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox_server: SandboxServer, table: str, problem: str
) -> None:
    project = make_store_project("databricks", tmp_path, monkeypatch, lambda: sandbox_server)
    project.write("reconciler.yaml", databricks_project_file(sandbox_server.url, table=json.dumps(table)))
    project.write("p.yaml", policy("a", ["wa"]))
    result = project.cli("validate")
    assert result.exit_code == 1
    assert "reconciler.yaml:10: targets.dbx.policy_store.table:" in result.stderr, result.stderr
    assert problem in result.stderr


def test_table_names_are_back_quoted() -> None:
    assert quote_table_name("main.sla_monitoring.query_sla_policies") == "`main`.`sla_monitoring`.`query_sla_policies`"
    assert quote_table_name("`main`.`my-schema`.policies") == "`main`.`my-schema`.`policies`"
    with pytest.raises(InvalidName):
        quote_table_name("main.sla.po`licies")


def test_a_databricks_store_needs_a_databricks_connection(tmp_path: Path) -> None:
    root = tmp_path / "specs"
    root.mkdir()
    (root / "reconciler.yaml").write_text(
        "project: test\ndefault_target: prod\ntargets:\n  prod:\n    policy_store:\n      type: databricks\n"
        "      table: main.sla.policies\n      warehouse_id: abc\n"
    )
    project = StoreProject(root)
    project.write("p.yaml", policy("a", ["wa"]))
    result = project.cli("plan")
    assert result.exit_code == 1 and "configures no databricks connection" in result.stderr


def test_embedded_target_can_keep_policies_in_the_sandbox_warehouse(tmp_path: Path) -> None:
    root = tmp_path / "specs"
    root.mkdir()
    (root / "reconciler.yaml").write_text(
        "project: test\ntargets:\n  local:\n    embedded: true\n    policy_store:\n      type: databricks\n"
        "      table: main.default.query_sla_policies\n      warehouse_id: sandbox\n"
    )
    project = StoreProject(root)
    project.write("p.yaml", policy("a", ["wa"], 5))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert (root / ".reconciler" / "local" / "sandbox.duckdb").exists()
    assert not (root / ".reconciler" / "local" / "policies.db").exists()
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


WRONG_TOKEN = "dapi-wrong-secret-0123456789"


@pytest.mark.parametrize(
    "command",
    [("plan",), ("drift",), ("apply", "--auto-approve"), ("import", "SlaPolicy", compute_hash(["wa"]))],
    ids=lambda c: c[0],
)
def test_a_wrong_token_is_one_clear_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    with SandboxServer(tmp_path / "guarded.db", SandboxSettings(token="dapi-right")) as server:
        root = tmp_path / "specs"
        root.mkdir()
        project = StoreProject(root)
        project.write("reconciler.yaml", databricks_project_file(server.url))
        project.write("p.yaml", policy("a", ["wa"]))
        monkeypatch.setenv("DATABRICKS_TOKEN", WRONG_TOKEN)
        verb, *rest = command
        result = run(verb, *rest, root) if verb == "import" else project.cli(verb, *rest)
    assert result.exit_code == 1
    assert "Traceback" not in result.output and WRONG_TOKEN not in result.output
    (line,) = result.stderr.strip().splitlines()
    if verb == "apply":
        # apply's first call takes the target's lock (a workspace file for this store).
        assert line.startswith(
            "Error: taking the apply lock (workspace file /Shared/.reconciler/test/dbx/apply.lock) failed: "
            "PermissionDenied: "
        )
        return
    assert line.startswith(
        f"Error: running a statement on SQL warehouse {DBX_WAREHOUSE} at {server.url} failed: Unauthenticated: "
    )


def test_an_unreachable_workspace_is_one_clear_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "specs"
    root.mkdir()
    project = StoreProject(root)
    # Nothing listens on port 1; short SDK retries keep the test fast (the SDK retries for minutes by default).
    settings = "      retry_timeout_seconds: 1\n      http_timeout_seconds: 1\n"
    project.write(
        "reconciler.yaml",
        databricks_project_file("http://127.0.0.1:1").replace("      retry_timeout_seconds: 5\n", settings),
    )
    project.write("p.yaml", policy("a", ["wa"]))
    monkeypatch.setenv("DATABRICKS_TOKEN", WRONG_TOKEN)
    result = project.cli("plan")
    assert result.exit_code == 1
    assert "Traceback" not in result.output and WRONG_TOKEN not in result.output
    assert (
        f"Error: running a statement on SQL warehouse {DBX_WAREHOUSE} at http://127.0.0.1:1 failed: TimeoutError"
        in result.stderr
    )
    assert "Connection refused" in result.stderr


def test_missing_credentials_are_one_clear_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox_server: SandboxServer
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.databrickscfg to fall back on
    root = tmp_path / "specs"
    root.mkdir()
    project = StoreProject(root)
    project.write("reconciler.yaml", databricks_project_file(sandbox_server.url))
    project.write("p.yaml", policy("a", ["wa"]))
    result = project.cli("plan")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert (
        f"Error: connecting to the Databricks workspace of target 'dbx' ({sandbox_server.url}) failed: "
        in result.stderr
    )
    assert "cannot configure default credentials" in result.stderr


@pytest.mark.parametrize(
    "config, path, operation",
    [
        ({"running_polls": 1}, r"^/api/2\.0/sql/statements/[^/]+$", "polling statement"),
        ({"chunk_row_limit": 1}, r"/result/chunks/", "fetching result chunk 1 of statement"),
    ],
    ids=["poll", "chunk"],
)
def test_a_refused_poll_or_chunk_fetch_is_one_clear_error(
    project: StoreProject, sandbox_server: SandboxServer, config: dict[str, int], path: str, operation: str
) -> None:
    project.write("p.yaml", policy("a", ["wa"]) + "---\n" + policy("b", ["wb"]))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    control(sandbox_server, "config", config)
    fault = {
        "method": "GET",
        "path": path,
        "status": 403,
        "error_code": "PERMISSION_DENIED",
        "message": "Invalid access token.",
    }
    requests.post(f"{sandbox_server.url}/sandbox/databricks/faults", json=fault, timeout=5).raise_for_status()
    result = project.cli("plan")
    assert result.exit_code == 1 and DBX_TOKEN not in result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: {operation} ")
    assert (
        f"on SQL warehouse {DBX_WAREHOUSE} at {sandbox_server.url} failed: PermissionDenied: Invalid access token"
        in line
    )
