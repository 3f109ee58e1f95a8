"""Emulator of the Data Quality v1 monitors API (`/api/data-quality/v1/monitors`).

Follows databricks-sdk **0.162.0** `w.data_quality` (`databricks/sdk/service/dataquality.py`,
`DataQualityAPI`): `create_monitor`, `get_monitor`, `update_monitor` (PATCH with `update_mask`),
`delete_monitor`, `list_monitor` (page_size / page_token), `create_refresh`, `get_refresh`,
`list_refresh`, `cancel_refresh`, `delete_refresh`; shapes of `Monitor`, `DataProfilingConfig`,
`AnomalyDetectionConfig`, `Refresh`, `ListMonitorResponse`, `ListRefreshResponse`,
`CancelRefreshResponse`.

Why over the same state as the legacy emulator: it is one service with two APIs. A table's data
profiling monitor *is* the legacy monitor on that table (`databricks_monitors`), translated by
`reconciler.kinds.monitor_shapes`, so a monitor created through one API is read, updated and
deleted through the other, with the same validation, status transitions and refresh history.
Objects are addressed by `object_type` (`table` | `schema`) and `object_id` (the Unity Catalog
`table_id` / `schema_id` of `databricks_catalog`).

- `data_profiling_config` is for tables; `anomaly_detection_config` for schemas (anomaly detection
  over every table of the schema but `excluded_table_full_names`), kept in its own table here.
  Its `notification_settings` take `on_unhealthy_table` with `destination_ids` /
  `destination_user_ids` only (the SDK's docstring: `on_failure` and email addresses are not
  supported on schema monitors; 400 otherwise); both lists empty removes the alert.
- Update replaces the fields the `update_mask` names (`data_profiling_config.<field>` or
  `anomaly_detection_config.<field>`; a nested path replaces its top-level field), leaves the others
  and keeps the legacy-only settings (data classification, classification-tag notifications,
  prediction probabilities) v1 cannot express. An empty mask is 400.
- Like the legacy API, `warehouse_id` / `skip_builtin_dashboard` are accepted by create and not
  returned by get.
- Errors: unknown object ids 404 `RESOURCE_DOES_NOT_EXIST` (a monitor that does not exist, too),
  a second monitor 409 `RESOURCE_ALREADY_EXISTS`, bad requests 400 `INVALID_PARAMETER_VALUE`.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from flask import Flask, jsonify, request

from ..kinds import monitor_shapes as shapes
from . import dbx_http
from .databricks_catalog import all_schemas, get_table, normalise_name
from .databricks_monitors import (
    CONFIG_FIELDS,
    _Clock,
    _create,
    _delete,
    _get_refresh,
    _get_row,
    _list_refreshes,
    _monitor_info,
    _refresh_info,
    _run_refresh,
    _update,
)
from .dbx_http import fail, invalid
from .settings import SandboxSettings
from .state import SandboxState

BASE = "/api/data-quality/v1/monitors"
DEFAULT_PAGE_SIZE = 100
DDL = """
CREATE TABLE IF NOT EXISTS dbx_anomaly_monitors (
    schema_name TEXT PRIMARY KEY,
    config TEXT NOT NULL               -- AnomalyDetectionConfig JSON
);
"""
# Legacy configuration fields v1 cannot express: kept across a v1 update.
_LEGACY_ONLY = ("data_classification_config",)


def _table_by_id(conn: sqlite3.Connection, table_id: str) -> str:
    for row in conn.execute("SELECT full_name, doc FROM dbx_uc_tables"):
        if json.loads(row["doc"]).get("table_id") == table_id:
            return str(row["full_name"])
    fail(404, "RESOURCE_DOES_NOT_EXIST", f"Table with id '{table_id}' does not exist.")


def _schema_by_id(conn: sqlite3.Connection, schema_id: str) -> dict[str, Any]:
    for info in all_schemas(conn):
        if info.get("schema_id") == schema_id:
            return info
    fail(404, "RESOURCE_DOES_NOT_EXIST", f"Schema with id '{schema_id}' does not exist.")


def _schema_id(conn: sqlite3.Connection, full_name: str) -> str | None:
    name = normalise_name(full_name)
    return next((str(i["schema_id"]) for i in all_schemas(conn) if i["full_name"] == name), None)


def _profiling(conn: sqlite3.Connection, table: str, table_id: str) -> dict[str, Any]:
    row = _get_row(conn, table)
    if row is None:
        fail(404, "RESOURCE_DOES_NOT_EXIST", f"Monitor for table '{table}' does not exist.")
    info = _monitor_info(row)
    config = shapes.to_v1(info, _schema_id(conn, info["output_schema_name"]))
    return {"object_type": "table", "object_id": table_id, "data_profiling_config": config}


def _anomaly(conn: sqlite3.Connection, schema: dict[str, Any]) -> dict[str, Any]:
    row = conn.execute(
        "SELECT config FROM dbx_anomaly_monitors WHERE schema_name = ?", (schema["full_name"],)
    ).fetchone()
    if row is None:
        fail(404, "RESOURCE_DOES_NOT_EXIST", f"Monitor for schema '{schema['full_name']}' does not exist.")
    return {
        "object_type": "schema",
        "object_id": schema["schema_id"],
        "anomaly_detection_config": json.loads(row["config"]),
    }


def _legacy_body(conn: sqlite3.Connection, config: dict[str, Any]) -> dict[str, Any]:
    schema_id = config.get("output_schema_id")
    if not isinstance(schema_id, str) or not schema_id:
        invalid("Missing required field: data_profiling_config.output_schema_id.")
    schema = _schema_by_id(conn, schema_id)
    body = shapes.to_legacy(config, schema["full_name"])
    for server_owned in shapes.SERVER_FIELDS:
        body.pop(server_owned.legacy, None)
    return body


def _check_anomaly(conn: sqlite3.Connection, schema: dict[str, Any], config: Any) -> dict[str, Any]:
    if not isinstance(config, dict):
        invalid("anomaly_detection_config must be an object.")
    unknown = set(config) - {"excluded_table_full_names", "notification_settings"}
    if unknown:
        invalid(f"Unknown field(s) in anomaly_detection_config: {', '.join(sorted(unknown))}.")
    excluded = config.get("excluded_table_full_names") or []
    if not isinstance(excluded, list):
        invalid("anomaly_detection_config.excluded_table_full_names must be a list.")
    for name in excluded:
        if not isinstance(name, str) or normalise_name(name).rsplit(".", 1)[0] != schema["full_name"]:
            invalid(f"Excluded table '{name}' is not a table of schema '{schema['full_name']}'.")
        if get_table(conn, name) is None:
            fail(404, "TABLE_DOES_NOT_EXIST", f"Table '{normalise_name(name)}' does not exist.")
    settings = config.get("notification_settings") or {}
    # SDK 0.162.0 AnomalyDetectionConfig.notification_settings: "Set the recipients in
    # on_unhealthy_table; on_failure is not supported here. Only destination_ids and
    # destination_user_ids are supported." Both lists empty removes the alert.
    if not isinstance(settings, dict) or set(settings) - {"on_unhealthy_table"}:
        invalid(
            "anomaly_detection_config.notification_settings takes on_unhealthy_table only (on_failure is not supported)."
        )
    recipients = settings.get("on_unhealthy_table") or {}
    if not isinstance(recipients, dict) or set(recipients) - {"destination_ids", "destination_user_ids"}:
        invalid("notification_settings.on_unhealthy_table takes destination_ids and destination_user_ids only.")
    for field in ("destination_ids", "destination_user_ids"):
        values = recipients.get(field) or []
        if not isinstance(values, list) or len(values) > 25:
            invalid(f"notification_settings.on_unhealthy_table.{field} must be a list of at most 25 ids.")
    out: dict[str, Any] = {}
    if excluded:
        out["excluded_table_full_names"] = [normalise_name(n) for n in excluded]
    kept = {f: list(recipients[f]) for f in ("destination_ids", "destination_user_ids") if recipients.get(f)}
    if kept:
        out["notification_settings"] = {"on_unhealthy_table": kept}
    return out


def _mask(raw: str | None, block: str) -> list[str]:
    fields = [p.strip() for p in (raw or "").split(",") if p.strip()]
    if not fields:
        invalid("update_mask is required: name the fields to update, e.g. data_profiling_config.schedule.")
    top = []
    for path in fields:
        head, _, rest = path.partition(".")
        if head != block or not rest:
            invalid(f"Invalid update_mask path '{path}': expected {block}.<field>.")
        top.append(rest.split(".", 1)[0])
    return list(dict.fromkeys(top))


def register(app: Flask, state: SandboxState, settings: SandboxSettings) -> None:
    state.init_schema(DDL)
    clock = _Clock(settings)
    dbx_http.install(app, settings, ("/api/data-quality/",))
    page_size = int(settings.extra.get("data_quality_page_size", DEFAULT_PAGE_SIZE))  # type: ignore[call-overload]

    def resolve(conn: sqlite3.Connection, object_type: str, object_id: str) -> tuple[str, Any]:
        if object_type == "table":
            return "table", _table_by_id(conn, object_id)
        if object_type == "schema":
            return "schema", _schema_by_id(conn, object_id)
        invalid(f"Invalid object_type '{object_type}': expected table or schema.")

    def monitor(conn: sqlite3.Connection, object_type: str, object_id: str) -> dict[str, Any]:
        kind, target = resolve(conn, object_type, object_id)
        return _profiling(conn, target, object_id) if kind == "table" else _anomaly(conn, target)

    @app.post(BASE)
    def dq_create_monitor():  # type: ignore[no-untyped-def]
        body = dbx_http.json_body()
        object_type, object_id = str(body.get("object_type") or ""), str(body.get("object_id") or "")
        with state.connect() as conn:
            kind, target = resolve(conn, object_type, object_id)
            profiling, anomaly = body.get("data_profiling_config"), body.get("anomaly_detection_config")
            if kind == "table":
                if anomaly is not None or not isinstance(profiling, dict):
                    invalid("A table monitor takes data_profiling_config (and not anomaly_detection_config).")
                _create(conn, clock, target, _legacy_body(conn, profiling))
                return jsonify(_profiling(conn, target, object_id))
            if profiling is not None or anomaly is None:
                invalid("A schema monitor takes anomaly_detection_config (and not data_profiling_config).")
            if conn.execute(
                "SELECT 1 FROM dbx_anomaly_monitors WHERE schema_name = ?", (target["full_name"],)
            ).fetchone():
                fail(409, "RESOURCE_ALREADY_EXISTS", f"Monitor already exists for schema '{target['full_name']}'.")
            config = _check_anomaly(conn, target, anomaly)
            conn.execute(
                "INSERT INTO dbx_anomaly_monitors (schema_name, config) VALUES (?, ?)",
                (target["full_name"], json.dumps(config, sort_keys=True)),
            )
            return jsonify(_anomaly(conn, target))

    @app.get(f"{BASE}/<object_type>/<object_id>")
    def dq_get_monitor(object_type: str, object_id: str):  # type: ignore[no-untyped-def]
        with state.connect() as conn:
            return jsonify(monitor(conn, object_type, object_id))

    @app.patch(f"{BASE}/<object_type>/<object_id>")
    def dq_update_monitor(object_type: str, object_id: str):  # type: ignore[no-untyped-def]
        body = dbx_http.json_body()
        with state.connect() as conn:
            kind, target = resolve(conn, object_type, object_id)
            current = monitor(conn, object_type, object_id)
            block = "data_profiling_config" if kind == "table" else "anomaly_detection_config"
            fields = _mask(request.args.get("update_mask"), block)
            new = dict(current[block])
            given = body.get(block) or {}
            if not isinstance(given, dict):
                invalid(f"{block} must be an object.")
            for field in fields:
                if given.get(field) is None:
                    new.pop(field, None)
                else:
                    new[field] = given[field]
            if kind == "schema":
                # Fields the request did not name stay as stored, even ones this emulator's API
                # version does not know (a newer service's, or set by the UI): only the mask is written.
                known = {"excluded_table_full_names", "notification_settings"}
                config = {
                    **{k: v for k, v in new.items() if k not in known},
                    **_check_anomaly(conn, target, {k: v for k, v in new.items() if k in known}),
                }
                conn.execute(
                    "UPDATE dbx_anomaly_monitors SET config = ? WHERE schema_name = ?",
                    (json.dumps(config, sort_keys=True), target["full_name"]),
                )
                return jsonify(_anomaly(conn, target))
            legacy = _legacy_body(conn, new)
            old = json.loads(_get_row(conn, target)["config"])  # type: ignore[index]
            for field in _LEGACY_ONLY:
                if old.get(field) is not None:
                    legacy[field] = old[field]
            if old.get("notifications", {}).get("on_new_classification_tag_detected"):
                legacy.setdefault("notifications", {})["on_new_classification_tag_detected"] = old["notifications"][
                    "on_new_classification_tag_detected"
                ]
            if (old.get("inference_log") or {}).get("prediction_proba_col") and legacy.get("inference_log"):
                legacy["inference_log"]["prediction_proba_col"] = old["inference_log"]["prediction_proba_col"]
            for field in ("warehouse_id", "skip_builtin_dashboard", "assets_dir"):
                legacy.pop(field, None)
            legacy = {k: v for k, v in legacy.items() if k in CONFIG_FIELDS}
            _update(conn, clock, target, legacy)
            return jsonify(_profiling(conn, target, object_id))

    @app.delete(f"{BASE}/<object_type>/<object_id>")
    def dq_delete_monitor(object_type: str, object_id: str):  # type: ignore[no-untyped-def]
        with state.connect() as conn:
            kind, target = resolve(conn, object_type, object_id)
            monitor(conn, object_type, object_id)
            if kind == "table":
                _delete(conn, target)
            else:
                conn.execute("DELETE FROM dbx_anomaly_monitors WHERE schema_name = ?", (target["full_name"],))
        return jsonify({})

    @app.get(BASE)
    def dq_list_monitors():  # type: ignore[no-untyped-def]
        with state.connect() as conn:
            items: list[dict[str, Any]] = []
            for row in conn.execute("SELECT table_name FROM dbx_monitors ORDER BY table_name").fetchall():
                table = get_table(conn, row["table_name"])
                if table is not None:
                    items.append(_profiling(conn, row["table_name"], table["table_id"]))
            schemas = {i["full_name"]: i for i in all_schemas(conn)}
            for row in conn.execute("SELECT schema_name FROM dbx_anomaly_monitors ORDER BY schema_name").fetchall():
                if row["schema_name"] in schemas:
                    items.append(_anomaly(conn, schemas[row["schema_name"]]))
        page = dbx_http.paginate(items, dbx_http.int_arg("page_size"), request.args.get("page_token"), page_size)
        return dbx_http.listing("monitors", items, page)

    def table_target(conn: sqlite3.Connection, object_type: str, object_id: str) -> str:
        kind, target = resolve(conn, object_type, object_id)
        if kind != "table":
            invalid("Refreshes exist for data profiling (table) monitors only.")
        monitor(conn, object_type, object_id)
        return str(target)

    def refresh(object_type: str, object_id: str, row: sqlite3.Row) -> dict[str, Any]:
        return {"object_type": object_type, "object_id": object_id, **shapes.refresh_to_v1(_refresh_info(row))}

    @app.post(f"{BASE}/<object_type>/<object_id>/refreshes")
    def dq_create_refresh(object_type: str, object_id: str):  # type: ignore[no-untyped-def]
        dbx_http.json_body()
        with state.connect() as conn:
            table = table_target(conn, object_type, object_id)
            info = _run_refresh(conn, clock, table)
            return jsonify({"object_type": object_type, "object_id": object_id, **shapes.refresh_to_v1(info)})

    @app.get(f"{BASE}/<object_type>/<object_id>/refreshes")
    def dq_list_refreshes(object_type: str, object_id: str):  # type: ignore[no-untyped-def]
        with state.connect() as conn:
            table = table_target(conn, object_type, object_id)
            items = [
                {"object_type": object_type, "object_id": object_id, **shapes.refresh_to_v1(r)}
                for r in _list_refreshes(conn, table)
            ]
        page = dbx_http.paginate(items, dbx_http.int_arg("page_size"), request.args.get("page_token"), page_size)
        return dbx_http.listing("refreshes", items, page)

    @app.get(f"{BASE}/<object_type>/<object_id>/refreshes/<int:refresh_id>")
    def dq_get_refresh(object_type: str, object_id: str, refresh_id: int):  # type: ignore[no-untyped-def]
        with state.connect() as conn:
            table = table_target(conn, object_type, object_id)
            return jsonify(refresh(object_type, object_id, _get_refresh(conn, table, refresh_id)))

    @app.post(f"{BASE}/<object_type>/<object_id>/refreshes/<int:refresh_id>/cancel")
    def dq_cancel_refresh(object_type: str, object_id: str, refresh_id: int):  # type: ignore[no-untyped-def]
        with state.connect() as conn:
            table = table_target(conn, object_type, object_id)
            row = _get_refresh(conn, table, refresh_id)
            if row["state"] not in ("PENDING", "RUNNING"):
                invalid(f"Refresh {refresh_id} has already finished ({row['state']}) and cannot be canceled.")
            conn.execute(
                "UPDATE dbx_monitor_refreshes SET state = 'CANCELED', end_time_ms = start_time_ms WHERE refresh_id = ?",
                (refresh_id,),
            )
            return jsonify({"refresh": refresh(object_type, object_id, _get_refresh(conn, table, refresh_id))})

    @app.delete(f"{BASE}/<object_type>/<object_id>/refreshes/<int:refresh_id>")
    def dq_delete_refresh(object_type: str, object_id: str, refresh_id: int):  # type: ignore[no-untyped-def]
        with state.connect() as conn:
            table = table_target(conn, object_type, object_id)
            _get_refresh(conn, table, refresh_id)
            conn.execute("DELETE FROM dbx_monitor_refreshes WHERE refresh_id = ?", (refresh_id,))
        return jsonify({})
