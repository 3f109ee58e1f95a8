"""The exact requests per `METHOD path` a no-change plan and a small apply make, per kind (#15).

Counted by the sandbox's request log in front of the real clients (grafana-client, the
Databricks SDK), so a change that adds a round trip per object shows up here as a count, not as a
slower benchmark. Where the APIs make a request unavoidable the count says why; where the code
still makes an avoidable one, a comment names it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from grafana_helpers import GrafanaProject, base
from helpers import Project, SandboxTarget, ledger_entries, policy
from policy_stores import StoreProject, make_store_project

from reconciler.sandbox import SandboxServer, SandboxSettings

UC = "/api/2.1/unity-catalog"
RULES = "/api/v1/provisioning/alert-rules"
RULES_LIST = f"GET {RULES}"
STATES = "GET /api/prometheus/grafana/api/v1/rules"
LEDGER = "GET /api/v1/provisioning/templates/reconciler-ledger-test"
LEDGER_FILE = "/Shared/.reconciler/test/ws/ledger.json"


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
        # Workspace files: the ledger, read once by the plan, then changed twice whatever the
        # number of monitors (#15): the intents of both creates before them, their confirmation
        # after. Each change under the ledger's write lock: the lock file created (the first try
        # refused for want of the folder, which is then made), the ledger re-read and uploaded,
        # the lock removed.
        "GET /api/2.0/workspace/export": 1 + 2,
        "POST /api/2.0/workspace/import": 2 + 1 + 2,
        "POST /api/2.0/workspace/mkdirs": 1,
        "POST /api/2.0/workspace/delete": 2,
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
        # The run's read, the re-read right before the folder's applied digest is written under
        # that version (another apply's entries are kept, never overwritten), and, the ledger
        # being new, once more inside its creation guard (a mute timing made and removed).
        LEDGER: 3,
        "POST /api/v1/provisioning/mute-timings": 1,
        "DELETE /api/v1/provisioning/mute-timings/reconciler-ledger-test": 1,
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


ESTATE = [f"main.estate.t{i}" for i in range(6)]
EXPORT, IMPORT, REMOVE = (
    "GET /api/2.0/workspace/export",
    "POST /api/2.0/workspace/import",
    "POST /api/2.0/workspace/delete",
)


def estate_monitors(tables: list[str], slicing: dict[str, str] | None = None) -> str:
    slicing = slicing or {}
    return "---\n".join(
        monitor(table.rsplit(".", 1)[1], table) + (f"  slicing_exprs: [{slicing[table]}]\n" if table in slicing else "")
        for table in tables
    )


def test_a_monitor_estate_apply_writes_the_ledger_twice_whatever_its_size(
    sandbox_target: Callable[..., SandboxTarget],
) -> None:
    target = sandbox_target(databricks="", retries=None, tables=ESTATE, columns=("id", "region"))
    project, server = target.project, target.server
    project.write("monitors.yaml", estate_monitors(ESTATE[:5]))
    server.faults.reset_counts()
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    tables = {f"GET {UC}/tables/{t}": 1 for t in ESTATE[:5]}
    gets = {f"GET {UC}/tables/{t}/monitor": 1 for t in ESTATE[:5]}
    creates = {f"POST {UC}/tables/{t}/monitor": 1 for t in ESTATE[:5]}
    assert counts(server) == {
        "GET /.well-known/databricks-config": 1,
        # The ledger: read once by the plan, changed twice (the 5 intents, their 5 confirmations).
        EXPORT: 1 + 2,
        IMPORT: 2 + 1 + 2,  # lock files (one refused for want of the folder) + the ledger uploads
        "POST /api/2.0/workspace/mkdirs": 1,
        REMOVE: 2,  # the lock files
        f"GET {UC}/schemas/main.monitoring": 1,
        **tables,
        **gets,
        **creates,
    }

    server.faults.reset_counts()
    result = project.cli("plan", "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert counts(server) == {"GET /.well-known/databricks-config": 1, EXPORT: 1, **gets}

    # An update, a delete and a create in one apply: still two ledger changes, no lock folder to make.
    project.write("monitors.yaml", estate_monitors([*ESTATE[1:5], ESTATE[5]], slicing={ESTATE[1]: "region"}))
    server.faults.reset_counts()
    result = project.cli("apply", "--auto-approve", "--allow-destructive")
    assert result.exit_code == 0, result.output
    assert counts(server) == {
        "GET /.well-known/databricks-config": 1,
        EXPORT: 1 + 2,
        IMPORT: 2 + 2,
        REMOVE: 2,
        **{f"GET {UC}/tables/{t}/monitor": 1 for t in ESTATE},
        # the deleted monitor's refresh history, for its loss warning
        f"GET {UC}/tables/{ESTATE[0]}/monitor/refreshes": 1,
        f"DELETE {UC}/tables/{ESTATE[0]}/monitor": 1,
        # the updated monitor names a column its live monitor did not use: its table is checked
        f"GET {UC}/tables/{ESTATE[1]}": 1,
        f"PUT {UC}/tables/{ESTATE[1]}/monitor": 1,
        # the created one: its table and output schema checked
        f"GET {UC}/tables/{ESTATE[5]}": 1,
        f"GET {UC}/schemas/main.monitoring": 1,
        f"POST {UC}/tables/{ESTATE[5]}/monitor": 1,
    }
    plan = project.cli("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert sorted(ledger_entries(server, path=LEDGER_FILE, token="dapi-test")) == sorted(ESTATE[1:])


def test_a_monitor_plan_reads_the_same_whatever_the_parallelism(sandbox_target: Callable[..., SandboxTarget]) -> None:
    target = sandbox_target(databricks="", retries=None, tables=ESTATE, columns=("id", "region"))
    project = target.project
    project.write("monitors.yaml", estate_monitors(ESTATE[:4]))
    assert project.cli("apply", "--auto-approve", "--parallelism", "4").exit_code == 0
    project.write("monitors.yaml", estate_monitors(ESTATE[1:], slicing=dict.fromkeys(ESTATE[::2], "region")))
    plans = [project.cli("plan", "--parallelism", str(n)) for n in (1, 10)]
    assert plans[0].exit_code == 0, plans[0].output
    assert plans[0].output == plans[1].output
