"""QualityMonitor through the CLI, against the sandbox, with the real databricks-sdk client.

Each row of the update-vs-replace decision table (README, "Lakehouse monitors") is a test: the plan
shows exactly the planned action, applying it leaves the sandbox's monitor equal to the spec, and
the spec re-plans to no changes right after apply and after the monitor turns ACTIVE.
"""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers import Project, run

from reconciler.kinds.fields import OnChange
from reconciler.kinds.quality_monitor import QualityMonitorKind, monitor_state
from reconciler.sandbox import SandboxServer, SandboxSettings
from reconciler.sandbox.databricks_monitors import add_refresh, edit_monitor, monitor_record

ORDERS = "main.sales.orders"
ACTIVE_DELAY = 0.3

BASE = """
output_schema_name: main.monitoring
assets_dir: /Shared/monitors/orders
time_series:
  timestamp_col: order_ts
  granularities: ["1 day"]
custom_metrics:
  - name: avg_price
    type: aggregate
    input_columns: [price]
    definition: "avg(`{{input_column}}`)"
  - name: total_quantity
    type: aggregate
    input_columns: [quantity]
    definition: "sum(`{{input_column}}`)"
slicing_exprs: [region]
schedule:
  quartz_cron_expression: "0 0 4 * * ?"
  timezone_id: UTC
warehouse_id: wh-1
"""


def monitor_doc(body: str = BASE, name: str = "orders", table: str = ORDERS, extra: str = "") -> str:
    spec = textwrap.indent(
        textwrap.dedent(body).strip() + ("\n" + textwrap.dedent(extra).strip() if extra else ""), "  "
    )
    return (
        "apiVersion: reconciler/v1\nkind: QualityMonitor\n"
        f"metadata:\n  name: {name}\nspec:\n  table_name: {table}\n{spec}\n"
    )


@pytest.fixture
def dbx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    settings = SandboxSettings(monitor_active_delay_seconds=ACTIVE_DELAY)
    with SandboxServer(tmp_path / "workspace.db", settings) as server:
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-test")
        yield server


class Monitors:
    """A spec project whose target is a workspace (the sandbox) reached by host + token."""

    def __init__(self, project: Project, server: SandboxServer, api: str = "legacy") -> None:
        self.project = project
        self.server = server
        self.api_name = api
        self.use_api(api)

    def use_api(self, api: str) -> None:
        """Point the target at one of the two monitor APIs (legacy | data_quality)."""
        self.api_name = api
        self.project.write(
            "reconciler.yaml",
            f"""
            project: test
            default_target: ws
            targets:
              ws:
                databricks: {{host: "{self.server.url}", retry_timeout_seconds: 5}}
                quality_monitors: {{api: {api}}}
            """,
        )

    def write(self, *docs: str) -> None:
        self.project.write("monitors.yaml", "---\n".join(docs))

    def cli(self, *args: str) -> Any:
        return self.project.cli(*args)

    def plan(self, *args: str) -> dict[str, Any]:
        return self.project.plan_json(*args)

    def apply(self, *args: str) -> Any:
        result = self.cli("apply", "--auto-approve", *args)
        assert result.exit_code == 0, result.output
        return result

    def api(self, table: str = ORDERS) -> dict[str, Any]:
        response = requests.get(
            f"{self.server.url}/api/2.1/unity-catalog/tables/{table}/monitor", headers={"Authorization": "Bearer x"}
        )
        response.raise_for_status()
        return response.json()

    def record(self, table: str = ORDERS) -> dict[str, Any]:
        record = monitor_record(self.server.state, table)
        assert record is not None
        return record

    def wait_active(self, table: str = ORDERS) -> None:
        deadline = time.monotonic() + 5
        while self.api(table)["status"] != "MONITOR_STATUS_ACTIVE":
            assert time.monotonic() < deadline
            time.sleep(0.05)

    def ledger(self) -> dict[str, Any]:
        response = requests.get(
            f"{self.server.url}/api/2.0/workspace/export",
            params={"path": "/Shared/.reconciler/test/ws/ledger.json", "direct_download": "true"},
            headers={"Authorization": "Bearer x"},
        )
        return response.json() if response.ok else {}

    def assert_matches(self, doc: str, table: str = ORDERS) -> None:
        """The sandbox's monitor equals the spec (in the normalised form the planner compares)."""
        from reconciler.kinds.kind_registry import KINDS
        from reconciler.specs.loader import load_specs

        specs = load_specs(self.project.root, kinds=KINDS)
        (res,) = [r for r in specs.resources if r.key == table]
        record = self.record(table)
        live = monitor_state(
            {
                **record["monitor_info"],
                "warehouse_id": record["warehouse_id"],
                "skip_builtin_dashboard": record["skip_builtin_dashboard"],
            }
        )
        assert live == res.state

    def assert_converged(self) -> None:
        again = self.cli("plan", "--detailed-exitcode")
        assert again.exit_code == 0, again.output
        self.wait_active()
        again = self.cli("plan", "--detailed-exitcode")
        assert again.exit_code == 0, again.output


@pytest.fixture
def mon(project: Project, dbx: SandboxServer) -> Monitors:
    return Monitors(project, dbx)


@pytest.fixture(params=["legacy", "data_quality"])
def mon_any(request: pytest.FixtureRequest, project: Project, dbx: SandboxServer) -> Monitors:
    """The decision table runs on both monitor APIs: same specs, same plans, same outcomes."""
    return Monitors(project, dbx, api=request.param)


def applied(mon: Monitors, body: str = BASE) -> None:
    mon.write(monitor_doc(body))
    mon.apply()
    mon.wait_active()


def change(body: str, old: str, new: str) -> str:
    assert old in body, old
    return body.replace(old, new)


# ---- create, no endless diff ---------------------------------------------------------------------


@pytest.mark.parametrize("api", ["legacy", "data_quality"])
def test_create_then_replan_is_clean_before_and_after_active(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api: str
) -> None:
    # Its own sandbox with a longer PENDING phase: "still PENDING right after apply" must not
    # depend on how fast a loaded machine runs the apply.
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-test")
    settings = SandboxSettings(monitor_active_delay_seconds=3.0)
    with SandboxServer(tmp_path / "slow.db", settings) as server:
        _create_then_replan(Monitors(project, server, api=api))


def _create_then_replan(mon_any: Monitors) -> None:
    mon_any.write(monitor_doc())
    plan = mon_any.plan()
    (op,) = plan["operations"]
    assert (op["action"], op["key"], op["destructive"]) == ("create", ORDERS, False)
    mon_any.apply()
    info = mon_any.api()
    assert info["status"] == "MONITOR_STATUS_PENDING"
    assert "warehouse_id" not in info  # write-only: never returned by get ...
    assert mon_any.record()["warehouse_id"] == "wh-1"  # ... but it was sent
    mon_any.assert_matches(monitor_doc())
    mon_any.assert_converged()  # ... and yet no endless diff: the ledger remembers it
    ledger = mon_any.ledger()
    assert ledger["objects"]["QualityMonitor"][ORDERS]["write_only"] == {
        "warehouse_id": "wh-1",
        "skip_builtin_dashboard": False,
    }
    assert ledger["managed_by"] == "reconciler/test"


def test_quality_monitor_sets_keyed_metrics_case_and_write_only(mon: Monitors) -> None:
    applied(mon, change(BASE, "slicing_exprs: [region]", "slicing_exprs: [region, channel]"))
    same = change(BASE, "slicing_exprs: [region]", "slicing_exprs: [channel, region]")
    same = change(same, "output_schema_name: main.monitoring", "output_schema_name: Main.Monitoring")
    # The metrics in another order (keyed by name), and the schedule's default pause status written out.
    first = '  - name: avg_price\n    type: aggregate\n    input_columns: [price]\n    definition: "avg(`{{input_column}}`)"\n'
    assert first in same
    same = change(same, first, "").replace("slicing_exprs:", first.rstrip("\n") + "\nslicing_exprs:", 1)
    same = change(same, "timezone_id: UTC", "timezone_id: UTC\n  pause_status: UNPAUSED")
    mon.write(monitor_doc(same))
    assert mon.cli("plan", "--detailed-exitcode").exit_code == 0, mon.cli("plan").output
    # warehouse_id is never returned: compared with the ledger, so a change is seen (and is a replace).
    mon.write(monitor_doc(change(same, "warehouse_id: wh-1", "warehouse_id: wh-2")))
    assert _changes(mon) == [("replace", "orders", ["warehouse_id"])]
    mon.write(monitor_doc(change(same, "slicing_exprs: [channel, region]", "slicing_exprs: [region]")))
    assert _changes(mon) == [("update", "orders", ["slicing_exprs"])]


def _changes(mon: Monitors) -> list[tuple[str, str, list[str]]]:
    ops = mon.plan()["operations"]
    return [(op["action"], op["name"], [c["path"] for c in op["changes"]]) for op in ops]


# ---- the decision table: updates ------------------------------------------------------------------

UPDATE_ROWS = [
    pytest.param(
        "custom_metrics:\n",
        'custom_metrics:\n  - name: max_discount\n    type: aggregate\n    input_columns: [discount]\n    definition: "max(`{{input_column}}`)"\n',
        "custom_metrics.max_discount",
        id="add a custom metric",
    ),
    pytest.param(
        '  - name: total_quantity\n    type: aggregate\n    input_columns: [quantity]\n    definition: "sum(`{{input_column}}`)"\n',
        "",
        "custom_metrics.total_quantity",
        id="remove a custom metric",
    ),
    pytest.param(
        "avg(`{{input_column}}`)",
        "avg(`{{input_column}}`) * 1.0",
        "custom_metrics.avg_price.definition",
        id="change a metric definition",
    ),
    pytest.param(
        "slicing_exprs: [region]", "slicing_exprs: [region, 'quantity > 10']", "slicing_exprs", id="slicing_exprs"
    ),
    pytest.param('"0 0 4 * * ?"', '"0 30 6 ? * MON-FRI"', "schedule.quartz_cron_expression", id="schedule"),
    pytest.param(
        "warehouse_id: wh-1",
        "warehouse_id: wh-1\nnotifications:\n  on_failure:\n    email_addresses: [a@example.com]",
        "notifications",
        id="notifications",
    ),
    pytest.param(
        "warehouse_id: wh-1",
        "warehouse_id: wh-1\nbaseline_table_name: main.sales.orders_baseline",
        "baseline_table_name",
        id="baseline_table_name",
    ),
    pytest.param(
        "warehouse_id: wh-1",
        "warehouse_id: wh-1\ndata_classification_config: {enabled: true}",
        "data_classification_config.enabled",
        id="data_classification_config",
    ),
    pytest.param(
        'granularities: ["1 day"]',
        'granularities: ["1 day", "1 hour"]',
        "time_series.granularities",
        id="time series settings",
    ),
    pytest.param(
        "output_schema_name: main.monitoring",
        "output_schema_name: main.sales",
        "output_schema_name",
        id="output_schema_name",
    ),
]


@pytest.mark.parametrize(("old", "new", "path"), UPDATE_ROWS)
def test_changes_the_update_call_takes_are_updates_that_keep_history(
    mon_any: Monitors, old: str, new: str, path: str
) -> None:
    requests.put(
        f"{mon_any.server.url}/sandbox/databricks/tables/main.sales.orders_baseline",
        json={"columns": [{"name": c["name"], "type": c["type_text"]} for c in _columns(mon_any)]},
    ).raise_for_status()
    applied(mon_any)
    add_refresh(mon_any.server.state, ORDERS, count=5)
    history = mon_any.record()["refresh_count"]
    body = change(BASE, old, new)
    mon_any.write(monitor_doc(body))
    if mon_any.api_name == "data_quality" and path.startswith("data_classification_config"):
        # The v1 API has no such field: a plan error at the field, never a silently dropped setting.
        refused = mon_any.cli("plan")
        assert refused.exit_code == 1 and "not available in the Data Quality v1 API" in refused.output
        return
    plan = mon_any.plan()
    (op,) = plan["operations"]
    assert (op["action"], op["destructive"]) == ("update", False), op
    assert path in [c["path"] for c in op["changes"]]
    mon_any.apply()  # no --allow-destructive needed
    mon_any.assert_matches(monitor_doc(body))
    assert mon_any.record()["refresh_count"] == history  # history kept
    assert int(mon_any.api()["monitor_version"]) == 2
    mon_any.assert_converged()


def _columns(mon: Monitors) -> list[dict[str, Any]]:
    response = requests.get(
        f"{mon.server.url}/api/2.1/unity-catalog/tables/{ORDERS}", headers={"Authorization": "Bearer x"}
    )
    return response.json()["columns"]


def test_inference_settings_within_the_profile_type_are_updates(mon_any: Monitors) -> None:
    body = """
    output_schema_name: main.monitoring
    assets_dir: /Shared/monitors/churn
    inference_log:
      problem_type: classification
      timestamp_col: ts
      granularities: ["1 day"]
      prediction_col: prediction
      model_id_col: model_id
    """
    table = "main.ml.churn_predictions"
    mon_any.write(monitor_doc(body, name="churn", table=table))
    mon_any.apply()
    new = change(textwrap.dedent(body), "model_id_col: model_id", "model_id_col: model_id\n  label_col: label")
    mon_any.write(monitor_doc(new, name="churn", table=table))
    (op,) = mon_any.plan()["operations"]
    assert op["action"] == "update" and [c["path"] for c in op["changes"]] == ["inference_log.label_col"]
    mon_any.apply()
    assert mon_any.api(table)["inference_log"]["label_col"] == "label"
    assert mon_any.cli("plan", "--detailed-exitcode").exit_code == 0


# ---- the decision table: replaces ------------------------------------------------------------------

REPLACE_ROWS = [
    pytest.param(
        "  - name: avg_price\n",
        "  - name: avg_unit_price\n    renamed_from: avg_price\n",
        "metric `avg_price` renamed to `avg_unit_price` (renamed_from): renaming requires recreating the monitor",
        id="rename a metric (renamed_from)",
    ),
    pytest.param(
        "  - name: avg_price\n",
        "  - name: avg_unit_price\n",
        "metric `avg_price` renamed to `avg_unit_price` (same type, input columns and definition)",
        id="rename a metric (detected)",
    ),
    pytest.param(
        "input_columns: [price]",
        "input_columns: [price, discount]",
        "metric `avg_price`: input_columns changes from [price] to [discount, price]",
        id="metric input_columns",
    ),
    pytest.param(
        '    type: aggregate\n    input_columns: [quantity]\n    definition: "sum(`{{input_column}}`)"',
        '    type: derived\n    input_columns: [quantity]\n    definition: "avg_price * 2"',
        "metric `total_quantity`: type changes from 'aggregate' to 'derived'",
        id="metric type",
    ),
    pytest.param(
        '    definition: "avg(`{{input_column}}`)"\n',
        '    definition: "avg(`{{input_column}}`)"\n    output_data_type: float\n',
        "metric `avg_price`: output_data_type changes from 'double' to 'float'",
        id="metric output_data_type",
    ),
    pytest.param(
        'time_series:\n  timestamp_col: order_ts\n  granularities: ["1 day"]',
        "snapshot: {}",
        "profile type changes from time series to snapshot: a monitor's profile type cannot be changed in place",
        id="profile type",
    ),
    pytest.param(
        "assets_dir: /Shared/monitors/orders",
        "assets_dir: /Shared/monitors/orders-v2",
        "assets_dir changes from '/Shared/monitors/orders' to '/Shared/monitors/orders-v2': the update call cannot change it",
        id="assets_dir",
    ),
    pytest.param(
        "warehouse_id: wh-1",
        "warehouse_id: wh-2",
        "warehouse_id changes from 'wh-1' to 'wh-2': the update call cannot change it",
        id="warehouse_id",
    ),
    pytest.param(
        "warehouse_id: wh-1",
        "warehouse_id: wh-1\nskip_builtin_dashboard: true",
        "skip_builtin_dashboard changes from False to True",
        id="skip_builtin_dashboard",
    ),
]


@pytest.mark.parametrize(("old", "new", "reason"), REPLACE_ROWS)
def test_changes_that_need_a_new_monitor_are_gated_replaces(mon_any: Monitors, old: str, new: str, reason: str) -> None:
    applied(mon_any)
    since = int(time.time() * 1000) - 40 * 86_400_000
    add_refresh(mon_any.server.state, ORDERS, count=7, since_ms=since)  # +1 initial refresh = 8
    body = change(BASE, old, new)
    mon_any.write(monitor_doc(body))

    plan = mon_any.plan()
    (op,) = plan["operations"]
    assert (op["action"], op["destructive"]) == ("replace", True), op
    assert any(reason in r for r in op["reasons"]), op["reasons"]
    warnings = " | ".join(op["warnings"])
    day = time.strftime("%Y-%m-%d", time.gmtime(since / 1000))
    assert f"8 refreshes since {day}" in warnings
    assert "main.monitoring.orders_profile_metrics and main.monitoring.orders_drift_metrics are dropped" in warnings
    assert "15-20 minutes" in warnings

    refused = mon_any.cli("apply", "--auto-approve")
    assert refused.exit_code == 1 and "--allow-destructive" in refused.output
    assert mon_any.record()["refresh_count"] == 8  # nothing touched

    mon_any.apply("--allow-destructive")
    mon_any.assert_matches(monitor_doc(body))
    assert mon_any.record()["refresh_count"] == 1  # a new monitor: only its initial refresh
    assert mon_any.api()["monitor_version"] == "1"
    mon_any.assert_converged()


def test_prevent_destroy_refuses_a_replace(mon: Monitors) -> None:
    body = BASE + "lifecycle: {prevent_destroy: true}\n"
    applied(mon, body)
    mon.write(monitor_doc(change(body, "warehouse_id: wh-1", "warehouse_id: wh-2")))
    refused = mon.cli("apply", "--auto-approve", "--allow-destructive")
    assert refused.exit_code == 1
    assert "prevent_destroy" in refused.output and "warehouse_id changes" in refused.output
    assert mon.record()["warehouse_id"] == "wh-1"


def test_table_change_recreates_the_monitor_on_the_new_table(mon: Monitors) -> None:
    applied(mon)
    body = change(BASE, 'time_series:\n  timestamp_col: order_ts\n  granularities: ["1 day"]', "snapshot: {}")
    body = change(body, "slicing_exprs: [region]", "slicing_exprs: []")
    body = "\n".join(
        line
        for line in body.splitlines()
        if "quantity" not in line
        and "price" not in line
        and "custom_metrics" not in line
        and "aggregate" not in line
        and "input_column" not in line
    )
    mon.write(monitor_doc(body, table="main.sales.customers"))
    (op,) = mon.plan()["operations"]
    assert op["action"] == "replace" and op["replaces_key"] == ORDERS and op["key"] == "main.sales.customers"
    assert "table_name changes from main.sales.orders to main.sales.customers" in op["reasons"][0]
    mon.apply("--allow-destructive")
    assert mon.api("main.sales.customers")["snapshot"] == {}
    assert monitor_record(mon.server.state, ORDERS) is None
    assert list(mon.ledger()["objects"]["QualityMonitor"]) == ["main.sales.customers"]


def test_failed_create_after_delete_says_how_to_finish(mon: Monitors) -> None:
    applied(mon)
    mon.write(monitor_doc(change(BASE, "warehouse_id: wh-1", "warehouse_id: wh-2")))
    requests.post(
        f"{mon.server.url}/sandbox/databricks/faults",
        json={
            "method": "POST",
            "path": f"/tables/{ORDERS}/monitor$",
            "status": 400,
            "error_code": "INVALID_STATE",
            "message": "quota exceeded",
        },
    ).raise_for_status()
    failed = mon.cli("apply", "--auto-approve", "--allow-destructive")
    assert failed.exit_code == 1
    assert "the old monitor on main.sales.orders was deleted, but creating the new one failed" in failed.output
    assert "quota exceeded" in failed.output
    assert f"reconciler apply {mon.project.root} --target ws --auto-approve" in failed.output
    assert monitor_record(mon.server.state, ORDERS) is None
    # The command it gives finishes the job: a plain create now.
    (op,) = mon.plan()["operations"]
    assert op["action"] == "create"
    mon.apply()
    assert mon.record()["warehouse_id"] == "wh-2"


# ---- ownership ------------------------------------------------------------------------------------


def _create_by_hand(mon: Monitors) -> None:
    requests.post(
        f"{mon.server.url}/api/2.1/unity-catalog/tables/{ORDERS}/monitor",
        headers={"Authorization": "Bearer x"},
        json={
            "output_schema_name": "main.monitoring",
            "assets_dir": "/Shared/monitors/orders",
            "time_series": {"timestamp_col": "order_ts", "granularities": ["1 day"]},
            "warehouse_id": "wh-1",
        },
    ).raise_for_status()


def test_unmanaged_monitor_stops_the_plan_until_imported(mon: Monitors) -> None:
    _create_by_hand(mon)
    mon.write(monitor_doc())
    refused = mon.cli("plan")
    assert refused.exit_code == 1
    assert "does not manage" in refused.output
    assert "reconciler import QualityMonitor main.sales.orders" in refused.output

    imported = run("import", "QualityMonitor", ORDERS, mon.project.root)
    assert imported.exit_code == 0, imported.output
    version = mon.api()["monitor_version"]
    assert mon.api()["monitor_version"] == version  # import changes nothing live

    (op,) = mon.plan()["operations"]
    assert op["action"] == "update"  # a normal diff: the metrics, slicing and schedule are missing
    assert {c["path"] for c in op["changes"]} >= {"custom_metrics", "slicing_exprs", "schedule"}
    mon.apply()
    mon.assert_matches(monitor_doc())
    mon.assert_converged()


def test_removing_a_spec_deletes_only_managed_monitors(mon: Monitors) -> None:
    customers = "output_schema_name: main.monitoring\nassets_dir: /Shared/monitors/customers\nsnapshot: {}\n"
    mon.write(monitor_doc(), monitor_doc(customers, name="customers", table="main.sales.customers"))
    mon.apply()
    add_refresh(mon.server.state, "main.sales.customers", count=3)
    mon.write(monitor_doc())
    (op,) = mon.plan()["operations"]
    assert (op["action"], op["key"], op["destructive"]) == ("delete", "main.sales.customers", True)
    assert any("4 refreshes" in w for w in op["warnings"])
    mon.apply("--allow-destructive")
    assert monitor_record(mon.server.state, "main.sales.customers") is None
    assert monitor_record(mon.server.state, ORDERS) is not None
    assert list(mon.ledger()["objects"]["QualityMonitor"]) == [ORDERS]


def test_monitors_outside_the_ledger_are_never_deleted(mon: Monitors) -> None:
    _create_by_hand(mon)  # on a table no spec declares and the ledger does not list
    mon.write(
        monitor_doc(BASE, name="customers", table="main.sales.customers")
        .replace("order_ts", "signup_date")
        .replace("[price]", "[lifetime_value]")
        .replace("[quantity]", "[lifetime_value]")
        .replace("[region]", "[segment]")
    )
    mon.apply()
    mon.write("")
    plan = mon.plan()
    assert [op["key"] for op in plan["operations"]] == ["main.sales.customers"]
    mon.apply("--allow-destructive")
    assert monitor_record(mon.server.state, ORDERS) is not None


# ---- plan-time errors -----------------------------------------------------------------------------


def test_missing_table_and_unknown_columns_are_plan_errors_with_lines(mon: Monitors) -> None:
    body = change(BASE, "timestamp_col: order_ts", "timestamp_col: created_at")
    body = change(body, "input_columns: [quantity]", "input_columns: [qty]")
    body = change(body, "slicing_exprs: [region]", "slicing_exprs: [region, \"segment = 'gold'\"]")
    mon.write(monitor_doc(body), monitor_doc(BASE, name="nope", table="main.sales.nope"))
    result = mon.cli("plan")
    assert result.exit_code == 1
    out = result.output
    assert (
        "monitors.yaml:10: spec.time_series.timestamp_col: timestamp column 'created_at' is not a column of main.sales.orders"
        in out
    )
    assert (
        "monitors.yaml:19: spec.custom_metrics[1].input_columns[0]: input column of metric `total_quantity` 'qty' is not a column"
        in out
    )
    assert "monitors.yaml:21: spec.slicing_exprs[1]: slicing expression column 'segment' is not a column" in out
    assert "spec.table_name: table main.sales.nope does not exist in Unity Catalog" in out
    assert monitor_record(mon.server.state, ORDERS) is None


def test_offline_validation_errors_name_file_and_line(project: Project) -> None:
    body = change(BASE, '["1 day"]', '["1 day", "2 hours"]')
    body = change(body, '"0 0 4 * * ?"', '"0 4 * * *"')
    body = change(body, 'definition: "avg(`{{input_column}}`)"', 'definition: "{{current_df}}.x"')
    duplicate = change(BASE, "  - name: total_quantity\n", "  - name: avg_price\n")
    project.write(
        "m.yaml",
        "---\n".join(
            [
                monitor_doc(body),
                monitor_doc(duplicate, name="dup", table="main.sales.customers"),
                monitor_doc(
                    "output_schema_name: main.monitoring\nassets_dir: /x",
                    name="noprofile",
                    table="main.ml.churn_predictions",
                ),
            ]
        ),
    )
    result = project.cli("validate")
    assert result.exit_code == 1
    out = result.output
    assert (
        "m.yaml:11: spec.time_series.granularities[1]: '2 hours' is not one of 5 minutes, 30 minutes, 1 hour, 1 day"
        in out
    )
    assert "m.yaml:16: spec.custom_metrics[0].definition: '{{current_df}}' is only available in drift metrics" in out
    assert (
        "m.yaml:23: spec.schedule.quartz_cron_expression: not a Quartz cron expression: expected 6 or 7 fields" in out
    )
    assert "m.yaml:43: spec.custom_metrics[1].name: metric name 'avg_price' is already used by custom_metrics[0]" in out
    assert "m.yaml:57: spec: exactly one profile type is required" in out


# ---- drift ----------------------------------------------------------------------------------------


def test_drift_reports_edits_and_deletes_behind_the_tools_back(mon: Monitors) -> None:
    customers = "output_schema_name: main.monitoring\nassets_dir: /Shared/monitors/customers\nsnapshot: {}\n"
    mon.write(monitor_doc(), monitor_doc(customers, name="customers", table="main.sales.customers"))
    mon.apply()
    assert mon.cli("drift").exit_code == 0

    metrics = mon.api()["custom_metrics"]
    metrics[0]["definition"] = "avg(`{{input_column}}`) * 100"
    edit_monitor(mon.server.state, ORDERS, {"custom_metrics": metrics})
    requests.delete(
        f"{mon.server.url}/api/2.1/unity-catalog/tables/main.sales.customers/monitor",
        headers={"Authorization": "Bearer x"},
    ).raise_for_status()

    result = mon.cli("drift", "--format", "json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    status = {o["name"]: o for o in report["objects"]}
    assert status["orders"]["status"] == "drifted"
    assert status["orders"]["changes"] == [
        {
            "path": "custom_metrics.avg_price.definition",
            "before": "avg(`{{input_column}}`) * 100",
            "after": "avg(`{{input_column}}`)",
        }
    ]
    assert status["customers"]["status"] == "missing"
    # And apply converges: the edit is reverted in place, the deleted monitor recreated.
    mon.apply()
    assert mon.cli("drift").exit_code == 0


# ---- after apply ----------------------------------------------------------------------------------


def test_wait_returns_when_active_and_metric_tables_exist(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Delays wide enough that a loaded machine still polls once while PENDING and once while the
    # metric tables are missing (they appear 2 s after ACTIVE; the poll interval grows to 1.7 s).
    settings = SandboxSettings(monitor_active_delay_seconds=1.5, extra={"metric_tables_delay_seconds": 2.0})
    with SandboxServer(tmp_path / "ws.db", settings) as server:
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-test")
        mon = Monitors(project, server)
        mon.write(monitor_doc())
        started = time.monotonic()
        result = mon.apply("--wait")
        assert time.monotonic() - started >= 3.5
        assert "main.sales.orders: MONITOR_STATUS_PENDING" in result.output
        assert "waiting for main.monitoring.orders_profile_metrics" in result.output
        assert "main.sales.orders: ACTIVE, metric tables ready" in result.output
        tables = requests.get(
            f"{server.url}/api/2.1/unity-catalog/tables/main.monitoring.orders_drift_metrics",
            headers={"Authorization": "Bearer x"},
        )
        assert tables.ok


def test_wait_surfaces_a_failed_monitor_and_times_out(mon: Monitors) -> None:
    mon.write(monitor_doc())
    mon.apply()
    edit_monitor(
        mon.server.state,
        ORDERS,
        {"status": "MONITOR_STATUS_FAILED", "latest_monitor_failure_msg": "Table has no rows in the last 30 days"},
    )
    mon.write(monitor_doc(change(BASE, "slicing_exprs: [region]", "slicing_exprs: [channel]")))
    failed = mon.cli("apply", "--auto-approve", "--wait")
    assert failed.exit_code == 1
    assert "MONITOR_STATUS_FAILED: Table has no rows in the last 30 days" in failed.output


def test_wait_is_bounded_by_a_timeout(project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with SandboxServer(tmp_path / "ws.db", SandboxSettings(monitor_active_delay_seconds=60)) as server:
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-test")
        mon = Monitors(project, server)
        mon.write(monitor_doc())
        slow = mon.cli("apply", "--auto-approve", "--wait", "--wait-timeout", "0.3")
        assert slow.exit_code == 1
        assert (
            "timed out after 0.3s waiting for 1 monitor(s) to be ready: main.sales.orders: MONITOR_STATUS_PENDING"
            in slow.output
        )
        assert "[ok] create QualityMonitor/orders" in slow.output  # the apply itself succeeded


def test_refresh_after_apply_starts_a_refresh(mon: Monitors) -> None:
    body = BASE + "refresh_after_apply: true\n"
    mon.write(monitor_doc(body))
    mon.apply()
    assert mon.record()["refresh_count"] == 2  # the initial one and ours
    mon.write(monitor_doc(change(body, "slicing_exprs: [region]", "slicing_exprs: [channel]")))
    mon.apply()
    refreshes = requests.get(
        f"{mon.server.url}/api/2.1/unity-catalog/tables/{ORDERS}/monitor/refreshes",
        headers={"Authorization": "Bearer x"},
    ).json()["refreshes"]
    assert len(refreshes) == 3 and refreshes[0]["trigger"] == "MANUAL"
    mon.apply()  # nothing to change: no refresh either
    assert mon.record()["refresh_count"] == 3


# ---- the field table is true of the sandbox --------------------------------------------------------


def test_field_table_matches_the_service(mon: Monitors) -> None:
    """Each top-level rule of the field table, checked against what the emulated API does."""
    applied(mon)
    info = mon.api()
    kind = QualityMonitorKind()
    put = f"{mon.server.url}/api/2.1/unity-catalog/tables/{ORDERS}/monitor"
    current = {k: info[k] for k in ("output_schema_name", "time_series", "custom_metrics", "slicing_exprs", "schedule")}
    for rule in kind.fields.rules:
        if "." in rule.path or rule.path in ("profile_type", "table_name"):
            continue
        if rule.server_owned:
            if rule.path != "latest_monitor_failure_msg":
                assert rule.path in info, rule.path  # returned by get, never diffed
        elif rule.write_only:
            assert rule.path not in info, rule.path  # never returned ...
            response = requests.put(put, json={**current, rule.path: "x"}, headers={"Authorization": "Bearer x"})
            assert response.status_code == 400, rule.path  # ... and not taken by update
        elif rule.change is OnChange.REPLACE:
            response = requests.put(
                put, json={**current, rule.path: "/elsewhere"}, headers={"Authorization": "Bearer x"}
            )
            assert response.ok and mon.api()[rule.path] == info[rule.path], rule.path  # update ignores it
        elif rule.change is OnChange.UPDATE and rule.path not in ("time_series", "snapshot", "inference_log"):
            assert rule.path in UPDATABLE_SAMPLES, rule.path
            response = requests.put(
                put, json={**current, rule.path: UPDATABLE_SAMPLES[rule.path]}, headers={"Authorization": "Bearer x"}
            )
            assert response.ok, (rule.path, response.text)
            assert mon.api()[rule.path] == UPDATABLE_SAMPLES[rule.path], rule.path


UPDATABLE_SAMPLES: dict[str, Any] = {
    "output_schema_name": "main.sales",
    "custom_metrics": [
        {
            "name": "m",
            "type": "CUSTOM_METRIC_TYPE_AGGREGATE",
            "input_columns": ["price"],
            "definition": "avg(price)",
            "output_data_type": "double",
        }
    ],
    "slicing_exprs": ["channel"],
    "schedule": {"quartz_cron_expression": "0 0 5 * * ?", "timezone_id": "UTC", "pause_status": "PAUSED"},
    "notifications": {"on_failure": {"email_addresses": ["x@example.com"]}},
    "baseline_table_name": "main.sales.orders",
    "data_classification_config": {"enabled": True},
}


def test_examples_apply_and_replan_cleanly_on_the_local_target(tmp_path: Path) -> None:
    from helpers import copy_examples

    specs = copy_examples(tmp_path)
    plan = json.loads(run("plan", specs, "--format", "json").stdout)
    kinds = {(op["kind"], op["action"]) for op in plan["operations"]}
    assert ("QualityMonitor", "create") in kinds
    monitors = [op for op in plan["operations"] if op["kind"] == "QualityMonitor"]
    assert {op["key"] for op in monitors} == {"main.sales.orders", "main.sales.customers", "main.ml.churn_predictions"}
    assert run("apply", specs, "--auto-approve", "--wait").exit_code == 0
    again = run("plan", specs, "--detailed-exitcode")
    assert again.exit_code == 0, again.output


# ---- saved plans, README ---------------------------------------------------------------------------


def test_saved_plan_survives_activation_but_not_an_edit(mon: Monitors) -> None:
    mon.write(monitor_doc())
    mon.apply()
    assert mon.api()["status"] == "MONITOR_STATUS_PENDING"
    mon.write(monitor_doc(change(BASE, "slicing_exprs: [region]", "slicing_exprs: [channel]")))
    plan_file = mon.project.root.parent / "plan.json"
    assert mon.cli("plan", "--out", plan_file).exit_code == 0
    mon.wait_active()  # status and dashboard move on their own: not a reason to refuse the plan
    assert mon.cli("apply", "--plan", plan_file, "--auto-approve").exit_code == 0
    assert mon.api()["slicing_exprs"] == ["channel"]

    mon.write(monitor_doc(change(BASE, "slicing_exprs: [region]", "slicing_exprs: [status]")))
    assert mon.cli("plan", "--out", plan_file).exit_code == 0
    edit_monitor(mon.server.state, ORDERS, {"schedule": None})  # someone edits it in the UI
    stale = mon.cli("apply", "--plan", plan_file, "--auto-approve")
    assert stale.exit_code == 1 and "plan is stale" in stale.output
    assert mon.api()["slicing_exprs"] == ["channel"]


def test_readme_documents_the_field_table_and_its_example_validates(tmp_path: Path) -> None:
    from helpers import REPO

    readme = (REPO / "README.md").read_text()
    assert QualityMonitorKind().fields.to_markdown() in readme
    example = readme.split("```yaml\n# yaml-language-server: $schema=../schemas/quality-monitor.schema.json\n", 1)[1]
    example = example.split("```", 1)[0]
    (tmp_path / "m.yaml").write_text(example)
    result = run("validate", tmp_path)
    assert result.exit_code == 0, result.output


def test_workspace_errors_are_messages_not_tracebacks(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SandboxServer(tmp_path / "ws.db", SandboxSettings(token="dapi-right")) as server:
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-wrong-secret")
        mon = Monitors(project, server)
        mon.write(monitor_doc())
        result = mon.cli("plan")
        assert result.exit_code == 1
        assert "Invalid access token" in result.output
        assert "dapi-wrong-secret" not in result.output
        assert "Traceback" not in result.output


def test_switching_the_monitor_api_plans_no_changes_and_identical_plans(mon: Monitors) -> None:
    applied(mon)  # created through the legacy API
    add_refresh(mon.server.state, ORDERS, count=7)
    mon.use_api("data_quality")
    assert mon.cli("plan", "--detailed-exitcode").exit_code == 0

    # The same edits plan the same operations, warnings and numbers whichever API reads the monitor.
    edits = [
        change(BASE, "slicing_exprs: [region]", "slicing_exprs: [region, channel]"),  # update
        change(BASE, "- name: avg_price", "- name: avg_unit_price"),  # rename: replace, history lost
    ]
    for body in edits:
        mon.write(monitor_doc(body))
        plans = {}
        for api in ("legacy", "data_quality"):
            mon.use_api(api)
            plans[api] = mon.plan()["operations"]
        assert plans["legacy"] == plans["data_quality"] and plans["legacy"], plans

    # Applied through v1, read back through legacy: converged.
    mon.use_api("data_quality")
    mon.write(monitor_doc(edits[0]))
    mon.apply()
    mon.assert_matches(monitor_doc(edits[0]))
    mon.use_api("legacy")
    assert mon.cli("plan", "--detailed-exitcode").exit_code == 0


def test_data_quality_api_reads_resolve_names_once_per_run(mon: Monitors) -> None:
    mon.use_api("data_quality")
    applied(mon)
    before = mon.server.request_counts()
    assert mon.cli("plan", "--detailed-exitcode").exit_code == 0
    after = mon.server.request_counts()
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
    gets = [k for k in delta if k.startswith("GET /api/data-quality/v1/monitors/table/")]
    assert gets and all(delta[k] == 1 for k in gets), delta
    assert not any(k.startswith("GET /api/2.1/unity-catalog/tables/main.sales.orders/monitor") for k in delta)
