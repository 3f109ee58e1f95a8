"""Kind `QualityMonitor`: a Databricks lakehouse (quality) monitor on one Unity Catalog table.

Identity is the monitored table's three-part name: the service allows one monitor per table. The
spec covers every field `databricks-sdk` (0.162.0) `quality_monitors.create` / `update` accept, with
their SDK names. The field table below is the single statement of what the service lets us change
in place and what needs a new monitor (which loses the monitor's refresh history and rebuilds its
metric tables: 15-20 minutes of re-initialisation). The planner reads it; monitor-specific rules
that are not per-field (a renamed metric, a changed profile type) live in `decide`.

Pure: no I/O. The provider (`reconciler.providers.databricks_monitors`) reads live monitors into
the same normalised state `desired_state` builds, using `monitor_state` here for both sides.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from reconciler.diagnostics import Diagnostic
from reconciler.plan.model import ApiCall, Operation
from reconciler.quartz import quartz_error, timezone_error
from reconciler.specs.envelope import KindSpec

from .base import Decision, Facts, Kind, LiveObject, Resource, duplicate_keys, facts_of
from .fields import FieldRule, FieldTable, OnChange

# Granularities the service accepts (SDK MonitorTimeSeries docstring: "5 minutes", "30 minutes",
# "1 hour", "1 day", "<n> week(s)", "1 month", "1 year"; n is 1..4 per the data-quality API enum).
Granularity = Literal[
    "5 minutes", "30 minutes", "1 hour", "1 day", "1 week", "2 weeks", "3 weeks", "4 weeks", "1 month", "1 year"
]
PROFILE_TYPES = ("time_series", "snapshot", "inference_log")
PROFILE_LABELS = {"time_series": "time series", "snapshot": "snapshot", "inference_log": "inference log"}
# The SDK puts table names into URL paths unencoded: '/', '?', '#' and '%' would corrupt the path.
_PART = r"[^.\s/?#%`]+"
TABLE_NAME = rf"^{_PART}\.{_PART}\.{_PART}$"
SCHEMA_NAME = rf"^{_PART}\.{_PART}$"
METRIC_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
REINITIALISATION = "re-initialisation typically takes 15-20 minutes"
# Jinja variables a metric definition may use, and the metric types / profiles they belong to
# (Databricks docs, "Use custom metrics": input_column, prediction_col, label_col, current_df, base_df).
TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


_RECREATE = "the update call cannot change it: the monitor must be recreated"
_METRIC_MEANING = "the metric's history would no longer mean the same thing: the monitor must be recreated"

# How each field of a monitor is changed, read and compared: the single statement the planner,
# the README and `reconciler fields` read, and tests check against the emulated service.
FIELDS = FieldTable(
    [
        FieldRule(
            "table_name",
            OnChange.IDENTITY,
            "one monitor per table",
            case_insensitive=True,
            replace_reason="a monitor belongs to one table",
        ),
        FieldRule("output_schema_name", description="where the metric tables are written", case_insensitive=True),
        FieldRule("assets_dir", OnChange.REPLACE, "create-only", replace_reason=_RECREATE),
        FieldRule(
            "profile_type",
            OnChange.REPLACE,
            "time_series, snapshot or inference_log: whichever block is set",
            replace_reason="a monitor's profile type cannot be changed in place",
        ),
        FieldRule("time_series", description="settings within the same profile type"),
        FieldRule("time_series.granularities", unordered=True),
        FieldRule("snapshot", description="no settings"),
        FieldRule("inference_log", description="settings within the same profile type"),
        FieldRule("inference_log.granularities", unordered=True),
        FieldRule(
            "custom_metrics",
            description="adding or removing a metric is an update; renaming one (renamed_from, or removed + "
            "added with the same type, input columns and definition) is a replace",
            keyed_by="name",
            empty_is_unset=True,
        ),
        FieldRule("custom_metrics.*.definition"),
        FieldRule("custom_metrics.*.input_columns", OnChange.REPLACE, unordered=True, replace_reason=_METRIC_MEANING),
        FieldRule("custom_metrics.*.type", OnChange.REPLACE, replace_reason=_METRIC_MEANING),
        FieldRule("custom_metrics.*.output_data_type", OnChange.REPLACE, replace_reason=_METRIC_MEANING),
        FieldRule("slicing_exprs", unordered=True, empty_is_unset=True),
        FieldRule("schedule"),
        FieldRule("schedule.pause_status", server_default="UNPAUSED"),
        FieldRule("notifications", description="addresses per destination", empty_is_unset=True),
        FieldRule("notifications.*", unordered=True, empty_is_unset=True),
        FieldRule("baseline_table_name", case_insensitive=True),
        FieldRule("data_classification_config", description="unset means disabled", server_default={"enabled": False}),
        FieldRule("data_classification_config.enabled", server_default=False),
        FieldRule(
            "warehouse_id",
            OnChange.REPLACE,
            "create-only and never returned: compared with the value recorded in the ledger at create",
            write_only=True,
            replace_reason=_RECREATE,
        ),
        FieldRule(
            "skip_builtin_dashboard",
            OnChange.REPLACE,
            "create-only and never returned: compared with the ledger",
            write_only=True,
            server_default=False,
            replace_reason=_RECREATE,
        ),
        FieldRule("status", server_owned=True, description="PENDING, then ACTIVE (or FAILED)"),
        FieldRule("monitor_version", server_owned=True, description="incremented by every update"),
        FieldRule("dashboard_id", server_owned=True, description="set once the monitor is ACTIVE"),
        FieldRule(
            "profile_metrics_table_name", server_owned=True, description="{output_schema}.{table}_profile_metrics"
        ),
        FieldRule("drift_metrics_table_name", server_owned=True, description="{output_schema}.{table}_drift_metrics"),
        FieldRule("latest_monitor_failure_msg", server_owned=True, description="shown by `apply --wait` on failure"),
    ]
)


class MetricType(StrEnum):
    AGGREGATE = "aggregate"  # computed from the table's columns; stored in the profile metrics table
    DERIVED = "derived"  # computed from aggregate metrics; profile metrics table
    DRIFT = "drift"  # compares aggregate/derived metrics across windows or with the baseline

    @property
    def api(self) -> str:
        return f"CUSTOM_METRIC_TYPE_{self.name}"


class ProblemType(StrEnum):
    CLASSIFICATION = "classification"
    REGRESSION = "regression"

    @property
    def api(self) -> str:
        return f"PROBLEM_TYPE_{self.name}"


def _short_enum(prefix: str) -> Any:
    """Accept the API's enum spelling (CUSTOM_METRIC_TYPE_DRIFT) as well as the short one (drift)."""

    def convert(value: Any) -> Any:
        if isinstance(value, str) and value.upper().startswith(prefix):
            return value[len(prefix) :].lower()
        return value

    return convert


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomMetric(_Block):
    """A custom metric (MonitorMetric)."""

    name: str = Field(pattern=METRIC_NAME, description="Column name of the metric in the metric tables.")
    type: MetricType = Field(description="aggregate | derived | drift (or the API's CUSTOM_METRIC_TYPE_* names).")
    input_columns: list[str] = Field(
        min_length=1,
        description="Columns of the monitored table the metric is computed for; [':table'] for a metric "
        "over several columns. Compared as a set.",
    )
    definition: str = Field(
        min_length=1,
        description="Jinja template of a SQL expression, e.g. avg(`{{input_column}}`); "
        "drift metrics use {{current_df}} / {{base_df}}.",
    )
    output_data_type: str = Field(
        default="double",
        min_length=1,
        description="Spark data type of the result, as the API takes it (e.g. double, or a StructField JSON).",
    )
    renamed_from: str | None = Field(
        default=None,
        pattern=METRIC_NAME,
        description="Previous name of this metric. Renaming needs a new monitor; this makes the plan say so "
        "instead of showing a removed and an added metric.",
    )

    _type = field_validator("type", mode="before")(_short_enum("CUSTOM_METRIC_TYPE_"))

    @model_validator(mode="after")
    def _check(self) -> CustomMetric:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if ":table" in self.input_columns and len(self.input_columns) > 1:
            problems.append(
                (("input_columns",), "':table' stands for the whole table and cannot be combined with columns")
            )
        seen: set[str] = set()
        for i, column in enumerate(self.input_columns):
            if column.lower() in seen:
                problems.append((("input_columns", i), f"column '{column}' is listed twice"))
            seen.add(column.lower())
        for variable in TEMPLATE.findall(self.definition):
            problem = _template_problem(variable, self)
            if problem:
                problems.append((("definition",), problem))
        if self.renamed_from == self.name:
            problems.append((("renamed_from",), "renamed_from names the metric itself"))
        _raise(problems, self)
        return self


def _template_problem(variable: str, metric: CustomMetric) -> str | None:
    if variable not in ("input_column", "prediction_col", "label_col", "current_df", "base_df"):
        return (
            f"'{{{{{variable}}}}}' is not a template variable "
            "(known: input_column, prediction_col, label_col, current_df, base_df)"
        )
    if variable in ("current_df", "base_df") and metric.type is not MetricType.DRIFT:
        return f"'{{{{{variable}}}}}' is only available in drift metrics"
    if variable == "input_column":
        if metric.type is not MetricType.AGGREGATE:
            return "'{{input_column}}' is only available in aggregate metrics"
        if metric.input_columns == [":table"]:
            return "'{{input_column}}' needs input_columns naming columns, not ':table'"
    return None


class TimeSeries(_Block):
    """Time series profile (MonitorTimeSeries)."""

    timestamp_col: str = Field(min_length=1, description="Column holding the event time.")
    granularities: list[Granularity] = Field(
        min_length=1, description="Time windows to aggregate over. Compared as a set."
    )

    @field_validator("granularities")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        duplicates = sorted({g for g in value if value.count(g) > 1})
        if duplicates:
            raise ValueError(f"granularity {', '.join(repr(d) for d in duplicates)} is listed twice")
        return value


class Snapshot(_Block):
    """Snapshot profile (MonitorSnapshot): no settings."""


class InferenceLog(TimeSeries):
    """Inference log profile (MonitorInferenceLog)."""

    problem_type: ProblemType = Field(description="classification | regression.")
    prediction_col: str = Field(min_length=1, description="Column holding the model's prediction.")
    model_id_col: str = Field(min_length=1, description="Column holding the model id.")
    label_col: str | None = Field(default=None, min_length=1, description="Column holding the ground-truth label.")
    prediction_proba_col: str | None = Field(
        default=None, min_length=1, description="Column holding prediction probabilities."
    )

    _problem = field_validator("problem_type", mode="before")(_short_enum("PROBLEM_TYPE_"))


class Schedule(_Block):
    """When the monitor refreshes (MonitorCronSchedule)."""

    quartz_cron_expression: str = Field(description="Quartz cron, e.g. '0 0 4 * * ?' (seconds first).")
    timezone_id: str = Field(description="Time zone the expression is evaluated in, e.g. UTC.")
    pause_status: Literal["PAUSED", "UNPAUSED"] = Field(default=FIELDS.default("schedule.pause_status"))

    @field_validator("quartz_cron_expression")
    @classmethod
    def _cron(cls, value: str) -> str:
        problem = quartz_error(value)
        if problem:
            raise ValueError(f"not a Quartz cron expression: {problem}")
        return value

    @field_validator("timezone_id")
    @classmethod
    def _zone(cls, value: str) -> str:
        problem = timezone_error(value)
        if problem:
            raise ValueError(problem)
        return value


class Destination(_Block):
    email_addresses: list[str] = Field(default_factory=list, max_length=5, description="At most 5 addresses.")


class Notifications(_Block):
    """Who hears about the monitor (MonitorNotifications)."""

    on_failure: Destination | None = None
    on_new_classification_tag_detected: Destination | None = None


class DataClassificationConfig(_Block):
    enabled: bool = FIELDS.default("data_classification_config.enabled")


class QualityMonitorSpec(KindSpec):
    """A lakehouse monitor on one Unity Catalog table."""

    table_name: str = Field(pattern=TABLE_NAME, description="Monitored table, catalog.schema.table. The identity.")
    output_schema_name: str = Field(pattern=SCHEMA_NAME, description="Schema (catalog.schema) of the metric tables.")
    assets_dir: str = Field(
        pattern=r"^/", description="Absolute workspace folder for the dashboard and other assets. Create-only."
    )
    time_series: TimeSeries | None = None
    snapshot: Snapshot | None = None
    inference_log: InferenceLog | None = None
    custom_metrics: list[CustomMetric] = Field(default_factory=list)
    slicing_exprs: list[str] = Field(
        default_factory=list, description="Column expressions to slice by, e.g. region or 'price > 100'. A set."
    )
    schedule: Schedule | None = None
    notifications: Notifications | None = None
    baseline_table_name: str | None = Field(
        default=None, pattern=TABLE_NAME, description="Table (same schema) to compute drift against."
    )
    data_classification_config: DataClassificationConfig | None = None
    warehouse_id: str | None = Field(
        default=None,
        min_length=1,
        description="SQL warehouse that builds the dashboard. Create-only, and never returned by the service: "
        "reconciler compares it with the value it last applied.",
    )
    skip_builtin_dashboard: bool | None = Field(
        default=None, description="Do not create the built-in dashboard. Create-only, never returned by the service."
    )
    refresh_after_apply: bool = Field(
        default=False, description="Start a metric refresh after reconciler creates or updates the monitor."
    )

    @model_validator(mode="after")
    def _check(self) -> QualityMonitorSpec:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        present = [p for p in PROFILE_TYPES if getattr(self, p) is not None]
        if not present:
            problems.append(((), "exactly one profile type is required: time_series, snapshot or inference_log"))
        for extra in present[1:]:
            problems.append(((extra,), f"exactly one profile type is allowed; {present[0]} is already given"))
        names: dict[str, int] = {}
        for i, metric in enumerate(self.custom_metrics):
            if metric.name in names:
                problems.append(
                    (
                        ("custom_metrics", i, "name"),
                        f"metric name '{metric.name}' is already used by custom_metrics[{names[metric.name]}]",
                    )
                )
            names.setdefault(metric.name, i)
        renamed: dict[str, int] = {}
        for i, metric in enumerate(self.custom_metrics):
            old = metric.renamed_from
            if old is None:
                continue
            if old in names:
                problems.append((("custom_metrics", i, "renamed_from"), f"'{old}' is still the name of another metric"))
            elif old in renamed:
                problems.append(
                    (
                        ("custom_metrics", i, "renamed_from"),
                        f"custom_metrics[{renamed[old]}] is already renamed from '{old}'",
                    )
                )
            renamed.setdefault(old, i)
        for i, metric in enumerate(self.custom_metrics):
            for variable in TEMPLATE.findall(metric.definition):
                if variable in ("prediction_col", "label_col") and self.inference_log is None:
                    problems.append(
                        (
                            ("custom_metrics", i, "definition"),
                            f"'{{{{{variable}}}}}' is only available with an inference_log profile",
                        )
                    )
                elif (
                    variable == "label_col" and self.inference_log is not None and self.inference_log.label_col is None
                ):
                    problems.append(
                        (("custom_metrics", i, "definition"), "'{{label_col}}' needs inference_log.label_col")
                    )
        seen: dict[str, int] = {}
        for i, expression in enumerate(self.slicing_exprs):
            if not expression.strip():
                problems.append((("slicing_exprs", i), "must not be blank"))
            elif expression.strip() in seen:
                problems.append((("slicing_exprs", i), f"already listed as slicing_exprs[{seen[expression.strip()]}]"))
            seen.setdefault(expression.strip(), i)
        _raise(problems, self)
        return self

    @property
    def profile_type(self) -> str:
        return next(p for p in PROFILE_TYPES if getattr(self, p) is not None)


def _raise(problems: list[tuple[tuple[str | int, ...], str]], model: BaseModel) -> None:
    """Report cross-field problems at the exact field (pydantic prefixes the model's own path)."""
    if problems:
        raise ValidationError.from_exception_data(
            type(model).__name__,
            [
                InitErrorDetails(type=PydanticCustomError("monitor_spec", message), loc=loc, input=None)
                for loc, message in problems
            ],
        )


# ---- the API shape and the normalised state ---------------------------------------------------------


def spec_to_api(spec: QualityMonitorSpec) -> dict[str, Any]:
    """The spec as the service's MonitorInfo JSON (plus the create-only fields), snake_case as the
    SDK's `as_dict()` writes it. The provider builds its SDK calls from this."""
    body: dict[str, Any] = {
        "table_name": spec.table_name.lower(),
        "output_schema_name": spec.output_schema_name.lower(),
        "assets_dir": spec.assets_dir,
    }
    if spec.time_series is not None:
        body["time_series"] = spec.time_series.model_dump()
    if spec.snapshot is not None:
        body["snapshot"] = {}
    if spec.inference_log is not None:
        inf = spec.inference_log.model_dump(exclude_none=True)
        inf["problem_type"] = spec.inference_log.problem_type.api
        body["inference_log"] = inf
    if spec.custom_metrics:
        body["custom_metrics"] = [
            {
                "name": m.name,
                "type": m.type.api,
                "input_columns": list(m.input_columns),
                "definition": m.definition,
                "output_data_type": m.output_data_type,
            }
            for m in spec.custom_metrics
        ]
    if spec.slicing_exprs:
        body["slicing_exprs"] = [e.strip() for e in spec.slicing_exprs]
    if spec.schedule is not None:
        body["schedule"] = spec.schedule.model_dump()
    if spec.notifications is not None:
        body["notifications"] = spec.notifications.model_dump(exclude_none=True)
    if spec.baseline_table_name is not None:
        body["baseline_table_name"] = spec.baseline_table_name.lower()
    if spec.data_classification_config is not None:
        body["data_classification_config"] = spec.data_classification_config.model_dump()
    if spec.warehouse_id is not None:
        body["warehouse_id"] = spec.warehouse_id
    if spec.skip_builtin_dashboard is not None:
        body["skip_builtin_dashboard"] = spec.skip_builtin_dashboard
    return body


def _short(value: Any, prefix: str) -> Any:
    return value[len(prefix) :].lower() if isinstance(value, str) and value.startswith(prefix) else value


def monitor_state(api: dict[str, Any]) -> dict[str, Any]:
    """The comparable form of a monitor, from MonitorInfo JSON (or the spec's body): what the
    planner diffs. Only the mapping between the API's shape and the spec's lives here (the profile
    type as a field, short enum names, notification addresses per destination); sets, keyed
    metrics, defaults and case are the field table's (`FIELDS`), applied by its normaliser.
    The write-only `warehouse_id` / `skip_builtin_dashboard` are in the spec's body only: the
    service never returns them, and the planner compares them with the values last applied."""
    profile_type = next((p for p in PROFILE_TYPES if api.get(p) is not None), None)
    state: dict[str, Any] = {
        key: api.get(key)
        for key in (
            "table_name",
            "output_schema_name",
            "assets_dir",
            "custom_metrics",
            "slicing_exprs",
            "schedule",
            "baseline_table_name",
            "data_classification_config",
            "warehouse_id",
            "skip_builtin_dashboard",
        )
    }
    state["profile_type"] = profile_type
    ts = api.get("time_series")
    if ts is not None:
        state["time_series"] = {"timestamp_col": ts.get("timestamp_col"), "granularities": ts.get("granularities")}
    if api.get("snapshot") is not None:
        state["snapshot"] = {}
    inf = api.get("inference_log")
    if inf is not None:
        state["inference_log"] = {
            **{key: inf.get(key) for key in _INFERENCE_FIELDS},
            "problem_type": _short(inf.get("problem_type"), "PROBLEM_TYPE_"),
        }
    state["custom_metrics"] = [
        {
            "name": m.get("name"),
            "type": _short(m.get("type"), "CUSTOM_METRIC_TYPE_"),
            "input_columns": m.get("input_columns"),
            "definition": m.get("definition"),
            "output_data_type": m.get("output_data_type"),
        }
        for m in api.get("custom_metrics") or []
    ]
    state["slicing_exprs"] = [e.strip() for e in api.get("slicing_exprs") or []]
    state["notifications"] = {
        key: (dest or {}).get("email_addresses") for key, dest in (api.get("notifications") or {}).items()
    }
    return FIELDS.normalise(state)


def spec_from_api(api: dict[str, Any]) -> dict[str, Any]:
    """The `spec:` block (plain YAML data) that declares the monitor described by MonitorInfo JSON
    `api`, written by `import --generate-specs` so that the next plan shows no changes. Values the
    service never returns (`warehouse_id`, `skip_builtin_dashboard`) are left out; defaults the
    service fills in (an unpaused schedule, classification off) are not repeated."""
    spec: dict[str, Any] = {
        "table_name": str(api.get("table_name", "")).lower(),
        "output_schema_name": str(api.get("output_schema_name", "")).lower(),
        "assets_dir": api.get("assets_dir"),
    }
    ts = api.get("time_series")
    if ts is not None:
        spec["time_series"] = {
            "timestamp_col": ts.get("timestamp_col"),
            "granularities": list(ts.get("granularities") or []),
        }
    if api.get("snapshot") is not None:
        spec["snapshot"] = {}
    inf = api.get("inference_log")
    if inf is not None:
        block = {key: inf.get(key) for key in _INFERENCE_FIELDS if inf.get(key) is not None}
        block["problem_type"] = _short(inf.get("problem_type"), "PROBLEM_TYPE_")
        spec["inference_log"] = block
    metrics = [
        {
            "name": m.get("name"),
            "type": _short(m.get("type"), "CUSTOM_METRIC_TYPE_"),
            "input_columns": list(m.get("input_columns") or []),
            "definition": m.get("definition"),
            "output_data_type": m.get("output_data_type"),
        }
        for m in api.get("custom_metrics") or []
    ]
    if metrics:
        spec["custom_metrics"] = metrics
    if api.get("slicing_exprs"):
        spec["slicing_exprs"] = list(api["slicing_exprs"])
    schedule = api.get("schedule")
    if schedule is not None:
        spec["schedule"] = {
            "quartz_cron_expression": schedule.get("quartz_cron_expression"),
            "timezone_id": schedule.get("timezone_id"),
        }
        if schedule.get("pause_status") == "PAUSED":
            spec["schedule"]["pause_status"] = "PAUSED"
    notifications = {
        key: {"email_addresses": list(dest["email_addresses"])}
        for key, dest in (api.get("notifications") or {}).items()
        if (dest or {}).get("email_addresses")
    }
    if notifications:
        spec["notifications"] = notifications
    if api.get("baseline_table_name"):
        spec["baseline_table_name"] = str(api["baseline_table_name"]).lower()
    if (api.get("data_classification_config") or {}).get("enabled"):
        spec["data_classification_config"] = {"enabled": True}
    return spec


_INFERENCE_FIELDS = (
    "timestamp_col",
    "granularities",
    "prediction_col",
    "model_id_col",
    "label_col",
    "prediction_proba_col",
)

# ---- the kind ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonitorFacts(Facts):
    """What the service says about a monitor beside its configuration (None: not known)."""

    status: str | None = None
    monitor_version: int | None = None
    dashboard_id: str | None = None  # kept across updates: the monitor's dashboard
    profile_metrics_table_name: str | None = None
    drift_metrics_table_name: str | None = None
    latest_monitor_failure_msg: str | None = None
    # The refresh history a replace or delete loses; refresh_count None: it could not be read.
    refresh_count: int | None = None
    refresh_history_truncated: bool = False  # the service lists the latest refreshes only
    first_refresh_ms: int | None = None


MonitorResource = Resource[QualityMonitorSpec]
MonitorLive = LiveObject[MonitorFacts]


class QualityMonitorKind(Kind[QualityMonitorSpec, MonitorFacts]):
    name = "QualityMonitor"
    spec_model = QualityMonitorSpec
    rank = 50
    default_backend = "databricks"
    description = "A Databricks lakehouse (quality) monitor on one Unity Catalog table."
    fields = FIELDS

    def api_call(self, op: Operation, desired: MonitorResource | None, live: MonitorLive | None) -> ApiCall:
        path = f"/api/2.1/unity-catalog/tables/{op.key}/monitor"
        if op.action.value == "create":
            return ApiCall("POST", path, "create the monitor (and record it in the ownership ledger)", "create")
        if op.action.value == "delete":
            return ApiCall("DELETE", path, "delete the monitor (its metric tables stay)", "delete")
        if op.action.value == "replace":
            return ApiCall("DELETE+POST", path, "delete the monitor and create it again (history lost)", "replace")
        if all(c.path == "lifecycle.prevent_destroy" for c in op.changes):
            return ApiCall(
                "LEDGER", "ownership ledger", "record lifecycle.prevent_destroy (the monitor is not written)", "update"
            )
        return ApiCall("PUT", path, "update the monitor's configuration in place (history kept)", "update")

    def key(self, name: str, spec: QualityMonitorSpec) -> str:
        return spec.table_name.lower()

    def desired_state(self, spec: QualityMonitorSpec) -> dict[str, Any]:
        return monitor_state(spec_to_api(spec))

    def validate_all(self, resources: Sequence[MonitorResource]) -> list[Diagnostic]:
        return duplicate_keys(
            resources,
            lambda r: ("spec", "table_name"),
            lambda dup, first, at: (
                f"QualityMonitor '{dup.name}' monitors the same table as '{first.name}' ({at}); "
                "a table can have only one monitor"
            ),
        )

    # --- planning hooks ----------------------------------------------------------------------

    def decide(self, desired: MonitorResource, live: MonitorLive, changed_paths: Sequence[str]) -> Decision:
        reasons: list[str] = []
        before_type, after_type = live.state.get("profile_type"), desired.state.get("profile_type")
        if before_type != after_type:
            reasons.append(
                f"profile type changes from {PROFILE_LABELS.get(before_type or '', before_type)} to "
                f"{PROFILE_LABELS.get(after_type or '', after_type)}: a monitor's profile type cannot be changed in place"
            )
        for old, new, how in metric_renames(desired, live):
            reasons.append(f"metric `{old}` renamed to `{new}`{how}: renaming requires recreating the monitor")
        for path in changed_paths:
            rule = self.fields.rule_for(path)
            if rule is None or rule.path == "profile_type" or not rule.forces_replace:
                continue
            before, after = _at(live.state, path), _at(desired.state, path)
            parts = path.split(".")
            if parts[0] == "custom_metrics" and len(parts) == 3:
                if before is None or after is None:
                    continue  # a metric added or removed as a whole: handled above / an update
                reason = f"metric `{parts[1]}`: {parts[2]} changes from {_show(before)} to {_show(after)}: {rule.replace_reason}"
            else:
                reason = f"{path} changes from {_show(before)} to {_show(after)}: {rule.replace_reason}"
            if reason not in reasons:
                reasons.append(reason)
        return Decision(replace=bool(reasons), reasons=reasons)

    def identity_change_reason(self, desired: MonitorResource, live: MonitorLive) -> str:
        return (
            f"table_name changes from {live.key} to {desired.key}: a monitor belongs to one table, so the monitor "
            f"on {live.key} is deleted and a new one is created on {desired.key}"
        )

    def loss_warnings(self, live: MonitorLive, action: str) -> list[str]:
        facts = facts_of(live, MonitorFacts)
        history = _refresh_history(facts)
        profile = facts.profile_metrics_table_name or "the profile metrics table"
        drift = facts.drift_metrics_table_name or "the drift metrics table"
        if action == "replace":
            return [
                f"the monitor on {live.key} is deleted and recreated: {history}",
                f"its metric tables {profile} and {drift} are dropped and rebuilt from scratch",
                f"monitoring of {live.key} stops until the new monitor is ACTIVE; {REINITIALISATION}",
            ]
        return [
            f"the monitor on {live.key} is deleted: {history}",
            f"its metric tables {profile} and {drift} stay but are no longer refreshed",
        ]

    def update_warnings(self, desired: MonitorResource, live: MonitorLive) -> list[str]:
        warnings = []
        before = live.state.get("custom_metrics") or {}
        after = desired.state.get("custom_metrics") or {}
        renamed = {old for old, _, _ in metric_renames(desired, live)}
        for name in sorted(set(before) - set(after) - renamed):
            warnings.append(f"metric `{name}` is no longer computed; its past values stay in the metric tables")
        old_schema, new_schema = live.state.get("output_schema_name"), desired.state.get("output_schema_name")
        if old_schema != new_schema:
            table = desired.key.split(".")[-1]
            warnings.append(
                f"metric tables move from {old_schema} to {new_schema} ({new_schema}.{table}_profile_metrics, "
                f"{new_schema}.{table}_drift_metrics); the tables in {old_schema} are not dropped"
            )
        return warnings

    def describe(self, state: dict[str, Any]) -> str:
        metrics = len(state.get("custom_metrics") or {})
        profile = PROFILE_LABELS.get(state.get("profile_type") or "", "unknown profile")
        return (
            f"monitor on {state.get('table_name')} ({profile}, {metrics} custom metric(s), "
            f"output schema {state.get('output_schema_name')})"
        )


def metric_renames(desired: MonitorResource, live: MonitorLive) -> list[tuple[str, str, str]]:
    """(old name, new name, how we know) for each metric renamed between live and desired.

    A rename is declared (`renamed_from`) or recognised: one metric removed and one added with the
    same type, input columns and definition.
    """
    before: dict[str, Any] = live.state.get("custom_metrics") or {}
    after: dict[str, Any] = desired.state.get("custom_metrics") or {}
    removed = [n for n in before if n not in after]
    added = [n for n in after if n not in before]
    renames: list[tuple[str, str, str]] = []
    declared = {m.name: m.renamed_from for m in getattr(desired.spec, "custom_metrics", [])}
    for new in list(added):
        old = declared.get(new)
        if old and old in removed:
            renames.append((old, new, " (renamed_from)"))
            removed.remove(old)
            added.remove(new)
    for new in list(added):
        for old in removed:
            same = all(before[old].get(f) == after[new].get(f) for f in ("type", "input_columns", "definition"))
            if same:
                renames.append((old, new, " (same type, input columns and definition)"))
                removed.remove(old)
                added.remove(new)
                break
    return renames


def _at(state: dict[str, Any], path: str) -> Any:
    node: Any = state
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return "(unset)" if value is None else f"'{value}'" if isinstance(value, str) else str(value)


def _date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def _refresh_history(facts: MonitorFacts) -> str:
    """What is lost, with the numbers the refresh history gives (the service lists 25 at most)."""
    count = facts.refresh_count
    if count is None:
        return "its refresh history is lost (it could not be read)"
    if count == 0:
        return "it has no refresh history yet"
    at_least = "at least " if facts.refresh_history_truncated else ""
    noun = "refresh" if count == 1 else "refreshes"
    since = f" since {_date(facts.first_refresh_ms)}" if facts.first_refresh_ms else ""
    return f"its refresh history is lost: {at_least}{count} {noun}{since}"
