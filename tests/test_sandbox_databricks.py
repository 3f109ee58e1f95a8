"""The Databricks emulators, driven through the real databricks-sdk client.

Each test uses `WorkspaceClient(host=sandbox.url, token=...)` exactly as reconciler's provider does,
so what passes here is what the SDK parses and raises against the emulator.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.core import Config
from databricks.sdk.errors import (
    DatabricksError,
    InvalidParameterValue,
    NotFound,
    PermissionDenied,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
)
from databricks.sdk.service.catalog import (
    MonitorCronSchedule,
    MonitorDataClassificationConfig,
    MonitorDestination,
    MonitorInferenceLog,
    MonitorInferenceLogProblemType,
    MonitorInfoStatus,
    MonitorMetric,
    MonitorMetricType,
    MonitorNotifications,
    MonitorRefreshInfoState,
    MonitorSnapshot,
    MonitorTimeSeries,
)
from databricks.sdk.service.workspace import ImportFormat, ObjectType

from reconciler.sandbox import SandboxServer, SandboxSettings
from reconciler.sandbox.databricks_monitors import add_refresh, edit_monitor, monitor_record

ORDERS = "main.sales.orders"
DELAY = 0.2


def client(url: str, token: str = "dapi-test") -> WorkspaceClient:
    # A small retry bound: the SDK would otherwise retry a failing call for 300 s.
    return WorkspaceClient(config=Config(host=url, token=token, retry_timeout_seconds=5))


@pytest.fixture
def slow_sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    """Monitors stay PENDING for DELAY seconds, as on the real service (there: minutes)."""
    settings = SandboxSettings(monitor_active_delay_seconds=DELAY)
    with SandboxServer(tmp_path / "sandbox.db", settings) as server:
        yield server


@pytest.fixture
def w(slow_sandbox: SandboxServer) -> WorkspaceClient:
    return client(slow_sandbox.url)


def avg_price(name: str = "avg_price", column: str = "price") -> MonitorMetric:
    return MonitorMetric(
        name=name,
        definition="avg(`{{input_column}}`)",
        input_columns=[column],
        output_data_type="double",
        type=MonitorMetricType.CUSTOM_METRIC_TYPE_AGGREGATE,
    )


def create_orders_monitor(w: WorkspaceClient, **overrides):  # type: ignore[no-untyped-def]
    kwargs = dict(
        time_series=MonitorTimeSeries(timestamp_col="order_ts", granularities=["1 day", "1 hour"]),
        custom_metrics=[avg_price()],
        slicing_exprs=["region", "price > 100"],
        schedule=MonitorCronSchedule(quartz_cron_expression="0 0 4 * * ?", timezone_id="UTC"),
        warehouse_id="wh-123",
    )
    kwargs.update(overrides)
    return w.quality_monitors.create(ORDERS, "main.monitoring", "/Shared/monitors", **kwargs)


def wait_active(w: WorkspaceClient, table: str = ORDERS, timeout: float = 5.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        info = w.quality_monitors.get(table)
        if info.status == MonitorInfoStatus.MONITOR_STATUS_ACTIVE or time.monotonic() > deadline:
            return info
        time.sleep(0.05)


# ---- Unity Catalog table lookup --------------------------------------------------------------------


def test_table_lookup_returns_seeded_columns(w: WorkspaceClient) -> None:
    table = w.tables.get(ORDERS)
    assert table.full_name == ORDERS
    columns = {c.name: c for c in table.columns or []}
    assert {"order_ts", "price", "quantity", "region"} <= set(columns)
    assert columns["order_ts"].type_name.value == "TIMESTAMP"
    assert (columns["price"].type_name.value, columns["price"].type_precision) == ("DECIMAL", 10)
    assert w.tables.exists(ORDERS).table_exists is True
    assert w.tables.exists("main.sales.nope").table_exists is False
    assert {t.name for t in w.tables.list("main", "ml")} >= {"churn_predictions", "churn_baseline"}


def test_unknown_table_and_schema_are_not_found(w: WorkspaceClient) -> None:
    with pytest.raises(NotFound, match="Table 'main.sales.nope' does not exist"):
        w.tables.get("main.sales.nope")
    with pytest.raises(NotFound, match="Schema 'main.nope' does not exist"):
        w.tables.get("main.nope.orders")
    assert w.schemas.get("main.monitoring").full_name == "main.monitoring"


def test_seed_file_declares_the_tables(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        "schemas: [lake.out]\n"
        "tables:\n"
        "  - full_name: lake.raw.events\n"
        "    columns:\n"
        "      - {name: ts, type: timestamp}\n"
        "      - {name: kind, type: string}\n"
    )
    with SandboxServer(tmp_path / "s.db", SandboxSettings(seed_path=seed)) as server:
        wc = client(server.url)
        assert [c.name for c in wc.tables.get("lake.raw.events").columns or []] == ["ts", "kind"]
        with pytest.raises(NotFound):
            wc.tables.get(ORDERS)
        # Tables can also be added behind the tool's back, e.g. a column appearing.
        requests.put(
            f"{server.url}/sandbox/databricks/tables/lake.raw.events",
            json={"columns": [{"name": "ts", "type": "timestamp"}, {"name": "amount", "type": "double"}]},
        ).raise_for_status()
        assert [c.name for c in wc.tables.get("lake.raw.events").columns or []] == ["ts", "amount"]


# ---- monitors: create / get ------------------------------------------------------------------------


def test_create_starts_pending_and_turns_active_with_generated_fields(w: WorkspaceClient) -> None:
    created = create_orders_monitor(w)
    assert created.status == MonitorInfoStatus.MONITOR_STATUS_PENDING
    assert created.monitor_version == 1
    assert created.profile_metrics_table_name == "main.monitoring.orders_profile_metrics"
    assert created.drift_metrics_table_name == "main.monitoring.orders_drift_metrics"
    assert created.dashboard_id is None  # "can be empty if the monitor is in PENDING state"
    # The metric tables do not exist until the monitor has computed them.
    with pytest.raises(NotFound):
        w.tables.get(created.profile_metrics_table_name)

    info = wait_active(w)
    assert info.status == MonitorInfoStatus.MONITOR_STATUS_ACTIVE
    assert info.dashboard_id
    assert info.assets_dir == "/Shared/monitors"
    assert info.time_series == MonitorTimeSeries(timestamp_col="order_ts", granularities=["1 day", "1 hour"])
    assert info.custom_metrics == [avg_price()]
    assert info.schedule.pause_status.value == "UNPAUSED"  # the service fills the default
    profile = w.tables.get(info.profile_metrics_table_name)
    assert "avg_price" in {c.name for c in profile.columns or []}
    w.tables.get(info.drift_metrics_table_name)


def test_write_only_fields_are_accepted_but_never_returned(w: WorkspaceClient, slow_sandbox: SandboxServer) -> None:
    create_orders_monitor(w, warehouse_id="wh-42", skip_builtin_dashboard=True)
    raw = w.api_client.do("GET", f"/api/2.1/unity-catalog/tables/{ORDERS}/monitor")
    assert "warehouse_id" not in raw and "skip_builtin_dashboard" not in raw
    assert isinstance(raw["monitor_version"], str)  # int64 as proto3 JSON string
    info = wait_active(w)
    assert info.dashboard_id is None  # skip_builtin_dashboard honoured
    record = monitor_record(slow_sandbox.state, ORDERS)
    assert record is not None
    assert (record["warehouse_id"], record["skip_builtin_dashboard"]) == ("wh-42", True)


def test_snapshot_and_inference_monitors(w: WorkspaceClient) -> None:
    snap = w.quality_monitors.create(
        "main.sales.customers",
        "main.monitoring",
        "/Shared/monitors",
        snapshot=MonitorSnapshot(),
        data_classification_config=MonitorDataClassificationConfig(enabled=True),
        notifications=MonitorNotifications(on_failure=MonitorDestination(email_addresses=["a@example.com"])),
    )
    assert snap.snapshot == MonitorSnapshot()
    inference = MonitorInferenceLog(
        problem_type=MonitorInferenceLogProblemType.PROBLEM_TYPE_CLASSIFICATION,
        timestamp_col="ts",
        granularities=["1 day"],
        prediction_col="prediction",
        model_id_col="model_id",
        label_col="label",
        prediction_proba_col="prediction_proba",
    )
    w.quality_monitors.create(
        "main.ml.churn_predictions",
        "main.monitoring",
        "/Shared/monitors",
        inference_log=inference,
        baseline_table_name="main.ml.churn_baseline",
    )
    info = w.quality_monitors.get("main.ml.churn_predictions")
    assert info.inference_log == inference
    assert info.baseline_table_name == "main.ml.churn_baseline"
    assert w.quality_monitors.get("main.sales.customers").notifications.on_failure.email_addresses == ["a@example.com"]


def test_missing_monitor_table_and_duplicate(w: WorkspaceClient) -> None:
    with pytest.raises(ResourceDoesNotExist):
        w.quality_monitors.get(ORDERS)
    with pytest.raises(NotFound, match="does not exist"):
        w.quality_monitors.create("main.sales.nope", "main.monitoring", "/Shared/m", snapshot=MonitorSnapshot())
    create_orders_monitor(w)
    with pytest.raises(ResourceAlreadyExists):
        create_orders_monitor(w)
    with pytest.raises(NotFound, match="Schema 'main.elsewhere'"):
        w.quality_monitors.create("main.sales.customers", "main.elsewhere", "/Shared/m", snapshot=MonitorSnapshot())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"time_series": MonitorTimeSeries(timestamp_col="created", granularities=["1 day"])}, "Column 'created'"),
        (
            {"time_series": MonitorTimeSeries(timestamp_col="order_ts", granularities=["2 hours"])},
            "Invalid granularity '2 hours'",
        ),
        ({"time_series": None}, "none given"),
        ({"snapshot": MonitorSnapshot()}, "got time_series, snapshot"),
        ({"custom_metrics": [avg_price(column="unit_price")]}, "Column 'unit_price'"),
        ({"custom_metrics": [avg_price(), avg_price()]}, "Duplicate custom metric name 'avg_price'"),
        ({"slicing_exprs": ["segment = 'gold'"]}, "Column 'segment'"),
        (
            {"schedule": MonitorCronSchedule(quartz_cron_expression="0 4 * * *", timezone_id="UTC")},
            "quartz_cron_expression",
        ),
        (
            {"schedule": MonitorCronSchedule(quartz_cron_expression="0 0 4 * * ?", timezone_id="Mars/Olympus")},
            "timezone_id",
        ),
        (
            {
                "notifications": MonitorNotifications(
                    on_failure=MonitorDestination(email_addresses=[f"{i}@x.io" for i in range(6)])
                )
            },
            "at most 5",
        ),
    ],
)
def test_create_validation_errors(w: WorkspaceClient, overrides: dict, message: str) -> None:
    with pytest.raises(InvalidParameterValue, match=message):
        create_orders_monitor(w, **overrides)
    with pytest.raises(ResourceDoesNotExist):
        w.quality_monitors.get(ORDERS)


def test_create_refuses_server_owned_fields(w: WorkspaceClient) -> None:
    with pytest.raises(InvalidParameterValue, match="latest_monitor_failure_msg"):
        create_orders_monitor(w, latest_monitor_failure_msg="boom")


def test_slicing_expressions_may_use_functions_literals_and_backticks(w: WorkspaceClient) -> None:
    create_orders_monitor(w, slicing_exprs=["lower(region) = 'emea'", "`channel`", "quantity BETWEEN 1 AND 5"])
    assert w.quality_monitors.get(ORDERS).slicing_exprs == [
        "lower(region) = 'emea'",
        "`channel`",
        "quantity BETWEEN 1 AND 5",
    ]


# ---- monitors: update / delete ---------------------------------------------------------------------


def test_update_replaces_updatable_fields_and_bumps_version(w: WorkspaceClient) -> None:
    create_orders_monitor(w)
    wait_active(w)
    updated = w.quality_monitors.update(
        ORDERS,
        "main.monitoring",
        time_series=MonitorTimeSeries(timestamp_col="order_ts", granularities=["1 day"]),
        custom_metrics=[avg_price(), avg_price("avg_quantity", "quantity")],
    )
    assert updated.monitor_version == 2
    info = w.quality_monitors.get(ORDERS)
    assert [m.name for m in info.custom_metrics or []] == ["avg_price", "avg_quantity"]
    assert info.time_series.granularities == ["1 day"]
    # PUT semantics: what was not sent is gone, what update ignores is kept.
    assert info.slicing_exprs is None and info.schedule is None
    assert info.assets_dir == "/Shared/monitors"
    assert info.status == MonitorInfoStatus.MONITOR_STATUS_ACTIVE
    assert w.quality_monitors.update(ORDERS, "main.monitoring", time_series=info.time_series).monitor_version == 3


def test_update_refuses_profile_type_change_and_create_only_fields(w: WorkspaceClient) -> None:
    create_orders_monitor(w)
    with pytest.raises(InvalidParameterValue, match="Cannot change the profile type"):
        w.quality_monitors.update(ORDERS, "main.monitoring", snapshot=MonitorSnapshot())
    with pytest.raises(InvalidParameterValue, match="warehouse_id"):
        w.api_client.do(
            "PUT",
            f"/api/2.1/unity-catalog/tables/{ORDERS}/monitor",
            body={"output_schema_name": "main.monitoring", "snapshot": {}, "warehouse_id": "x"},
        )
    with pytest.raises(InvalidParameterValue, match="Unknown field 'colour'"):
        w.api_client.do(
            "PUT",
            f"/api/2.1/unity-catalog/tables/{ORDERS}/monitor",
            body={"output_schema_name": "main.monitoring", "colour": "blue"},
        )
    # [Update:IGN] fields are accepted and ignored.
    w.api_client.do(
        "PUT",
        f"/api/2.1/unity-catalog/tables/{ORDERS}/monitor",
        body={
            "output_schema_name": "main.monitoring",
            "time_series": {"timestamp_col": "order_ts", "granularities": ["1 day"]},
            "assets_dir": "/elsewhere",
            "status": "MONITOR_STATUS_FAILED",
        },
    )
    info = w.quality_monitors.get(ORDERS)
    assert info.assets_dir == "/Shared/monitors"
    assert info.status != MonitorInfoStatus.MONITOR_STATUS_FAILED
    with pytest.raises(ResourceDoesNotExist):
        w.quality_monitors.update("main.sales.customers", "main.monitoring", snapshot=MonitorSnapshot())


def test_update_validates_like_create(w: WorkspaceClient) -> None:
    create_orders_monitor(w)
    with pytest.raises(InvalidParameterValue, match="Column 'nope'"):
        w.quality_monitors.update(
            ORDERS,
            "main.monitoring",
            time_series=MonitorTimeSeries(timestamp_col="order_ts", granularities=["1 day"]),
            slicing_exprs=["nope"],
        )


def test_delete_keeps_metric_tables_and_recreate_replaces_them(w: WorkspaceClient) -> None:
    created = create_orders_monitor(w)
    wait_active(w)
    w.tables.get(created.profile_metrics_table_name)
    w.quality_monitors.delete(ORDERS)
    with pytest.raises(ResourceDoesNotExist):
        w.quality_monitors.get(ORDERS)
    with pytest.raises(ResourceDoesNotExist):
        w.quality_monitors.delete(ORDERS)
    # "the metric tables and dashboard will not be deleted as part of this call"
    w.tables.get(created.profile_metrics_table_name)
    create_orders_monitor(w)
    with pytest.raises(NotFound):
        w.tables.get(created.profile_metrics_table_name)
    wait_active(w)
    w.tables.get(created.profile_metrics_table_name)


def test_metric_tables_can_lag_behind_active(tmp_path: Path) -> None:
    settings = SandboxSettings(monitor_active_delay_seconds=0.0, extra={"metric_tables_delay_seconds": 3.0})
    with SandboxServer(tmp_path / "s.db", settings) as server:
        wc = client(server.url)
        created = create_orders_monitor(wc)
        assert wait_active(wc).status == MonitorInfoStatus.MONITOR_STATUS_ACTIVE
        with pytest.raises(NotFound):
            wc.tables.get(created.drift_metrics_table_name)
        time.sleep(3.05)
        wc.tables.get(created.drift_metrics_table_name)


# ---- refreshes -------------------------------------------------------------------------------------


def test_refreshes_run_and_are_listed_newest_first(tmp_path: Path) -> None:
    # Pending for 2 s: long enough that a loaded machine's first look still comes before it turns
    # ACTIVE (DELAY's 0.2 s was not).
    settings = SandboxSettings(monitor_active_delay_seconds=2.0)
    with SandboxServer(tmp_path / "refreshes.db", settings) as server:
        _refreshes_run_and_are_listed_newest_first(client(server.url))


def _refreshes_run_and_are_listed_newest_first(w: WorkspaceClient) -> None:
    create_orders_monitor(w)
    initial = w.quality_monitors.list_refreshes(ORDERS).refreshes or []
    assert [r.state for r in initial] == [MonitorRefreshInfoState.PENDING]  # created with the monitor
    wait_active(w)
    refresh = w.quality_monitors.run_refresh(ORDERS)
    assert refresh.state == MonitorRefreshInfoState.PENDING
    assert refresh.trigger.value == "MANUAL"
    time.sleep(0.05)
    got = w.quality_monitors.get_refresh(ORDERS, refresh.refresh_id)
    assert got.state == MonitorRefreshInfoState.SUCCESS and got.end_time_ms
    listed = w.quality_monitors.list_refreshes(ORDERS).refreshes or []
    assert [r.refresh_id for r in listed] == [refresh.refresh_id, initial[0].refresh_id]
    assert all(r.state == MonitorRefreshInfoState.SUCCESS for r in listed)
    with pytest.raises(ResourceDoesNotExist):
        w.quality_monitors.get_refresh(ORDERS, 999999)
    with pytest.raises(ResourceDoesNotExist):
        w.quality_monitors.run_refresh("main.sales.customers")


def test_refresh_can_be_canceled(tmp_path: Path) -> None:
    settings = SandboxSettings(extra={"monitor_refresh_delay_seconds": 30})
    with SandboxServer(tmp_path / "s.db", settings) as server:
        wc = client(server.url)
        create_orders_monitor(wc)
        refresh = wc.quality_monitors.run_refresh(ORDERS)
        assert wc.quality_monitors.get_refresh(ORDERS, refresh.refresh_id).state == MonitorRefreshInfoState.RUNNING
        wc.quality_monitors.cancel_refresh(ORDERS, refresh.refresh_id)
        assert wc.quality_monitors.get_refresh(ORDERS, refresh.refresh_id).state == MonitorRefreshInfoState.CANCELED
        with pytest.raises(InvalidParameterValue):
            wc.quality_monitors.cancel_refresh(ORDERS, refresh.refresh_id)


def test_refresh_history_can_be_added_and_dies_with_the_monitor(
    w: WorkspaceClient, slow_sandbox: SandboxServer
) -> None:
    create_orders_monitor(w)
    since = int(time.time() * 1000) - 30 * 86_400_000
    response = requests.post(
        f"{slow_sandbox.url}/sandbox/databricks/monitors/{ORDERS}/refreshes", json={"count": 30, "since_ms": since}
    )
    response.raise_for_status()
    add_refresh(slow_sandbox.state, ORDERS, state="FAILED", message="out of memory")
    listed = w.quality_monitors.list_refreshes(ORDERS).refreshes or []
    assert len(listed) == 25  # the service lists the most recent 25
    assert monitor_record(slow_sandbox.state, ORDERS)["refresh_count"] == 32  # type: ignore[index]
    assert min(r.start_time_ms for r in listed) > since
    w.quality_monitors.delete(ORDERS)
    create_orders_monitor(w)
    assert len(w.quality_monitors.list_refreshes(ORDERS).refreshes or []) == 1


def test_monitor_can_be_edited_behind_the_tools_back(w: WorkspaceClient, slow_sandbox: SandboxServer) -> None:
    create_orders_monitor(w)
    wait_active(w)
    changed = avg_price()
    changed.definition = "avg(`{{input_column}}`) * 2"
    response = requests.patch(
        f"{slow_sandbox.url}/sandbox/databricks/monitors/{ORDERS}",
        json={"custom_metrics": [changed.as_dict()], "slicing_exprs": None},
    )
    response.raise_for_status()
    info = w.quality_monitors.get(ORDERS)
    assert info.custom_metrics == [changed]
    assert info.slicing_exprs is None
    assert info.monitor_version == 2
    edit_monitor(slow_sandbox.state, ORDERS, {"status": "MONITOR_STATUS_FAILED", "latest_monitor_failure_msg": "boom"})
    info = w.quality_monitors.get(ORDERS)
    assert (info.status, info.latest_monitor_failure_msg) == (MonitorInfoStatus.MONITOR_STATUS_FAILED, "boom")


def test_regenerate_dashboard(w: WorkspaceClient) -> None:
    create_orders_monitor(w)
    before = wait_active(w).dashboard_id
    response = w.quality_monitors.regenerate_dashboard(ORDERS)
    assert response.dashboard_id != before
    assert response.parent_folder == "/Shared/monitors/orders"


# ---- auth ------------------------------------------------------------------------------------------


def test_wrong_token_is_refused(tmp_path: Path) -> None:
    with SandboxServer(tmp_path / "s.db", SandboxSettings(token="dapi-right")) as server:
        assert client(server.url, "dapi-right").tables.get(ORDERS).name == "orders"
        with pytest.raises(PermissionDenied, match="Invalid access token"):
            client(server.url, "dapi-wrong").tables.get(ORDERS)
        with pytest.raises(PermissionDenied):
            client(server.url, "dapi-wrong").workspace.get_status("/Shared")


# ---- workspace files -------------------------------------------------------------------------------


def test_workspace_file_round_trip(w: WorkspaceClient) -> None:
    path = "/Shared/.reconciler/dev/ledger.json"
    w.workspace.mkdirs("/Shared/.reconciler/dev")
    w.workspace.upload(path, io.BytesIO(b'{"version": 1}'), format=ImportFormat.AUTO, overwrite=True)
    assert w.workspace.download(path).read() == b'{"version": 1}'
    status = w.workspace.get_status(path)
    assert (status.object_type, status.size, status.path) == (ObjectType.FILE, 14, path)
    w.workspace.upload(path, io.BytesIO(b'{"version": 2}'), format=ImportFormat.AUTO, overwrite=True)
    assert w.workspace.download(path).read() == b'{"version": 2}'
    assert w.workspace.get_status(path).object_id == status.object_id
    # The /Workspace prefix names the same tree.
    assert w.workspace.download("/Workspace" + path).read() == b'{"version": 2}'
    assert [o.path for o in w.workspace.list("/Shared/.reconciler")] == ["/Shared/.reconciler/dev"]
    w.workspace.delete(path)
    with pytest.raises(ResourceDoesNotExist):
        w.workspace.get_status(path)
    with pytest.raises(ResourceDoesNotExist):
        w.workspace.download(path)


def test_workspace_errors(w: WorkspaceClient) -> None:
    with pytest.raises(ResourceDoesNotExist, match="parent folder"):
        w.workspace.upload("/Shared/missing/f.json", io.BytesIO(b"{}"), format=ImportFormat.AUTO)
    w.workspace.upload("/Shared/f.json", io.BytesIO(b"{}"), format=ImportFormat.AUTO)
    with pytest.raises(ResourceAlreadyExists):
        w.workspace.upload("/Shared/f.json", io.BytesIO(b"{}"), format=ImportFormat.AUTO)
    with pytest.raises(DatabricksError, match="Perhaps you forgot to specify the `format=ImportFormat.AUTO`"):
        w.workspace.upload("/Shared/g.json", io.BytesIO(b"{}"))
    w.workspace.mkdirs("/Shared/dir/sub")
    w.workspace.upload("/Shared/dir/sub/a.txt", io.BytesIO(b"a"), format=ImportFormat.AUTO)
    with pytest.raises(DatabricksError) as excinfo:
        w.workspace.delete("/Shared/dir")
    assert excinfo.value.error_code == "DIRECTORY_NOT_EMPTY"
    w.workspace.delete("/Shared/dir", recursive=True)
    with pytest.raises(ResourceDoesNotExist):
        w.workspace.get_status("/Shared/dir/sub/a.txt")
    with pytest.raises(ResourceAlreadyExists):
        w.workspace.mkdirs("/Shared/f.json/sub")


def test_workspace_notebooks_and_json_import(w: WorkspaceClient) -> None:
    w.workspace.upload(
        "/Shared/nb.py", io.BytesIO(b"# Databricks notebook source\nprint(1)\n"), format=ImportFormat.AUTO
    )
    status = w.workspace.get_status("/Shared/nb")
    assert (status.object_type, status.language.value) == (ObjectType.NOTEBOOK, "PYTHON")
    import base64

    w.workspace.import_("/Shared/raw.txt", content=base64.b64encode(b"hello").decode(), format=ImportFormat.RAW)
    assert w.workspace.export("/Shared/raw.txt").content == base64.b64encode(b"hello").decode()
    assert w.current_user.me().user_name == "sandbox-user@example.com"
    w.workspace.get_status("/Users/sandbox-user@example.com")
