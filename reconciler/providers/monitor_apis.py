"""The two Databricks APIs that manage a data-profiling (quality) monitor, behind one interface.

databricks-sdk 0.162.0 marks `w.quality_monitors` (legacy, `/api/2.1/unity-catalog/tables/{t}/
monitor`) deprecated in favour of `w.data_quality` (Data Quality v1, `/api/data-quality/v1/
monitors`, objects addressed by Unity Catalog id). The provider plans and writes in one shape, the
legacy `MonitorInfo`; each class here speaks one API in that shape, so the spec, the plan, the
update-vs-replace decisions and the ledger are the same whichever a target picks
(`quality_monitors: {api: legacy | data_quality}`). The v1 class translates with
`reconciler.kinds.monitor_shapes` and resolves table and schema names to ids once per run.
"""

from __future__ import annotations

from typing import Any

from databricks.sdk.errors import NotFound
from databricks.sdk.service.catalog import (
    MonitorCronSchedule,
    MonitorDataClassificationConfig,
    MonitorInferenceLog,
    MonitorInfo,
    MonitorMetric,
    MonitorNotifications,
    MonitorRefreshInfo,
    MonitorSnapshot,
    MonitorTimeSeries,
)
from databricks.sdk.service.dataquality import DataProfilingConfig, Monitor, Refresh

from reconciler.kinds import monitor_shapes as shapes

from .unity_catalog import UnityCatalog

LEGACY = "legacy"
DATA_QUALITY = "data_quality"


def sdk_arguments(body: dict[str, Any]) -> dict[str, Any]:
    """Legacy SDK keyword arguments (typed dataclasses) for the configuration fields of `body`."""
    args: dict[str, Any] = {}
    if "time_series" in body:
        args["time_series"] = MonitorTimeSeries.from_dict(body["time_series"])
    if "snapshot" in body:
        args["snapshot"] = MonitorSnapshot()
    if "inference_log" in body:
        args["inference_log"] = MonitorInferenceLog.from_dict(body["inference_log"])
    if "custom_metrics" in body:
        args["custom_metrics"] = [MonitorMetric.from_dict(m) for m in body["custom_metrics"]]
    if "slicing_exprs" in body:
        args["slicing_exprs"] = list(body["slicing_exprs"])
    if "schedule" in body:
        args["schedule"] = MonitorCronSchedule.from_dict(body["schedule"])
    if "notifications" in body:
        args["notifications"] = MonitorNotifications.from_dict(body["notifications"])
    if "baseline_table_name" in body:
        args["baseline_table_name"] = body["baseline_table_name"]
    if "data_classification_config" in body:
        args["data_classification_config"] = MonitorDataClassificationConfig.from_dict(
            body["data_classification_config"]
        )
    return args


class LegacyMonitorApi:
    """`w.quality_monitors`: one call per operation, addressed by table name."""

    name = LEGACY

    def __init__(self, client: Any) -> None:
        self.client = client

    def get(self, table: str) -> MonitorInfo:
        info: MonitorInfo = self.client.quality_monitors.get(table)
        return info

    def create(self, table: str, body: dict[str, Any]) -> None:
        self.client.quality_monitors.create(
            table_name=table,
            output_schema_name=body["output_schema_name"],
            assets_dir=body["assets_dir"],
            warehouse_id=body.get("warehouse_id"),
            skip_builtin_dashboard=body.get("skip_builtin_dashboard"),
            **sdk_arguments(body),
        )

    def update(self, table: str, body: dict[str, Any], dashboard_id: str | None) -> None:
        args = sdk_arguments(body)
        # Update replaces the whole configuration: say "no metrics / no classification"
        # explicitly rather than rely on omission.
        args.setdefault("custom_metrics", [])
        args.setdefault("slicing_exprs", [])
        args.setdefault("data_classification_config", MonitorDataClassificationConfig(enabled=False))
        self.client.quality_monitors.update(
            table_name=table,
            output_schema_name=body["output_schema_name"],
            dashboard_id=dashboard_id,  # keep the dashboard the monitor has
            **args,
        )

    def delete(self, table: str) -> None:
        self.client.quality_monitors.delete(table)

    def run_refresh(self, table: str) -> None:
        self.client.quality_monitors.run_refresh(table)

    def list_refreshes(self, table: str) -> list[MonitorRefreshInfo]:
        return list(self.client.quality_monitors.list_refreshes(table).refreshes or [])

    def unsupported(self, body: dict[str, Any]) -> list[str]:
        return []

    def expect_schemas(self, names: set[str]) -> None:
        """Output schemas the run's specs name (the legacy API needs no ids)."""


class DataQualityMonitorApi:
    """`w.data_quality`: the same operations on `Monitor(object_type="table", object_id=table_id,
    data_profiling_config=...)`, translated to and from the legacy shape. Unity Catalog ids are
    looked up once per run (`UnityCatalog`, shared with the plan-time checks), names back from ids
    likewise."""

    name = DATA_QUALITY

    def __init__(self, client: Any, catalog: UnityCatalog) -> None:
        self.client = client
        self.catalog = catalog

    def table_id(self, table: str) -> str:
        return self.catalog.table_id(table)

    def schema_id(self, schema: str) -> str:
        return self.catalog.schema_id(schema)

    def schema_name(self, schema_id: str) -> str | None:
        return self.catalog.schema_name(schema_id)

    def expect_schemas(self, names: set[str]) -> None:
        """Resolve the output schemas the run's specs name (one `w.schemas.get` each, shared with
        the plan-time checks), so reading a monitor maps its output_schema_id back to a name
        without listing the metastore."""
        for name in sorted(names):
            try:
                self.schema_id(name)
            except NotFound:
                continue  # reported by the plan-time checks

    def get(self, table: str) -> MonitorInfo:
        monitor = self.client.data_quality.get_monitor("table", self.table_id(table))
        config = monitor.data_profiling_config
        if config is None:
            raise NotFound(f"no data profiling monitor on table {table}")
        v1 = config.as_dict()
        legacy = shapes.to_legacy(v1, self.schema_name(v1.get("output_schema_id", "")))
        legacy.setdefault("table_name", table)
        return MonitorInfo.from_dict(legacy)

    def _config(self, body: dict[str, Any]) -> dict[str, Any]:
        return shapes.to_v1(body, self.schema_id(body["output_schema_name"]))

    def create(self, table: str, body: dict[str, Any]) -> None:
        config = self._config(body)
        config.pop("monitored_table_name", None)
        self.client.data_quality.create_monitor(
            Monitor(
                object_type="table",
                object_id=self.table_id(table),
                data_profiling_config=DataProfilingConfig.from_dict(config),
            )
        )

    def update(self, table: str, body: dict[str, Any], dashboard_id: str | None) -> None:
        config = self._config(body)
        for create_only in ("assets_dir", "warehouse_id", "skip_builtin_dashboard", "monitored_table_name"):
            config.pop(create_only, None)
        self.client.data_quality.update_monitor(
            "table",
            self.table_id(table),
            Monitor(
                object_type="table",
                object_id=self.table_id(table),
                data_profiling_config=DataProfilingConfig.from_dict(config),
            ),
            update_mask=shapes.update_mask(config),
        )

    def delete(self, table: str) -> None:
        self.client.data_quality.delete_monitor("table", self.table_id(table))

    def run_refresh(self, table: str) -> None:
        table_id = self.table_id(table)
        self.client.data_quality.create_refresh("table", table_id, Refresh(object_type="table", object_id=table_id))

    def list_refreshes(self, table: str) -> list[MonitorRefreshInfo]:
        return [
            MonitorRefreshInfo.from_dict(shapes.refresh_to_legacy(r.as_dict()))
            for r in self.client.data_quality.list_refresh("table", self.table_id(table))
        ]

    def unsupported(self, body: dict[str, Any]) -> list[str]:
        """Spec fields the v1 API has no field for (planning them would silently drop them)."""
        return shapes.not_in_v1(body)


MonitorApi = LegacyMonitorApi | DataQualityMonitorApi


def monitor_api(name: str, client: Any, catalog: UnityCatalog) -> MonitorApi:
    return DataQualityMonitorApi(client, catalog) if name == DATA_QUALITY else LegacyMonitorApi(client)
