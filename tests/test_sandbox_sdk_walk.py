"""Every list/get databricks-sdk exposes for the services the sandbox emulates, through the real
WorkspaceClient: warehouses, catalogs, schemas, tables, monitors (legacy API), refreshes,
workspace files and statements. Each answer must parse into the SDK's dataclasses with the
fields a user would look at, lists must follow `next_page_token` to the end, and missing objects
must raise the SDK's own exception classes (Databricks-shaped error bodies)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.core import Config
from databricks.sdk.errors import NotFound, ResourceDoesNotExist
from databricks.sdk.service.catalog import CatalogInfo, MonitorSnapshot, SchemaInfo, TableInfo, TableSummary
from databricks.sdk.service.sql import EndpointInfo, StatementState
from databricks.sdk.service.workspace import ImportFormat, ObjectType

from reconciler.sandbox import SandboxServer, SandboxSettings


@pytest.fixture
def w(tmp_path: Path) -> Iterator[WorkspaceClient]:
    # Small pages, so every listing below really pages (the SDK follows next_page_token).
    settings = SandboxSettings(extra={"uc_page_size": 1, "warehouse_page_size": 3})
    with SandboxServer(tmp_path / "sandbox.db", settings) as server:
        yield WorkspaceClient(config=Config(host=server.url, token="dapi-test", retry_timeout_seconds=5))


def test_warehouses(w: WorkspaceClient) -> None:
    warehouses = list(w.warehouses.list())
    assert len(warehouses) == 8 and all(isinstance(x, EndpointInfo) for x in warehouses)
    assert len({x.id for x in warehouses}) == 8, "pages must not repeat or skip warehouses"
    one = w.warehouses.get("e1f2a3b4c5d6e7f8")
    assert one.name == "ETL" and one.state is not None and one.state.value == "RUNNING"
    assert one.odbc_params is not None and one.odbc_params.path == "/sql/1.0/warehouses/e1f2a3b4c5d6e7f8"
    assert w.warehouses.get_workspace_warehouse_config().enable_serverless_compute is True
    assert w.warehouses.get_permissions("e1f2a3b4c5d6e7f8").object_type == "warehouses"
    assert w.warehouses.get_permission_levels("e1f2a3b4c5d6e7f8").permission_levels
    assert list(w.warehouses.list_default_warehouse_overrides()) == []
    with pytest.raises(ResourceDoesNotExist, match="Unable to find SQL warehouse with id 'nope'"):
        w.warehouses.get("nope")


def test_catalogs_schemas_tables(w: WorkspaceClient) -> None:
    catalogs = list(w.catalogs.list())
    assert [c.name for c in catalogs] == ["main"] and isinstance(catalogs[0], CatalogInfo)
    assert w.catalogs.get("main").catalog_type is not None
    with pytest.raises(NotFound, match="Catalog 'nope' does not exist"):
        w.catalogs.get("nope")

    schemas = list(w.schemas.list("main"))
    assert all(isinstance(s, SchemaInfo) for s in schemas)
    assert {"main.sales", "main.ml", "main.monitoring"} <= {s.full_name for s in schemas}
    assert w.schemas.get("main.sales").schema_id
    with pytest.raises(NotFound, match="Catalog 'nope' does not exist"):
        list(w.schemas.list("nope"))
    with pytest.raises(NotFound, match="Schema 'main.nope' does not exist"):
        w.schemas.get("main.nope")

    tables = list(w.tables.list("main", "sales"))  # 1 a page: the SDK follows the tokens
    assert all(isinstance(t, TableInfo) for t in tables)
    names = [t.full_name for t in tables]
    assert len(names) == len(set(names)) == 2 and "main.sales.orders" in names
    assert all(t.columns for t in tables)
    assert all(not t.columns for t in w.tables.list("main", "sales", omit_columns=True))
    assert w.tables.get("main.sales.orders").table_id
    assert w.tables.exists("main.sales.orders").table_exists is True
    assert w.tables.exists("main.sales.nope").table_exists is False
    with pytest.raises(NotFound, match="Table 'main.sales.nope' does not exist"):
        w.tables.get("main.sales.nope")

    summaries = list(w.tables.list_summaries("main", schema_name_pattern="sal%", table_name_pattern="o%"))
    assert all(isinstance(s, TableSummary) for s in summaries)
    assert "main.sales.orders" in [s.full_name for s in summaries]
    assert all(s.full_name and s.full_name.startswith("main.sales.o") for s in summaries)


def test_monitor_and_refresh_reads(w: WorkspaceClient) -> None:
    table = "main.sales.customers"
    w.quality_monitors.create(
        table_name=table, output_schema_name="main.monitoring", assets_dir="/Shared/m", snapshot=MonitorSnapshot()
    )
    info = w.quality_monitors.get(table)
    assert info.table_name == table and info.profile_metrics_table_name
    refresh = w.quality_monitors.run_refresh(table)
    listed = w.quality_monitors.list_refreshes(table).refreshes or []
    assert refresh.refresh_id in [r.refresh_id for r in listed]
    assert refresh.refresh_id is not None
    assert w.quality_monitors.get_refresh(table, str(refresh.refresh_id)).refresh_id == refresh.refresh_id
    with pytest.raises(ResourceDoesNotExist):
        w.quality_monitors.get("main.sales.orders")
    with pytest.raises(ResourceDoesNotExist):
        w.quality_monitors.get_refresh(table, "999999")


def test_workspace_reads(w: WorkspaceClient) -> None:
    w.workspace.mkdirs("/Shared/walk")
    w.workspace.upload("/Shared/walk/a.json", io.BytesIO(b'{"a": 1}'), format=ImportFormat.AUTO, overwrite=True)
    status = w.workspace.get_status("/Shared/walk/a.json")
    assert status.object_type == ObjectType.FILE
    assert [o.path for o in w.workspace.list("/Shared/walk")] == ["/Shared/walk/a.json"]
    with w.workspace.download("/Shared/walk/a.json") as f:
        assert f.read() == b'{"a": 1}'
    with pytest.raises(ResourceDoesNotExist):
        w.workspace.get_status("/Shared/walk/nope")


def test_statement_reads(w: WorkspaceClient) -> None:
    done = w.statement_execution.execute_statement(
        "SELECT id FROM range(3)", warehouse_id="sandbox0warehouse", wait_timeout="10s"
    )
    assert done.status is not None and done.status.state == StatementState.SUCCEEDED
    assert done.statement_id is not None
    again = w.statement_execution.get_statement(done.statement_id)
    assert again.manifest is not None and again.manifest.schema is not None
    assert [c.name for c in again.manifest.schema.columns or []] == ["id"]
    chunk = w.statement_execution.get_statement_result_chunk_n(done.statement_id, 0)
    assert chunk.data_array == [["0"], ["1"], ["2"]]
    with pytest.raises(NotFound):
        w.statement_execution.get_statement("01ef0000-0000-0000-0000-000000000000")


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("SELECT id FROM range(1, 7, 2)", [["1"], ["3"], ["5"]]),
        ("SELECT array_contains(array(1, 2), 2) AS c", [["true"]]),
        ("SELECT col FROM (SELECT explode(array('a', 'b')))", [["a"], ["b"]]),
        ("SELECT from_json('{\"a\": 1}', 'a INT').a AS a", [["1"]]),
        ("SELECT from_json('[1, 2]', 'array<int>') AS a", [["[1,2]"]]),
        ("SELECT named_struct('a', 1, 'b', 'x') AS s", [['{"a":1,"b":"x"}']]),
        ("SELECT date_trunc('HOUR', TIMESTAMP '2024-01-02 03:04:05') AS t", [["2024-01-02T03:00:00.000Z"]]),
        ("SELECT current_timestamp() IS NOT NULL AS t", [["true"]]),
        ("SELECT unix_timestamp('2024-01-01 00:00:00') AS u", [["1704067200"]]),
        ("SELECT a FROM (SELECT inline(array(named_struct('a', 7))))", [["7"]]),
    ],
)
def test_databricks_builtins(w: WorkspaceClient, statement: str, expected: list[list[str]]) -> None:
    result = w.statement_execution.execute_statement(statement, warehouse_id="sandbox0warehouse", wait_timeout="10s")
    assert result.status is not None and result.status.state == StatementState.SUCCEEDED, result.status
    assert result.result is not None and result.result.data_array == expected


def test_unsupported_function_fails_like_a_warehouse(w: WorkspaceClient) -> None:
    result = w.statement_execution.execute_statement(
        "SELECT no_such_function(1)", warehouse_id="sandbox0warehouse", wait_timeout="10s"
    )
    assert result.status is not None and result.status.state == StatementState.FAILED
    assert result.status.error is not None and result.status.error.message is not None
    assert result.status.error.message.startswith("[UNRESOLVED_ROUTINE] Cannot resolve routine `no_such_function`")


def test_data_quality_v1_reads(w: WorkspaceClient) -> None:
    """The v1 API over the same monitors: a legacy-created monitor is read by table_id, listed
    (paged), and its refreshes too; a schema's anomaly detection monitor likewise."""
    from databricks.sdk.service.dataquality import AnomalyDetectionConfig, Monitor, Refresh

    table = "main.sales.customers"
    w.quality_monitors.create(
        table_name=table, output_schema_name="main.monitoring", assets_dir="/Shared/m", snapshot=MonitorSnapshot()
    )
    w.quality_monitors.run_refresh(table)
    table_id = w.tables.get(table).table_id
    schema_id = w.schemas.get("main.sales").schema_id
    assert table_id and schema_id
    monitor = w.data_quality.get_monitor("table", table_id)
    config = monitor.data_profiling_config
    assert config is not None and config.monitored_table_name == table
    assert config.output_schema_id == w.schemas.get("main.monitoring").schema_id
    assert config.snapshot is not None and config.monitor_version == 1
    w.data_quality.create_monitor(
        Monitor(object_type="schema", object_id=schema_id, anomaly_detection_config=AnomalyDetectionConfig())
    )
    assert w.data_quality.get_monitor("schema", schema_id).anomaly_detection_config is not None
    listed = list(w.data_quality.list_monitor(page_size=1))
    assert [(m.object_type, m.object_id) for m in listed] == [("table", table_id), ("schema", schema_id)]
    created = w.data_quality.create_refresh("table", table_id, Refresh(object_type="table", object_id=table_id))
    refreshes = list(w.data_quality.list_refresh("table", table_id, page_size=1))
    assert len(refreshes) == 3 and created.refresh_id in [r.refresh_id for r in refreshes]
    assert created.refresh_id is not None
    got = w.data_quality.get_refresh("table", table_id, created.refresh_id)
    assert got.state is not None and got.state.value.startswith("MONITOR_REFRESH_STATE_")
    with pytest.raises(ResourceDoesNotExist):
        w.data_quality.get_monitor("table", w.tables.get("main.sales.orders").table_id or "")
    with pytest.raises(ResourceDoesNotExist):
        w.data_quality.get_monitor("table", "00000000-0000-0000-0000-000000000000")
