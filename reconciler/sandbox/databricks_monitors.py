"""Emulator of Databricks lakehouse (quality) monitors and their refreshes.

Follows the legacy Lakehouse Monitoring REST API that databricks-sdk **0.162.0** wraps as
`w.quality_monitors` (class `QualityMonitorsAPI`; REST `/api/2.1/unity-catalog/tables/{t}/monitor`,
`.../monitor/refreshes[/{id}[/cancel]]`, and `/api/2.1/quality-monitoring/tables/{t}/monitor/dashboard`).
Shapes are those of the SDK's dataclasses in `databricks/sdk/service/catalog.py`: `MonitorInfo`,
`MonitorMetric`, `MonitorTimeSeries`, `MonitorSnapshot`, `MonitorInferenceLog`,
`MonitorCronSchedule`, `MonitorNotifications`/`MonitorDestination`,
`MonitorDataClassificationConfig`, `MonitorRefreshInfo`, `MonitorRefreshListResponse`,
`RegenerateDashboardResponse`. The per-field `[Create:REQ|OPT|ERR Update:REQ|OPT|IGN]` annotations
in those docstrings drive what each call accepts, ignores or refuses.

What the emulator reproduces, and why it matters to reconciler:
- `warehouse_id` and `skip_builtin_dashboard` are accepted by create and never returned by get
  (the known cause of endless diffs in other tools); update does not take them (400).
- Server-owned fields: `status` starts `MONITOR_STATUS_PENDING` and turns `MONITOR_STATUS_ACTIVE`
  after `SandboxSettings.monitor_active_delay_seconds`; `monitor_version` starts at 1 and increments
  on every update (returned as a JSON string, the proto3 encoding of int64 that the SDK's `_int64`
  parses); `dashboard_id` appears once ACTIVE unless `skip_builtin_dashboard`;
  `profile_metrics_table_name` = `{output_schema_name}.{table}_profile_metrics`,
  `drift_metrics_table_name` = `{output_schema_name}.{table}_drift_metrics`.
- The metric tables "appear" in the Unity Catalog table lookup `settings.extra
  ["metric_tables_delay_seconds"]` (default 0) after the monitor turns ACTIVE, when its initial
  refresh succeeds; on the real service this lag is minutes, which is why `--wait` checks tables.
  Deleting a monitor leaves its metric tables (SDK docs: "the metric tables and dashboard will not
  be deleted"); creating a monitor again replaces them, so their history is gone.
- Creating a monitor queues its initial refresh; `run_refresh` queues a MANUAL refresh that goes
  PENDING -> RUNNING -> SUCCESS over `settings.extra["monitor_refresh_delay_seconds"]` (default 0)
  once the monitor is ACTIVE. Refresh history belongs to the monitor and is dropped with it.
  `list_refreshes` returns the most recent 25, newest first.
- Update replaces every updatable field with what is sent (fields not sent are cleared), keeps
  `assets_dir`, ignores `[Update:IGN]` fields, refuses fields update does not take, and refuses a
  change of profile type (time series / snapshot / inference log), which needs a new monitor.
- Validation with the service's error codes: 404 `TABLE_DOES_NOT_EXIST` / `SCHEMA_DOES_NOT_EXIST`
  for the monitored, baseline or output objects, 404 `RESOURCE_DOES_NOT_EXIST` for a missing monitor
  or refresh, 409 `RESOURCE_ALREADY_EXISTS` for a second monitor on a table, 400
  `INVALID_PARAMETER_VALUE` for unknown columns (timestamp/prediction/label/model-id columns,
  metric input columns, slicing expressions), bad granularities, missing or several profile types,
  duplicate metric names, invalid Quartz cron, more than 5 notification addresses, fields a call
  does not accept. Exact message wording of the real service is not published; messages here name
  the offending field and value.

Test control (not part of the real API; prefixed `/sandbox/` so it never collides):
- `GET /sandbox/databricks/monitors/{t}`: the stored record, including write-only fields.
- `PATCH /sandbox/databricks/monitors/{t}`: edit a monitor behind the tool's back. Body keys are
  MonitorInfo fields; configuration fields replace the stored ones (`null` removes) and bump
  `monitor_version` like a UI edit; `status`, `latest_monitor_failure_msg`, `dashboard_id` are set
  as given.
- `POST /sandbox/databricks/monitors/{t}/refreshes`: add refresh history, either one refresh
  (`state`, `trigger`, `start_time_ms`, `end_time_ms`, `message`) or `{"count": n, "since_ms": ms}`
  for n successful scheduled refreshes spread from `since_ms` to now.
The same operations are available as functions on a `SandboxState` (`monitor_record`,
`edit_monitor`, `add_refresh`).
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from typing import Any

from flask import Flask, jsonify, request

from ..quartz import quartz_error, timezone_error
from ..sqlexpr import expression_columns
from . import dbx_http
from .databricks_catalog import (
    drop_table,
    normalise_name,
    put_table,
    require_table,
    schema_exists,
    split_name,
)
from .dbx_http import fail, invalid
from .settings import SandboxSettings
from .state import SandboxState

DDL = """
CREATE TABLE IF NOT EXISTS dbx_monitors (
    table_name TEXT PRIMARY KEY,
    config TEXT NOT NULL,                -- user-set MonitorInfo fields (JSON)
    status TEXT NOT NULL,
    monitor_version INTEGER NOT NULL,
    dashboard_id TEXT,
    latest_monitor_failure_msg TEXT,
    warehouse_id TEXT,                   -- accepted on create, never returned
    skip_builtin_dashboard INTEGER,      -- accepted on create, never returned
    created_ms INTEGER NOT NULL,
    active_at_ms INTEGER NOT NULL,
    tables_at_ms INTEGER NOT NULL,
    tables_ready INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS dbx_monitor_refreshes (
    refresh_id INTEGER PRIMARY KEY AUTOINCREMENT,
    table_name TEXT NOT NULL,
    state TEXT NOT NULL,
    trigger TEXT NOT NULL,
    start_time_ms INTEGER NOT NULL,
    end_time_ms INTEGER,
    message TEXT,
    due_ms INTEGER                       -- when a queued refresh completes (emulator bookkeeping)
);
-- settle() selects only monitors and refreshes with work left: these keep that cheap.
CREATE INDEX IF NOT EXISTS dbx_monitors_status ON dbx_monitors (status, tables_ready);
CREATE INDEX IF NOT EXISTS dbx_monitor_refreshes_state ON dbx_monitor_refreshes (state, table_name);
CREATE INDEX IF NOT EXISTS dbx_monitor_refreshes_table ON dbx_monitor_refreshes (table_name, start_time_ms);
"""

PENDING = "MONITOR_STATUS_PENDING"
ACTIVE = "MONITOR_STATUS_ACTIVE"
STATUSES = {PENDING, ACTIVE, "MONITOR_STATUS_DELETE_PENDING", "MONITOR_STATUS_ERROR", "MONITOR_STATUS_FAILED"}

# Granularities the service accepts (MonitorTimeSeries docstring: 5 minutes, 30 minutes, 1 hour,
# 1 day, <n> week(s), 1 month, 1 year; the data-quality API's AggregationGranularity enum bounds n
# to 1..4).
GRANULARITIES = (
    "5 minutes",
    "30 minutes",
    "1 hour",
    "1 day",
    "1 week",
    "2 weeks",
    "3 weeks",
    "4 weeks",
    "1 month",
    "1 year",
)
METRIC_TYPES = {"CUSTOM_METRIC_TYPE_AGGREGATE", "CUSTOM_METRIC_TYPE_DERIVED", "CUSTOM_METRIC_TYPE_DRIFT"}
PROBLEM_TYPES = {"PROBLEM_TYPE_CLASSIFICATION", "PROBLEM_TYPE_REGRESSION"}
PAUSE_STATUSES = {"PAUSED", "UNPAUSED", "UNSPECIFIED"}
PROFILE_TYPES = ("time_series", "snapshot", "inference_log")

# Configuration fields kept in `config`. Order is the MonitorInfo dataclass order.
CONFIG_FIELDS = (
    "output_schema_name",
    "assets_dir",
    "baseline_table_name",
    "custom_metrics",
    "data_classification_config",
    "inference_log",
    "notifications",
    "schedule",
    "slicing_exprs",
    "snapshot",
    "time_series",
)
# [Create:ERR] fields of MonitorInfo: server-owned, refused on create.
CREATE_ERR = {
    "table_name",
    "status",
    "profile_metrics_table_name",
    "drift_metrics_table_name",
    "monitor_version",
    "dashboard_id",
    "latest_monitor_failure_msg",
}
CREATE_ONLY = {"warehouse_id", "skip_builtin_dashboard"}  # CreateMonitor request, not MonitorInfo
# [Update:OPT|REQ] fields: replaced by update (every configuration field but the assets dir).
UPDATE_FIELDS = set(CONFIG_FIELDS) - {"assets_dir"}
# [Update:IGN] fields: accepted and ignored by update.
UPDATE_IGN = {
    "table_name",
    "status",
    "profile_metrics_table_name",
    "drift_metrics_table_name",
    "monitor_version",
    "assets_dir",
    "latest_monitor_failure_msg",
}
MAX_REFRESHES_LISTED = 25

# Columns of the metric tables the service creates (abridged to what tools look at); both start
# with the same key columns: window, granularity, model, slice, column.
_KEY_COLUMNS = [
    {"name": "window", "type": "struct<start:timestamp,end:timestamp>"},
    {"name": "granularity", "type": "string"},
    {"name": "model_id_col", "type": "string"},
    {"name": "model_id", "type": "string"},
    {"name": "slice_key", "type": "string"},
    {"name": "slice_value", "type": "string"},
    {"name": "column_name", "type": "string"},
    {"name": "data_type", "type": "string"},
]
_PROFILE_COLUMNS = _KEY_COLUMNS + [
    {"name": "logging_table_commit_version", "type": "int"},
    {"name": "monitor_version", "type": "bigint"},
    {"name": "count", "type": "bigint"},
    {"name": "num_nulls", "type": "bigint"},
    {"name": "avg", "type": "double"},
    {"name": "min", "type": "double"},
    {"name": "max", "type": "double"},
    {"name": "stddev", "type": "double"},
    {"name": "distinct_count", "type": "bigint"},
]
_DRIFT_COLUMNS = _KEY_COLUMNS + [
    {"name": "window_cmp", "type": "struct<start:timestamp,end:timestamp>"},
    {"name": "drift_type", "type": "string"},
    {"name": "monitor_version", "type": "bigint"},
    {"name": "count_delta", "type": "double"},
    {"name": "avg_delta", "type": "double"},
    {"name": "js_distance", "type": "double"},
    {"name": "ks_test", "type": "struct<statistic:double,pvalue:double>"},
    {"name": "chi_squared_test", "type": "struct<statistic:double,pvalue:double>"},
]


def _now_ms() -> int:
    return int(time.time() * 1000)


class _Clock:
    """Delays from the settings, in milliseconds."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.active_ms = int(float(settings.monitor_active_delay_seconds) * 1000)
        self.tables_ms = int(float(settings.extra.get("metric_tables_delay_seconds", 0.0)) * 1000)  # type: ignore[arg-type]
        self.refresh_ms = int(float(settings.extra.get("monitor_refresh_delay_seconds", 0.0)) * 1000)  # type: ignore[arg-type]


# ---- validation -------------------------------------------------------------------------------------


def _require_str(body: dict[str, Any], field: str, where: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value:
        invalid(f"Missing required field: {where}{field}.")
    return value


def _check_column(columns: dict[str, Any], table: str, column: str, field: str) -> None:
    if column.lower() not in columns:
        invalid(
            f"Column '{column}' given in {field} does not exist in table {table}. "
            f"Available columns: {', '.join(sorted(columns))}."
        )


def _check_granularities(value: Any, field: str) -> None:
    if not isinstance(value, list) or not value:
        invalid(f"Missing required field: {field}.")
    seen = set()
    for item in value:
        if item not in GRANULARITIES:
            invalid(
                f"Invalid granularity '{item}' in {field}. Supported granularities are: "
                + ", ".join(GRANULARITIES)
                + "."
            )
        if item in seen:
            invalid(f"Duplicate granularity '{item}' in {field}.")
        seen.add(item)


def _validate_config(conn: sqlite3.Connection, table: dict[str, Any], body: dict[str, Any]) -> None:
    """The service's checks shared by create and update, against the monitored table's columns."""
    full_name = table["full_name"]
    columns = {c["name"].lower(): c for c in table.get("columns", [])}

    output_schema = _require_str(body, "output_schema_name", "")
    catalog_schema = split_name(normalise_name(output_schema), parts=2)
    if not schema_exists(conn, ".".join(catalog_schema)):
        fail(404, "SCHEMA_DOES_NOT_EXIST", f"Schema '{normalise_name(output_schema)}' does not exist.")

    present = [p for p in PROFILE_TYPES if body.get(p) is not None]
    if not present:
        invalid("Exactly one of time_series, snapshot or inference_log must be specified; none given.")
    if len(present) > 1:
        invalid(f"Exactly one of time_series, snapshot or inference_log must be specified; got {', '.join(present)}.")

    ts = body.get("time_series")
    if ts is not None:
        if not isinstance(ts, dict):
            invalid("time_series must be an object.")
        _check_column(
            columns, full_name, _require_str(ts, "timestamp_col", "time_series."), "time_series.timestamp_col"
        )
        _check_granularities(ts.get("granularities"), "time_series.granularities")
    snap = body.get("snapshot")
    if snap is not None and snap != {}:
        invalid("snapshot takes no fields.")
    inf = body.get("inference_log")
    if inf is not None:
        if not isinstance(inf, dict):
            invalid("inference_log must be an object.")
        problem_type = _require_str(inf, "problem_type", "inference_log.")
        if problem_type not in PROBLEM_TYPES:
            invalid(f"Invalid problem_type '{problem_type}'. Expected one of {', '.join(sorted(PROBLEM_TYPES))}.")
        for field in ("timestamp_col", "prediction_col", "model_id_col"):
            _check_column(columns, full_name, _require_str(inf, field, "inference_log."), f"inference_log.{field}")
        for field in ("label_col", "prediction_proba_col"):
            if inf.get(field) is not None:
                _check_column(columns, full_name, inf[field], f"inference_log.{field}")
        _check_granularities(inf.get("granularities"), "inference_log.granularities")

    metrics = body.get("custom_metrics")
    if metrics is not None:
        if not isinstance(metrics, list):
            invalid("custom_metrics must be a list.")
        names: set[str] = set()
        for i, metric in enumerate(metrics):
            where = f"custom_metrics[{i}]."
            if not isinstance(metric, dict):
                invalid(f"custom_metrics[{i}] must be an object.")
            name = _require_str(metric, "name", where)
            if name in names:
                invalid(f"Duplicate custom metric name '{name}'. Custom metric names must be unique.")
            names.add(name)
            _require_str(metric, "definition", where)
            _require_str(metric, "output_data_type", where)
            metric_type = _require_str(metric, "type", where)
            if metric_type not in METRIC_TYPES:
                invalid(
                    f"Invalid custom metric type '{metric_type}' for '{name}'. Expected one of {', '.join(sorted(METRIC_TYPES))}."
                )
            inputs = metric.get("input_columns")
            if not isinstance(inputs, list) or not inputs:
                invalid(f"Missing required field: {where}input_columns.")
            for column in inputs:
                if column != ":table":
                    _check_column(columns, full_name, column, f"custom_metrics[{i}].input_columns ('{name}')")

    slicing = body.get("slicing_exprs")
    if slicing is not None:
        if not isinstance(slicing, list) or not all(isinstance(e, str) and e.strip() for e in slicing):
            invalid("slicing_exprs must be a list of non-empty strings.")
        for expression in slicing:
            for column in expression_columns(expression):
                _check_column(columns, full_name, column, f"slicing_exprs ('{expression}')")

    schedule = body.get("schedule")
    if schedule is not None:
        if not isinstance(schedule, dict):
            invalid("schedule must be an object.")
        cron = _require_str(schedule, "quartz_cron_expression", "schedule.")
        problem = quartz_error(cron)
        if problem:
            invalid(f"Invalid quartz_cron_expression '{cron}': {problem}.")
        zone = _require_str(schedule, "timezone_id", "schedule.")
        if timezone_error(zone):
            invalid(f"Invalid timezone_id '{zone}'.")
        pause = schedule.get("pause_status")
        if pause is not None and pause not in PAUSE_STATUSES:
            invalid(f"Invalid pause_status '{pause}'.")

    notifications = body.get("notifications")
    if notifications is not None:
        if not isinstance(notifications, dict):
            invalid("notifications must be an object.")
        for key, destination in notifications.items():
            if key not in ("on_failure", "on_new_classification_tag_detected"):
                invalid(f"Unknown field notifications.{key}.")
            addresses = (destination or {}).get("email_addresses") or []
            if len(addresses) > 5:
                invalid(f"notifications.{key}.email_addresses supports at most 5 addresses; got {len(addresses)}.")

    baseline = body.get("baseline_table_name")
    if baseline is not None:
        require_table(conn, baseline)

    dcc = body.get("data_classification_config")
    if dcc is not None and (not isinstance(dcc, dict) or set(dcc) - {"enabled"}):
        invalid("data_classification_config takes only 'enabled'.")


def _refuse_unknown(body: dict[str, Any], allowed: set[str], call: str) -> None:
    for field in body:
        if field not in allowed:
            if field in CREATE_ONLY:
                invalid(f"Field '{field}' is not accepted by {call}: it can only be set when the monitor is created.")
            if field in CREATE_ERR and call == "create":
                invalid(f"Field '{field}' is set by the service and cannot be given when creating a monitor.")
            invalid(f"Unknown field '{field}' in the {call} request.")


def _profile_type(config: dict[str, Any]) -> str | None:
    return next((p for p in PROFILE_TYPES if config.get(p) is not None), None)


# ---- record <-> MonitorInfo -------------------------------------------------------------------------


def _metric_table_names(table_name: str, output_schema: str) -> tuple[str, str]:
    short = table_name.split(".")[-1]
    schema = normalise_name(output_schema)
    return f"{schema}.{short}_profile_metrics", f"{schema}.{short}_drift_metrics"


def _monitor_info(row: sqlite3.Row) -> dict[str, Any]:
    config = json.loads(row["config"])
    profile, drift = _metric_table_names(row["table_name"], config["output_schema_name"])
    info: dict[str, Any] = {
        "table_name": row["table_name"],
        "status": row["status"],
        "monitor_version": str(row["monitor_version"]),
        "profile_metrics_table_name": profile,
        "drift_metrics_table_name": drift,
    }
    for field in CONFIG_FIELDS:
        value = config.get(field)
        if value is None or value == []:
            continue
        if field == "schedule":
            value = {"pause_status": "UNPAUSED", **value}
        info[field] = value
    if row["dashboard_id"]:
        info["dashboard_id"] = row["dashboard_id"]
    if row["latest_monitor_failure_msg"]:
        info["latest_monitor_failure_msg"] = row["latest_monitor_failure_msg"]
    return info


def _refresh_info(row: sqlite3.Row) -> dict[str, Any]:
    info: dict[str, Any] = {
        "refresh_id": row["refresh_id"],
        "state": row["state"],
        "start_time_ms": row["start_time_ms"],
        "trigger": row["trigger"],
    }
    if row["end_time_ms"] is not None:
        info["end_time_ms"] = row["end_time_ms"]
    if row["message"]:
        info["message"] = row["message"]
    return info


def _get_row(conn: sqlite3.Connection, table_name: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute("SELECT * FROM dbx_monitors WHERE table_name = ?", (table_name,)).fetchone()
    return row


def _require_monitor(conn: sqlite3.Connection, table_name: str) -> sqlite3.Row:
    require_table(conn, table_name)
    row = _get_row(conn, table_name)
    if row is None:
        fail(404, "RESOURCE_DOES_NOT_EXIST", f"Monitor for table '{table_name}' does not exist.")
    return row


# ---- time: lazily move monitors and refreshes forward ---------------------------------------------


def settle(conn: sqlite3.Connection, now: int | None = None, table_name: str | None = None) -> None:
    """Apply every state change whose time has come (PENDING -> ACTIVE, metric tables appearing,
    refreshes completing), for one monitor or, without `table_name`, for every monitor with work
    due. Called before each request, so no background thread is needed; it selects only monitors
    and refreshes that still have something to do (indexed), so its cost does not grow with the
    number of settled monitors (issue #15: re-settling all of them cost ~100 ms a request at 1,000)."""
    now = _now_ms() if now is None else now
    only = "" if table_name is None else " AND table_name = ?"
    args: tuple[Any, ...] = () if table_name is None else (table_name,)
    due = conn.execute(
        "SELECT * FROM dbx_monitors WHERE ((status = ? AND active_at_ms <= ?) OR (tables_ready = 0 AND tables_at_ms <= ?))"
        + only,
        (PENDING, now, now, *args),
    ).fetchall()
    for row in due:
        status = row["status"]
        if status == PENDING:
            status = ACTIVE
            dashboard = None if row["skip_builtin_dashboard"] else (row["dashboard_id"] or uuid.uuid4().hex)
            conn.execute(
                "UPDATE dbx_monitors SET status = ?, dashboard_id = ? WHERE table_name = ?",
                (ACTIVE, dashboard, row["table_name"]),
            )
        if status == ACTIVE and not row["tables_ready"] and now >= row["tables_at_ms"]:
            config = json.loads(row["config"])
            _materialise_metric_tables(conn, row["table_name"], config)
            conn.execute("UPDATE dbx_monitors SET tables_ready = 1 WHERE table_name = ?", (row["table_name"],))
    refreshes = conn.execute(
        "SELECT r.* FROM dbx_monitor_refreshes r JOIN dbx_monitors m ON m.table_name = r.table_name"
        " WHERE r.state IN ('PENDING', 'RUNNING') AND m.status = ?" + only.replace("table_name", "r.table_name"),
        (ACTIVE, *args),
    ).fetchall()
    for refresh in refreshes:
        done = refresh["due_ms"] if refresh["due_ms"] is not None else now
        if now >= done:
            conn.execute(
                "UPDATE dbx_monitor_refreshes SET state = 'SUCCESS', end_time_ms = ? WHERE refresh_id = ?",
                (max(done, refresh["start_time_ms"]), refresh["refresh_id"]),
            )
        elif refresh["state"] == "PENDING":
            conn.execute(
                "UPDATE dbx_monitor_refreshes SET state = 'RUNNING' WHERE refresh_id = ?",
                (refresh["refresh_id"],),
            )


def _materialise_metric_tables(conn: sqlite3.Connection, table_name: str, config: dict[str, Any]) -> None:
    profile, drift = _metric_table_names(table_name, config["output_schema_name"])
    metrics = config.get("custom_metrics") or []
    profile_extra = [{"name": m["name"], "type": "double"} for m in metrics if m["type"] != "CUSTOM_METRIC_TYPE_DRIFT"]
    drift_extra = [{"name": m["name"], "type": "double"} for m in metrics if m["type"] == "CUSTOM_METRIC_TYPE_DRIFT"]
    put_table(conn, profile, _PROFILE_COLUMNS + profile_extra, "monitor", f"Profile metrics of {table_name}")
    put_table(conn, drift, _DRIFT_COLUMNS + drift_extra, "monitor", f"Drift metrics of {table_name}")


# ---- operations -------------------------------------------------------------------------------------


def _create(conn: sqlite3.Connection, clock: _Clock, table_name: str, body: dict[str, Any]) -> dict[str, Any]:
    allowed = (set(CONFIG_FIELDS) | CREATE_ONLY) - CREATE_ERR
    _refuse_unknown(body, allowed, "create")
    table = require_table(conn, table_name)
    if _get_row(conn, table_name) is not None:
        fail(409, "RESOURCE_ALREADY_EXISTS", f"Monitor already exists for table '{table_name}'.")
    assets_dir = _require_str(body, "assets_dir", "")
    if not assets_dir.startswith("/"):
        invalid(f"assets_dir must be an absolute workspace path; got '{assets_dir}'.")
    _validate_config(conn, table, body)
    skip = body.get("skip_builtin_dashboard")
    if skip is not None and not isinstance(skip, bool):
        invalid("skip_builtin_dashboard must be a boolean.")
    warehouse = body.get("warehouse_id")
    if warehouse is not None and not isinstance(warehouse, str):
        invalid("warehouse_id must be a string.")

    config = {field: body[field] for field in CONFIG_FIELDS if body.get(field) is not None}
    now = _now_ms()
    active_at = now + clock.active_ms
    tables_at = active_at + clock.tables_ms
    # A new monitor starts its metric tables afresh: tables left by a deleted monitor are replaced.
    for name in _metric_table_names(table_name, config["output_schema_name"]):
        drop_table(conn, name)
    conn.execute(
        "INSERT INTO dbx_monitors (table_name, config, status, monitor_version, dashboard_id,"
        " latest_monitor_failure_msg, warehouse_id, skip_builtin_dashboard, created_ms, active_at_ms,"
        " tables_at_ms, tables_ready) VALUES (?, ?, ?, 1, NULL, NULL, ?, ?, ?, ?, ?, 0)",
        (
            table_name,
            json.dumps(config, sort_keys=True),
            PENDING,
            warehouse,
            None if skip is None else int(skip),
            now,
            active_at,
            tables_at,
        ),
    )
    # The initial refresh computes the metric tables; it completes when they appear.
    conn.execute(
        "INSERT INTO dbx_monitor_refreshes (table_name, state, trigger, start_time_ms, due_ms)"
        " VALUES (?, 'PENDING', 'MANUAL', ?, ?)",
        (table_name, now, tables_at),
    )
    # The create response always shows the monitor PENDING, even with a zero delay.
    return _monitor_info(_get_row(conn, table_name))  # type: ignore[arg-type]


def _update(conn: sqlite3.Connection, clock: _Clock, table_name: str, body: dict[str, Any]) -> dict[str, Any]:
    _refuse_unknown(body, UPDATE_FIELDS | UPDATE_IGN | {"dashboard_id"}, "update")
    row = _require_monitor(conn, table_name)
    table = require_table(conn, table_name)
    _validate_config(conn, table, body)
    old = json.loads(row["config"])
    before, after = _profile_type(old), _profile_type(body)
    if before != after:
        invalid(
            f"Cannot change the profile type of the monitor on '{table_name}' from {before} to {after}. "
            "Delete the monitor and create a new one."
        )
    config = {field: body[field] for field in UPDATE_FIELDS if body.get(field) is not None}
    config["assets_dir"] = old["assets_dir"]
    dashboard = body.get("dashboard_id") or row["dashboard_id"]
    now = _now_ms()
    # The metric tables are recomputed for the new configuration at the next refresh.
    tables_at = max(row["active_at_ms"], now) + clock.tables_ms
    conn.execute(
        "UPDATE dbx_monitors SET config = ?, monitor_version = monitor_version + 1, dashboard_id = ?,"
        " tables_ready = 0, tables_at_ms = ? WHERE table_name = ?",
        (json.dumps(config, sort_keys=True), dashboard, tables_at, table_name),
    )
    return _monitor_info(_get_row(conn, table_name))  # type: ignore[arg-type]


def _delete(conn: sqlite3.Connection, table_name: str) -> None:
    _require_monitor(conn, table_name)
    conn.execute("DELETE FROM dbx_monitors WHERE table_name = ?", (table_name,))
    conn.execute("DELETE FROM dbx_monitor_refreshes WHERE table_name = ?", (table_name,))


def _run_refresh(conn: sqlite3.Connection, clock: _Clock, table_name: str) -> dict[str, Any]:
    row = _require_monitor(conn, table_name)
    now = _now_ms()
    due = max(now, row["active_at_ms"]) + clock.refresh_ms
    cur = conn.execute(
        "INSERT INTO dbx_monitor_refreshes (table_name, state, trigger, start_time_ms, due_ms)"
        " VALUES (?, 'PENDING', 'MANUAL', ?, ?)",
        (table_name, now, due),
    )
    refresh = conn.execute("SELECT * FROM dbx_monitor_refreshes WHERE refresh_id = ?", (cur.lastrowid,)).fetchone()
    return _refresh_info(refresh)


def _list_refreshes(conn: sqlite3.Connection, table_name: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT * FROM dbx_monitor_refreshes WHERE table_name = ? ORDER BY start_time_ms DESC, refresh_id DESC LIMIT ?",
        (table_name, MAX_REFRESHES_LISTED),
    ).fetchall()
    return [_refresh_info(r) for r in rows]


def _get_refresh(conn: sqlite3.Connection, table_name: str, refresh_id: int) -> sqlite3.Row:
    _require_monitor(conn, table_name)
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM dbx_monitor_refreshes WHERE refresh_id = ? AND table_name = ?", (refresh_id, table_name)
    ).fetchone()
    if row is None:
        fail(404, "RESOURCE_DOES_NOT_EXIST", f"Refresh {refresh_id} does not exist for the monitor on '{table_name}'.")
    return row


# ---- direct state access for tests ------------------------------------------------------------------


def monitor_record(state: SandboxState, table_name: str) -> dict[str, Any] | None:
    """The stored monitor, including what the API never returns (`warehouse_id`,
    `skip_builtin_dashboard`), plus the MonitorInfo get would answer; None if there is none."""
    with state.connect() as conn:
        settle(conn, table_name=normalise_name(table_name))
        row = _get_row(conn, normalise_name(table_name))
        if row is None:
            return None
        return {
            "config": json.loads(row["config"]),
            "warehouse_id": row["warehouse_id"],
            "skip_builtin_dashboard": None
            if row["skip_builtin_dashboard"] is None
            else bool(row["skip_builtin_dashboard"]),
            "monitor_info": _monitor_info(row),
            "refresh_count": conn.execute(
                "SELECT COUNT(*) FROM dbx_monitor_refreshes WHERE table_name = ?", (row["table_name"],)
            ).fetchone()[0],
        }


def edit_monitor(state: SandboxState, table_name: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Edit a monitor behind the tool's back (as a person in the UI would); see module docstring."""
    with state.connect() as conn:
        settle(conn, table_name=normalise_name(table_name))
        return _edit(conn, normalise_name(table_name), changes)


def add_refresh(state: SandboxState, table_name: str, /, **fields: Any) -> list[dict[str, Any]]:
    """Add refresh history to a monitor; see module docstring for the accepted fields."""
    with state.connect() as conn:
        settle(conn, table_name=normalise_name(table_name))
        return _add_refreshes(conn, normalise_name(table_name), fields)


def _edit(conn: sqlite3.Connection, table_name: str, changes: dict[str, Any]) -> dict[str, Any]:
    row = _require_monitor(conn, table_name)
    config = json.loads(row["config"])
    config_changed = False
    for field, value in changes.items():
        if field in CONFIG_FIELDS:
            config_changed = True
            if value is None:
                config.pop(field, None)
            else:
                config[field] = value
        elif field == "status":
            if value not in STATUSES:
                invalid(f"Unknown status '{value}'.")
            conn.execute("UPDATE dbx_monitors SET status = ? WHERE table_name = ?", (value, table_name))
        elif field in ("latest_monitor_failure_msg", "dashboard_id", "warehouse_id"):
            conn.execute(f"UPDATE dbx_monitors SET {field} = ? WHERE table_name = ?", (value, table_name))
        else:
            invalid(f"Field '{field}' cannot be edited.")
    if config_changed:
        conn.execute(
            "UPDATE dbx_monitors SET config = ?, monitor_version = monitor_version + 1 WHERE table_name = ?",
            (json.dumps(config, sort_keys=True), table_name),
        )
    return _monitor_info(_get_row(conn, table_name))  # type: ignore[arg-type]


def _add_refreshes(conn: sqlite3.Connection, table_name: str, fields: dict[str, Any]) -> list[dict[str, Any]]:
    _require_monitor(conn, table_name)
    now = _now_ms()
    if "count" in fields:
        count = int(fields["count"])
        since = int(fields.get("since_ms", now - count * 86_400_000))
        step = (now - since) // max(count, 1)
        items: list[dict[str, Any]] = [
            {
                "state": "SUCCESS",
                "trigger": "SCHEDULE",
                "start_time_ms": since + i * step,
                "end_time_ms": since + i * step + 60_000,
            }
            for i in range(count)
        ]
    else:
        items = [fields]
    created = []
    for item in items:
        state_ = item.get("state", "SUCCESS")
        start = int(item.get("start_time_ms", now))
        end = item.get("end_time_ms", start + 60_000 if state_ in ("SUCCESS", "FAILED", "CANCELED") else None)
        cur = conn.execute(
            "INSERT INTO dbx_monitor_refreshes (table_name, state, trigger, start_time_ms, end_time_ms, message, due_ms)"
            " VALUES (?, ?, ?, ?, ?, ?, NULL)",
            (table_name, state_, item.get("trigger", "SCHEDULE"), start, end, item.get("message")),
        )
        created.append(
            _refresh_info(
                conn.execute("SELECT * FROM dbx_monitor_refreshes WHERE refresh_id = ?", (cur.lastrowid,)).fetchone()
            )
        )
    return created


# ---- routes -----------------------------------------------------------------------------------------


def register(app: Flask, state: SandboxState, settings: SandboxSettings) -> None:
    state.init_schema(DDL)
    clock = _Clock(settings)
    dbx_http.install(app, settings, ("/api/2.1/unity-catalog/", "/api/2.1/quality-monitoring/"))

    @app.before_request
    def _settle_monitors():  # type: ignore[no-untyped-def]
        # A monitor call settles its own monitor; a catalog lookup (a metric table may just have
        # appeared) or a listing settles whatever is due.
        if not request.path.startswith(("/api/2.1/", "/sandbox/databricks/", "/api/data-quality/")):
            return
        table = request.view_args.get("table") if request.view_args else None
        with state.connect() as conn:
            settle(conn, table_name=normalise_name(table) if isinstance(table, str) else None)

    base = "/api/2.1/unity-catalog/tables/<table>/monitor"

    @app.get(base)
    def monitor_get(table: str):  # type: ignore[no-untyped-def]
        with state.connect() as conn:
            return jsonify(_monitor_info(_require_monitor(conn, normalise_name(table))))

    @app.post(base)
    def monitor_create(table: str):  # type: ignore[no-untyped-def]
        body = dbx_http.json_body()
        with state.connect() as conn:
            return jsonify(_create(conn, clock, normalise_name(table), body))

    @app.put(base)
    def monitor_update(table: str):  # type: ignore[no-untyped-def]
        body = dbx_http.json_body()
        with state.connect() as conn:
            return jsonify(_update(conn, clock, normalise_name(table), body))

    @app.delete(base)
    def monitor_delete(table: str):  # type: ignore[no-untyped-def]
        with state.connect() as conn:
            _delete(conn, normalise_name(table))
        return jsonify({})

    @app.post(base + "/refreshes")
    def monitor_run_refresh(table: str):  # type: ignore[no-untyped-def]
        with state.connect() as conn:
            return jsonify(_run_refresh(conn, clock, normalise_name(table)))

    @app.get(base + "/refreshes")
    def monitor_list_refreshes(table: str):  # type: ignore[no-untyped-def]
        with state.connect() as conn:
            name = normalise_name(table)
            _require_monitor(conn, name)
            return jsonify({"refreshes": _list_refreshes(conn, name)})

    @app.get(base + "/refreshes/<int:refresh_id>")
    def monitor_get_refresh(table: str, refresh_id: int):  # type: ignore[no-untyped-def]
        with state.connect() as conn:
            return jsonify(_refresh_info(_get_refresh(conn, normalise_name(table), refresh_id)))

    @app.post(base + "/refreshes/<int:refresh_id>/cancel")
    def monitor_cancel_refresh(table: str, refresh_id: int):  # type: ignore[no-untyped-def]
        with state.connect() as conn:
            row = _get_refresh(conn, normalise_name(table), refresh_id)
            if row["state"] not in ("PENDING", "RUNNING"):
                invalid(f"Refresh {refresh_id} has already finished ({row['state']}) and cannot be canceled.")
            conn.execute(
                "UPDATE dbx_monitor_refreshes SET state = 'CANCELED', end_time_ms = ? WHERE refresh_id = ?",
                (_now_ms(), refresh_id),
            )
        return jsonify({})

    @app.post("/api/2.1/quality-monitoring/tables/<table>/monitor/dashboard")
    def monitor_regenerate_dashboard(table: str):  # type: ignore[no-untyped-def]
        dbx_http.json_body()
        with state.connect() as conn:
            name = normalise_name(table)
            row = _require_monitor(conn, name)
            dashboard = uuid.uuid4().hex
            conn.execute("UPDATE dbx_monitors SET dashboard_id = ? WHERE table_name = ?", (dashboard, name))
            config = json.loads(row["config"])
        return jsonify({"dashboard_id": dashboard, "parent_folder": f"{config['assets_dir']}/{name.split('.')[-1]}"})

    # ---- test control ----
    @app.get("/sandbox/databricks/monitors/<table>")
    def sandbox_monitor_record(table: str):  # type: ignore[no-untyped-def]
        record = monitor_record(state, table)
        if record is None:
            fail(404, "RESOURCE_DOES_NOT_EXIST", f"Monitor for table '{normalise_name(table)}' does not exist.")
        return jsonify(record)

    @app.patch("/sandbox/databricks/monitors/<table>")
    def sandbox_monitor_edit(table: str):  # type: ignore[no-untyped-def]
        return jsonify(edit_monitor(state, table, dbx_http.json_body()))

    @app.post("/sandbox/databricks/monitors/<table>/refreshes")
    def sandbox_monitor_add_refresh(table: str):  # type: ignore[no-untyped-def]
        return jsonify({"refreshes": add_refresh(state, table, **dbx_http.json_body())})
