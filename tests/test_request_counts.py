"""The exact requests per `METHOD path` a no-change plan and a small apply make, per kind (#15).

Counted by the sandbox's request log in front of the real clients (grafana-client, the
Databricks SDK), so a change that adds a round trip per object shows up here as a count, not as a
slower benchmark. Where the APIs make a request unavoidable the count says why; where the code
still makes an avoidable one, a comment names it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from grafana_helpers import GrafanaProject, base
from helpers import Project, policy
from policy_stores import StoreProject, make_store_project

from reconciler.sandbox import SandboxServer, SandboxSettings

UC = "/api/2.1/unity-catalog"
RULES = "/api/v1/provisioning/alert-rules"
RULES_LIST = f"GET {RULES}"
STATES = "GET /api/prometheus/grafana/api/v1/rules"
LEDGER = "GET /api/v1/provisioning/templates/reconciler-ledger-test"


def counts(server: SandboxServer) -> dict[str, int]:
    return dict(sorted(server.request_counts().items()))


def monitor(name: str, table: str) -> str:
    return (
        "apiVersion: reconciler/v1\nkind: QualityMonitor\n"
        f"metadata: {{name: {name}}}\nspec:\n  table_name: {table}\n  output_schema_name: main.monitoring\n"
        f"  assets_dir: /Shared/monitors/{name}\n  snapshot: {{}}\n"
    )


@pytest.fixture
def workspace(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Project, SandboxServer]]:
    with SandboxServer(tmp_path / "ws.db", SandboxSettings()) as server:
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-test")
        project.write(
            "reconciler.yaml",
            f'project: test\ndefault_target: ws\ntargets:\n  ws:\n    databricks: {{host: "{server.url}"}}\n',
        )
        project.write(
            "monitors.yaml",
            monitor("orders", "main.sales.orders") + "---\n" + monitor("customers", "main.sales.customers"),
        )
        yield project, server


def test_quality_monitors_apply_and_no_change_plan(workspace: tuple[Project, SandboxServer]) -> None:
    project, server = workspace
    server.faults.reset_counts()
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert counts(server) == {
        "GET /.well-known/databricks-config": 1,
        # Workspace files: the ledger. AVOIDABLE: the ledger is downloaded and re-uploaded around
        # every monitor write (#15 wants it read once, written once per apply). Each of those 4
        # writes is made under the ledger's write lock: its lock file created (the first try
        # refused for want of the folder, which is then made) and removed.
        "GET /api/2.0/workspace/export": 5,
        "POST /api/2.0/workspace/import": 4 + 4 + 1,
        "POST /api/2.0/workspace/mkdirs": 1,
        "POST /api/2.0/workspace/delete": 4,
        # The output schema once per run, whatever the number of monitors writing to it.
        f"GET {UC}/schemas/main.monitoring": 1,
        # Creates: the table is checked to exist (and the columns the spec names).
        f"GET {UC}/tables/main.sales.customers": 1,
        f"GET {UC}/tables/main.sales.orders": 1,
        f"GET {UC}/tables/main.sales.customers/monitor": 1,
        f"GET {UC}/tables/main.sales.orders/monitor": 1,
        f"POST {UC}/tables/main.sales.customers/monitor": 1,
        f"POST {UC}/tables/main.sales.orders/monitor": 1,
    }

    server.faults.reset_counts()
    result = project.cli("plan", "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    # One GET per monitor is what the API makes unavoidable (it has no list call), and nothing
    # else per monitor: the table, columns and output schema the live monitor already uses are
    # not looked up again, the refresh history only for a replace or delete (below).
    assert counts(server) == {
        "GET /.well-known/databricks-config": 1,
        "GET /api/2.0/workspace/export": 1,  # the ledger, once
        f"GET {UC}/tables/main.sales.customers/monitor": 1,
        f"GET {UC}/tables/main.sales.orders/monitor": 1,
    }


def test_a_monitor_delete_still_reads_its_refresh_history_for_the_warning(
    workspace: tuple[Project, SandboxServer],
) -> None:
    project, server = workspace
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.write("monitors.yaml", monitor("orders", "main.sales.orders"))
    server.faults.reset_counts()
    result = project.cli("plan")
    assert result.exit_code == 0, result.output
    refreshes = {k: n for k, n in counts(server).items() if k.endswith("/refreshes")}
    # the deleted one's history is needed, the kept one's is not read
    assert refreshes == {f"GET {UC}/tables/main.sales.customers/monitor/refreshes": 1}
    # the loss warning carries the numbers of that one list_refreshes
    assert "its refresh history is lost: 1 refresh since" in result.output


def test_grafana_rules_apply_and_no_change_plan(gp: GrafanaProject) -> None:
    base(gp)  # one folder, one group of two rules
    server = gp.sandbox
    server.faults.reset_counts()
    result = gp.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert counts(server) == {
        RULES_LIST: 1,
        STATES: 1,
        # The run's read, and the re-read right before the folder's applied digest is written
        # under that version (another apply's entries are kept, never overwritten).
        LEDGER: 2,
        "PUT /api/v1/provisioning/templates/reconciler-ledger-test": 1,
        "GET /api/folders/alerts": 1,
        "POST /api/folders": 1,
        f"POST {RULES}": 2,  # one per created rule (the per-rule endpoint)
    }

    server.faults.reset_counts()
    result = gp.cli("plan", "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    # Rules from the one list call, each group's interval from the rule-state answer.
    assert counts(server) == {
        RULES_LIST: 1,
        STATES: 1,
        LEDGER: 1,
        # AVOIDABLE: one GET per in-scope folder (its version and parents), not from a folder list.
        "GET /api/folders/alerts": 1,
    }


def test_grafana_group_intervals_come_from_one_export_when_rule_state_is_refused(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grafana_helpers import TOKEN, grafana_refusing_rule_state

    monkeypatch.setenv("GRAFANA_TOKEN", TOKEN)  # restored after the test
    with grafana_refusing_rule_state(project, tmp_path / "denied.db") as gp:
        server = gp.sandbox
        base(gp)
        assert gp.cli("apply", "--auto-approve").exit_code == 0
        server.faults.reset_counts()
        result = gp.cli("plan", "--detailed-exitcode")
        assert result.exit_code == 0, result.output  # the interval read from the export matches
        assert counts(server) == {
            RULES_LIST: 1,
            STATES: 1,  # refused (403): the plan says the alert state is unknown
            f"GET {RULES}/export": 1,  # every group's interval, one call
            LEDGER: 1,
            "GET /api/folders/alerts": 1,
        }


@pytest.fixture
def policies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[StoreProject, SandboxServer]]:
    with SandboxServer(tmp_path / "sandbox" / "sandbox.db", SandboxSettings()) as server:
        yield make_store_project("databricks", tmp_path, monkeypatch, lambda: server), server


def test_sla_policies_on_databricks_apply_and_no_change_plan(policies: tuple[StoreProject, SandboxServer]) -> None:
    project, server = policies
    project.write("p.yaml", policy("a", ["wa"]) + "---\n" + policy("b", ["wb"]) + "---\n" + policy("c", ["wc"]))
    assert project.cli("apply", "--auto-approve").exit_code == 0  # creates the table
    project.write(
        "p.yaml", policy("a", ["wa"], 111) + "---\n" + policy("b", ["wb"], 222) + "---\n" + policy("c", ["wc"])
    )
    server.faults.reset_counts()
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert counts(server) == {
        "GET /.well-known/databricks-config": 1,
        # Workspace files (the apply lock beside the ledger): created (its folder exists by now), read, removed.
        "GET /api/2.0/workspace/export": 2,
        "POST /api/2.0/workspace/import": 1,
        "POST /api/2.0/workspace/delete": 1,
        # One SELECT, then one MERGE of both changed rows.
        "POST /api/2.0/sql/statements": 2,
    }

    server.faults.reset_counts()
    result = project.cli("plan", "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert counts(server) == {
        "GET /.well-known/databricks-config": 1,
        "GET /api/2.0/workspace/export": 1,  # one workspace-file read per run
        "POST /api/2.0/sql/statements": 1,  # the one SELECT
    }


def test_a_monitor_naming_a_new_column_looks_its_table_up_once(workspace: tuple[Project, SandboxServer]) -> None:
    project, server = workspace
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.write(
        "monitors.yaml",
        monitor("orders", "main.sales.orders")
        + "  slicing_exprs: [region]\n---\n"
        + monitor("customers", "main.sales.customers"),
    )
    server.faults.reset_counts()
    result = project.cli("plan")
    assert result.exit_code == 0, result.output
    catalog = {k: n for k, n in counts(server).items() if "/monitor" not in k and k.startswith("GET /api/2.1")}
    # only the table whose spec names a column its live monitor does not use yet
    assert catalog == {f"GET {UC}/tables/main.sales.orders": 1}
