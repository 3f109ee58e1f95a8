"""Adopting an existing estate: `reconciler import --generate-specs` for monitors and SLA policies
created outside reconciler (through the SDK / SQL against the sandbox, as seed 004's notebooks
and seed 000's `add_sla_policy()` calls do), which must then plan no changes; `import` by spec
name; a legacy row for a declared warehouse set under another hash is a plan error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from databricks.sdk import WorkspaceClient
from databricks.sdk.core import Config
from databricks.sdk.service.catalog import (
    MonitorCronSchedule,
    MonitorDestination,
    MonitorInferenceLog,
    MonitorInferenceLogProblemType,
    MonitorMetric,
    MonitorMetricType,
    MonitorNotifications,
    MonitorSnapshot,
    MonitorTimeSeries,
)
from helpers import Project, policy, run
from policy_stores import StoreProject, make_store_project

from reconciler.kinds.sla_policy import compute_hash
from reconciler.sandbox import SandboxServer, SandboxSettings

# --- monitors ---------------------------------------------------------------------------------------


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Project, WorkspaceClient]]:
    with SandboxServer(tmp_path / "workspace.db", SandboxSettings()) as server:
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-test")
        project = Project(tmp_path / "specs")
        project.root.mkdir()
        project.write(
            "reconciler.yaml",
            f"""
            project: test
            default_target: ws
            targets:
              ws:
                databricks: {{host: "{server.url}", retry_timeout_seconds: 5}}
            """,
        )
        yield project, WorkspaceClient(config=Config(host=server.url, token="dapi-nb", retry_timeout_seconds=5))


def _notebook_monitors(w: WorkspaceClient) -> None:
    """What seed 004's notebook and job create: a time series monitor with metrics, slicing, a
    paused schedule and notifications; a snapshot monitor; an inference log monitor."""
    w.quality_monitors.create(
        table_name="main.sales.orders",
        output_schema_name="main.monitoring",
        assets_dir="/Shared/lakehouse_monitoring/orders",
        warehouse_id="wh-notebook",
        time_series=MonitorTimeSeries(timestamp_col="order_ts", granularities=["1 hour", "1 day"]),
        custom_metrics=[
            MonitorMetric(
                name="avg_price",
                definition="avg(`{{input_column}}`)",
                input_columns=["price"],
                output_data_type="double",
                type=MonitorMetricType.CUSTOM_METRIC_TYPE_AGGREGATE,
            )
        ],
        slicing_exprs=["region", "price > 100"],
        schedule=MonitorCronSchedule(quartz_cron_expression="0 0 4 * * ?", timezone_id="UTC"),
        notifications=MonitorNotifications(on_failure=MonitorDestination(email_addresses=["team@example.com"])),
    )
    w.quality_monitors.create(
        table_name="main.sales.customers",
        output_schema_name="main.monitoring",
        assets_dir="/Shared/lakehouse_monitoring/customers",
        snapshot=MonitorSnapshot(),
    )
    w.quality_monitors.create(
        table_name="main.ml.churn_predictions",
        output_schema_name="main.monitoring",
        assets_dir="/Shared/lakehouse_monitoring/churn",
        inference_log=MonitorInferenceLog(
            problem_type=MonitorInferenceLogProblemType.PROBLEM_TYPE_CLASSIFICATION,
            timestamp_col="ts",
            granularities=["1 day"],
            prediction_col="prediction",
            model_id_col="model_id",
            label_col="label",
        ),
    )


def _columns(w: WorkspaceClient, table: str) -> set[str]:
    return {c.name for c in w.tables.get(table).columns or [] if c.name}


def test_monitors_created_by_notebooks_are_adopted_and_plan_no_changes(ws: tuple[Project, WorkspaceClient]) -> None:
    project, w = ws
    assert {"prediction", "model_id", "label"} <= _columns(w, "main.ml.churn_predictions")
    _notebook_monitors(w)

    result = run("import", "QualityMonitor", "main.sales.*", project.root, "--generate-specs")
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (project.root / "quality-monitors").iterdir())
    assert written == ["customers.yaml", "orders.yaml"]  # the glob: main.ml is not touched
    assert "Imported QualityMonitor main.sales.orders" in result.output
    orders = yaml.safe_load((project.root / "quality-monitors" / "orders.yaml").read_text())
    assert orders["spec"]["slicing_exprs"] == ["region", "price > 100"]
    assert orders["spec"]["custom_metrics"][0]["type"] == "aggregate"

    plan = project.cli("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert "No changes" in plan.output

    # A wildcard in the catalog and schema lists them too; already declared tables are skipped.
    more = run("import", "QualityMonitor", "*.*.churn_*", project.root, "--generate-specs")
    assert more.exit_code == 0, more.output
    churn = yaml.safe_load((project.root / "quality-monitors" / "churn_predictions.yaml").read_text())
    assert churn["spec"]["inference_log"]["problem_type"] == "classification"
    plan = project.cli("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output

    # Now managed: a change to a spec plans an update of exactly that field.
    path = project.root / "quality-monitors" / "customers.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["spec"]["slicing_exprs"] = ["country"]
    path.write_text(yaml.safe_dump(doc))
    ops = project.plan_json()["operations"]
    assert [(o["action"], o["key"]) for o in ops] == [("update", "main.sales.customers")]


def test_monitor_import_by_spec_name(ws: tuple[Project, WorkspaceClient]) -> None:
    project, w = ws
    _notebook_monitors(w)
    project.write(
        "m.yaml",
        """
        apiVersion: reconciler/v1
        kind: QualityMonitor
        metadata: {name: customer-snapshot}
        spec:
          table_name: main.sales.customers
          output_schema_name: main.monitoring
          assets_dir: /Shared/lakehouse_monitoring/customers
          snapshot: {}
        """,
    )
    result = run("import", "QualityMonitor", "customer-snapshot", project.root)
    assert result.exit_code == 0, result.output
    assert "Imported QualityMonitor main.sales.customers" in result.output
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_monitor_glob_matching_nothing_is_an_error(ws: tuple[Project, WorkspaceClient]) -> None:
    project, _ = ws
    result = run("import", "QualityMonitor", "main.sales.*", project.root, "--generate-specs")
    assert result.exit_code == 1
    assert "no monitor exists on a table matching 'main.sales.*'" in result.output
    bad = run("import", "QualityMonitor", "sales", project.root, "--generate-specs")
    assert bad.exit_code == 1 and "catalog.schema.table glob" in bad.output


# --- SLA policies ------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql", "databricks"])
def store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    servers: list[SandboxServer] = []

    def start_sandbox() -> SandboxServer:
        servers.append(SandboxServer(tmp_path / "sandbox" / "sandbox.db", SandboxSettings()).start())
        return servers[-1]

    yield make_store_project(
        request.param, tmp_path, monkeypatch, start_sandbox, lambda: request.getfixturevalue("postgres_server")
    )
    for server in servers:
        server.stop()


def _framework_table(project: StoreProject) -> None:
    """A policy table as `add_sla_policy()` leaves it: rows without an owner. (The table is created
    the way reconciler creates it; the rows are then disowned and more are written by hand.)"""
    project.write("seed.yaml", policy("seed", ["wh-seed"], 60))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.remove("seed.yaml")
    project.sql("UPDATE {table} SET managed_by = NULL, spec_name = NULL")
    project.store.insert_row(compute_hash(["wh-b", "wh-a"]), ["wh-b", "wh-a"], 300, ["QUEUED", "RUNNING"], "SLA_BURST")
    project.store.insert_row(compute_hash(["wh-etl"]), ["wh-etl"], 1800, ["FAILED"], "ERROR")


def test_policy_rows_are_adopted_and_plan_no_changes(store: StoreProject) -> None:
    _framework_table(store)
    result = run("import", "SlaPolicy", "*", store.root, "--generate-specs", "--target", store.store.target)
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (store.root / "sla-policies").iterdir())
    assert written == ["policy-wh-a.yaml", "policy-wh-etl.yaml", "policy-wh-seed.yaml"]
    spec = yaml.safe_load((store.root / "sla-policies" / "policy-wh-etl.yaml").read_text())["spec"]
    assert spec == {
        "warehouse_ids": ["wh-etl"],
        "sla_seconds": 1800,
        "policy_mode": "ERROR",
        "included_statuses": ["FAILED"],
    }

    plan = store.cli("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    rows = store.rows()
    assert all(r["managed_by"] == "reconciler/test" for r in rows)
    assert {r["spec_name"] for r in rows} == {"policy-wh-a", "policy-wh-etl", "policy-wh-seed"}


def test_policy_import_by_spec_name(store: StoreProject) -> None:
    _framework_table(store)
    store.write("p.yaml", policy("etl", ["wh-etl"], 1800, "ERROR", extra="included_statuses: [FAILED]"))
    result = run("import", "SlaPolicy", "etl", store.root, "--target", store.store.target)
    assert result.exit_code == 0, result.output
    assert f"Imported SlaPolicy {compute_hash(['wh-etl'])}" in result.output
    assert store.cli("plan", "--detailed-exitcode").exit_code == 0


def test_legacy_hash_for_a_declared_warehouse_set_is_a_plan_error(store: StoreProject) -> None:
    _framework_table(store)
    legacy = "legacy-md5-0f2d"  # written by an older add_sla_policy() under another hash
    store.store.insert_row(legacy, ["wh-x", "wh-y"], 120, ["RUNNING"], "ALL")
    store.write("p.yaml", policy("xy", ["wh-y", "wh-x"], 120))
    plan = store.cli("plan")
    assert plan.exit_code == 1, plan.output
    assert "p.yaml:" in plan.output and "spec.warehouse_ids" in plan.output
    assert f"policy_hash {compute_hash(['wh-x', 'wh-y'])[:12]}" in plan.output
    assert "policy_hash legacy-md5-0" in plan.output and "second policy" in plan.output
    assert f"reconciler import SlaPolicy {legacy}" in plan.output

    adopted = run("import", "SlaPolicy", legacy, store.root, "--target", store.store.target)
    assert adopted.exit_code == 0, adopted.output
    ops = store.plan_json()["operations"]
    assert [(o["action"], o["key"]) for o in ops] == [("replace", compute_hash(["wh-x", "wh-y"]))]
    assert store.cli("apply", "--auto-approve").exit_code != 0  # destructive: gated
    assert store.cli("apply", "--auto-approve", "--allow-destructive").exit_code == 0
    hashes = {r["policy_hash"] for r in store.rows() if r["warehouse_ids"] in (["wh-x", "wh-y"], ["wh-y", "wh-x"])}
    assert hashes == {compute_hash(["wh-x", "wh-y"])}
    assert json.dumps(store.plan_json()["operations"]) == "[]"
