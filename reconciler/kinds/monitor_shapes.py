"""The two shapes of a data-profiling (quality) monitor, and the one mapping between them.

databricks-sdk **0.162.0** has two APIs for the same monitor: the legacy `w.quality_monitors`
(`databricks/sdk/service/catalog.py`: `MonitorInfo`, `MonitorTimeSeries`, `MonitorInferenceLog`,
`MonitorMetric`, `MonitorCronSchedule`, `MonitorNotifications`) and the Data Quality v1
`w.data_quality` (`databricks/sdk/service/dataquality.py`: `Monitor`, `DataProfilingConfig`,
`TimeSeriesConfig`, `InferenceLogConfig`, `DataProfilingCustomMetric`, `CronSchedule`,
`NotificationSettings`, `Refresh`). The `QualityMonitor` kind plans on the legacy shape
(`monitor_state`); a v1 monitor is translated into it by the table below, so an unchanged monitor
plans identically whichever API reads it.

Why data: each row is (legacy field, v1 field, value conversion); both directions, the fields v1
cannot express and the update mask are all read from it, by the provider and by the sandbox's v1
emulator alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def _enum(legacy_prefix: str, v1_prefix: str) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    def to_v1(value: Any) -> Any:
        return f"{v1_prefix}{value[len(legacy_prefix) :]}" if isinstance(value, str) else value

    def to_legacy(value: Any) -> Any:
        return f"{legacy_prefix}{value[len(v1_prefix) :]}" if isinstance(value, str) else value

    return to_v1, to_legacy


def _granularities_v1(values: Any) -> Any:
    # "1 day" -> AGGREGATION_GRANULARITY_1_DAY, "2 weeks" -> AGGREGATION_GRANULARITY_2_WEEKS
    return [f"AGGREGATION_GRANULARITY_{str(v).upper().replace(' ', '_')}" for v in values or []]


def _granularities_legacy(values: Any) -> Any:
    return [str(v).removeprefix("AGGREGATION_GRANULARITY_").replace("_", " ").lower() for v in values or []]


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class FieldMap:
    legacy: str  # field of MonitorInfo (or of a nested legacy block)
    v1: str | None  # field of DataProfilingConfig (or nested v1 block); None: v1 has no such field
    to_v1: Callable[[Any], Any] = _same
    to_legacy: Callable[[Any], Any] = _same
    nested: tuple[FieldMap, ...] = ()  # fields of a nested object
    is_list: bool = False  # `nested` applies to each item of a list

    def convert(self, value: Any, forward: bool) -> Any:
        if value is None:
            return None
        if self.nested:
            items = value if self.is_list else [value]
            out = [_convert_block(item, self.nested, forward) for item in items]
            return out if self.is_list else out[0]
        return (self.to_v1 if forward else self.to_legacy)(value)


_METRIC_TYPE = _enum("CUSTOM_METRIC_TYPE_", "DATA_PROFILING_CUSTOM_METRIC_TYPE_")
_PROBLEM_TYPE = _enum("PROBLEM_TYPE_", "INFERENCE_PROBLEM_TYPE_")
_STATUS = _enum("MONITOR_STATUS_", "DATA_PROFILING_STATUS_")
_REFRESH_STATE = _enum("", "MONITOR_REFRESH_STATE_")
_REFRESH_TRIGGER = _enum("", "MONITOR_REFRESH_TRIGGER_")


def _pause_v1(value: Any) -> Any:
    return f"CRON_SCHEDULE_PAUSE_STATUS_{value}" if value in ("PAUSED", "UNPAUSED") else None


def _pause_legacy(value: Any) -> Any:
    return str(value).removeprefix("CRON_SCHEDULE_PAUSE_STATUS_") if value else None


_DESTINATION = (FieldMap("email_addresses", "email_addresses"),)

# MonitorInfo (catalog.py) <-> DataProfilingConfig (dataquality.py), SDK 0.162.0. The output
# schema is named in one and addressed by id in the other: `output_schema_name` is resolved by the
# caller (Unity Catalog lookup), not here.
CONFIG_FIELDS: tuple[FieldMap, ...] = (
    FieldMap("assets_dir", "assets_dir"),
    FieldMap("baseline_table_name", "baseline_table_name"),
    FieldMap(
        "custom_metrics",
        "custom_metrics",
        is_list=True,
        nested=(
            FieldMap("name", "name"),
            FieldMap("definition", "definition"),
            FieldMap("input_columns", "input_columns"),
            FieldMap("output_data_type", "output_data_type"),
            FieldMap("type", "type", *_METRIC_TYPE),
        ),
    ),
    FieldMap(
        "time_series",
        "time_series",
        nested=(
            FieldMap("timestamp_col", "timestamp_column"),
            FieldMap("granularities", "granularities", _granularities_v1, _granularities_legacy),
        ),
    ),
    FieldMap("snapshot", "snapshot", lambda _: {}, lambda _: {}),
    FieldMap(
        "inference_log",
        "inference_log",
        nested=(
            FieldMap("problem_type", "problem_type", *_PROBLEM_TYPE),
            FieldMap("timestamp_col", "timestamp_column"),
            FieldMap("granularities", "granularities", _granularities_v1, _granularities_legacy),
            FieldMap("prediction_col", "prediction_column"),
            FieldMap("model_id_col", "model_id_column"),
            FieldMap("label_col", "label_column"),
            FieldMap("prediction_proba_col", None),
        ),
    ),
    FieldMap(
        "schedule",
        "schedule",
        nested=(
            FieldMap("quartz_cron_expression", "quartz_cron_expression"),
            FieldMap("timezone_id", "timezone_id"),
            FieldMap("pause_status", "pause_status", _pause_v1, _pause_legacy),
        ),
    ),
    FieldMap(
        "notifications",
        "notification_settings",
        nested=(
            FieldMap("on_failure", "on_failure", nested=_DESTINATION),
            FieldMap("on_new_classification_tag_detected", None),
        ),
    ),
    FieldMap("slicing_exprs", "slicing_exprs"),
    FieldMap("data_classification_config", None),
    FieldMap("warehouse_id", "warehouse_id"),
    FieldMap("skip_builtin_dashboard", "skip_builtin_dashboard"),
)
# Server-owned fields (read only).
SERVER_FIELDS: tuple[FieldMap, ...] = (
    FieldMap("table_name", "monitored_table_name"),
    FieldMap("status", "status", *_STATUS),
    FieldMap("monitor_version", "monitor_version", int, str),
    FieldMap("dashboard_id", "dashboard_id"),
    FieldMap("profile_metrics_table_name", "profile_metrics_table_name"),
    FieldMap("drift_metrics_table_name", "drift_metrics_table_name"),
    FieldMap("latest_monitor_failure_msg", "latest_monitor_failure_message"),
)
# The profile blocks: exactly one is set; the update mask names the one in use.
PROFILE_BLOCKS = ("time_series", "snapshot", "inference_log")
# Fields the v1 update mask covers: every updatable configuration field (update replaces them all,
# as the legacy update does). Create-only fields (assets_dir, warehouse_id, skip_builtin_dashboard)
# are not in it.
UPDATE_MASK_FIELDS = (
    "output_schema_id",
    "baseline_table_name",
    "custom_metrics",
    "notification_settings",
    "schedule",
    "slicing_exprs",
)
REFRESH_FIELDS: tuple[FieldMap, ...] = (
    FieldMap("refresh_id", "refresh_id"),
    FieldMap("state", "state", *_REFRESH_STATE),
    FieldMap("trigger", "trigger", *_REFRESH_TRIGGER),
    FieldMap("start_time_ms", "start_time_ms"),
    FieldMap("end_time_ms", "end_time_ms"),
    FieldMap("message", "message"),
)


def _convert_block(block: dict[str, Any], fields: tuple[FieldMap, ...], forward: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in fields:
        source, dest = (field.legacy, field.v1) if forward else (field.v1, field.legacy)
        if source is None or dest is None or block.get(source) is None:
            continue
        value = field.convert(block[source], forward)
        if value is not None:
            out[dest] = value
    return out


def to_v1(legacy: dict[str, Any], output_schema_id: str | None) -> dict[str, Any]:
    """DataProfilingConfig JSON from MonitorInfo-shaped JSON (configuration and server fields)."""
    config = _convert_block(legacy, CONFIG_FIELDS + SERVER_FIELDS, forward=True)
    if output_schema_id is not None:
        config["output_schema_id"] = output_schema_id
    return config


def to_legacy(v1: dict[str, Any], output_schema_name: str | None) -> dict[str, Any]:
    """MonitorInfo-shaped JSON from DataProfilingConfig JSON."""
    info = _convert_block(v1, CONFIG_FIELDS + SERVER_FIELDS, forward=False)
    if output_schema_name is not None:
        info["output_schema_name"] = output_schema_name
    return info


def refresh_to_v1(legacy: dict[str, Any]) -> dict[str, Any]:
    return _convert_block(legacy, REFRESH_FIELDS, forward=True)


def refresh_to_legacy(v1: dict[str, Any]) -> dict[str, Any]:
    return _convert_block(v1, REFRESH_FIELDS, forward=False)


def not_in_v1(legacy: dict[str, Any]) -> list[str]:
    """Paths of the set fields of a MonitorInfo-shaped body the v1 API has no field for."""
    missing: list[str] = []

    def walk(block: dict[str, Any], fields: tuple[FieldMap, ...], prefix: str) -> None:
        for field in fields:
            value = block.get(field.legacy)
            if value in (None, {}, [], False) or (isinstance(value, dict) and not any(value.values())):
                continue
            if field.v1 is None:
                missing.append(prefix + field.legacy)
            elif field.nested and not field.is_list and isinstance(value, dict):
                walk(value, field.nested, f"{prefix}{field.legacy}.")

    walk(legacy, CONFIG_FIELDS, "")
    return missing


def update_mask(v1_config: dict[str, Any]) -> str:
    """The update mask of a full-configuration update (the profile block in use included)."""
    fields = list(UPDATE_MASK_FIELDS) + [b for b in PROFILE_BLOCKS if v1_config.get(b) is not None]
    return ",".join(f"data_profiling_config.{f}" for f in fields)
