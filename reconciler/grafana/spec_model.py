"""Spec models of Grafana folders and rule groups (pure: no I/O).

Durations and thresholds as users write them, the pydantic models the YAML is validated against,
rule uids, and the checks on a rule that need exact paths. The comparable form rules are diffed
in is `rule_form`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator

from reconciler.specs.envelope import KindSpec

from .field_tables import ALERT_RULE_FIELDS
from .ownership import MARKER_PREFIX

EXPR_DATASOURCE = "__expr__"
EXPR_DATASOURCES = (EXPR_DATASOURCE, "-100")
BASE_INTERVAL_SECONDS = 10  # Grafana's scheduler base interval: group intervals are multiples
MAX_UID_LENGTH = 40
MAX_NAME_LENGTH = 190
UID_PATTERN = r"^[A-Za-z0-9_-]{1,40}$"
METRIC_NAME_PATTERN = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"  # Prometheus metric names (Grafana checks recorded ones)
RESERVED_LABELS = ("__alert_rule_uid__", "__alert_rule_namespace_uid__")
# How Grafana's API carries a rule's dashboard link: two annotations (the file format's
# `dashboardUid` / `panelId` become these).
DASHBOARD_UID_ANNOTATION = "__dashboardUid__"
PANEL_ID_ANNOTATION = "__panelId__"
LINK_ANNOTATIONS = (DASHBOARD_UID_ANNOTATION, PANEL_ID_ANNOTATION)

# --- durations --------------------------------------------------------------------------------
_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_UNITS_MS = (
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1000),
    ("ms", 1),
)


def parse_duration(value: Any) -> int:
    """Whole seconds of a Prometheus-style duration (`90s`, `5m`, `1h30m`) or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration (use e.g. 30s, 5m, 1h30m)")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("must not be negative")
        return value
    text = str(value).strip()
    if text == "0":
        return 0
    match = _DURATION.match(text)
    if not text or not match:
        raise ValueError(f"{text!r} is not a duration (use e.g. 30s, 5m, 1h30m)")
    ms = sum(int(g) * mult for g, (_, mult) in zip(match.groups(), _UNITS_MS) if g)
    if ms % 1000:
        raise ValueError(f"{text!r}: durations are whole seconds")
    return ms // 1000


def format_duration(seconds: int) -> str:
    """Grafana's own rendering (Prometheus model.Duration): 300 -> `5m`, 5400 -> `1h30m`."""
    ms = seconds * 1000
    if ms == 0:
        return "0s"
    out = ""
    for unit, mult in _UNITS_MS:
        if unit in ("y", "w") and ms % mult:
            continue
        if ms // mult:
            out += f"{ms // mult}{unit}"
            ms -= (ms // mult) * mult
    return out


Duration = Annotated[
    int,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^(0|(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?)$"},
                {"type": "integer", "minimum": 0},
            ],
            "description": "A duration such as 30s, 5m or 1h30m (or a number of seconds).",
        }
    ),
]


def derive_uid(folder: str, group: str, title: str) -> str:
    """A rule uid from where the rule is declared: stable across runs, within Grafana's limits
    (40 characters of letters, digits, '-', '_')."""
    digest = hashlib.sha256(f"{folder}\x1f{group}\x1f{title}".encode()).hexdigest()
    return f"rc-{digest[:24]}"


# --- threshold shorthand ----------------------------------------------------------------------
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_THRESHOLD = re.compile(
    rf"^\s*(?:(?P<op>[<>])\s*(?P<value>{_NUMBER})|(?P<range>within|outside)\s+(?P<low>{_NUMBER})\s*\.\.\s*(?P<high>{_NUMBER}))\s*$"
)


def parse_threshold(text: str) -> tuple[str, list[float | int]]:
    """`> 300` -> ("gt", [300]); `within 1..5` -> ("within_range", [1, 5])."""
    match = _THRESHOLD.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a threshold (use e.g. '> 300', '< 0.99', 'within 1..5', 'outside 1..5')")
    if match.group("op"):
        return ("gt" if match.group("op") == ">" else "lt"), [_num(match.group("value"))]
    low, high = _num(match.group("low")), _num(match.group("high"))
    if low >= high:
        raise ValueError(f"{text!r}: the range's lower bound must be below its upper bound")
    return ("within_range" if match.group("range") == "within" else "outside_range"), [low, high]


def _num(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() and abs(value) < 1e15 else value


def _threshold(value: Any) -> str:
    parse_threshold(str(value))
    return str(value).strip()


# --- spec models --------------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RelativeTimeRange(_Strict):
    from_: int = Field(default=0, alias="from", ge=0, description="Seconds before now the query starts.")
    to: int = Field(default=0, ge=0, description="Seconds before now the query ends.")


class AlertQuery(_Strict):
    """One node of a rule's evaluation graph, in Grafana's own shape."""

    refId: str = Field(min_length=1, description="Name of the node (A, B, C, ...); `condition` names one.")
    queryType: str = ""
    relativeTimeRange: RelativeTimeRange = Field(default_factory=RelativeTimeRange)
    datasourceUid: str = Field(min_length=1, description="Datasource uid, or __expr__ for server-side expressions.")
    model: dict[str, Any] = Field(description="The datasource query or expression, as Grafana stores it.")


class QueryShorthand(_Strict):
    """Query A of the shorthand: a datasource query."""

    datasource: str = Field(min_length=1, description="Datasource uid (e.g. of the Prometheus datasource).")
    expr: str = Field(min_length=1, description="The query expression, e.g. visits_sync_duration.")
    time_range: Duration = Field(
        default=600, description="How far back the query looks (Grafana's relative time range)."
    )

    @field_validator("time_range")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be longer than 0s")
        return value


class NotificationSettings(_Strict):
    """Simplified routing: send this rule's alerts straight to a contact point."""

    receiver: str = Field(min_length=1, description="Contact point name.")
    group_by: list[str] | None = Field(
        default=None,
        description="Labels to group by; Grafana 12 adds alertname and grafana_folder when they are missing.",
    )
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    mute_time_intervals: list[str] | None = Field(default=None, description="Mute timing names: muted then.")
    active_time_intervals: list[str] | None = Field(
        default=None, description="Mute timing names: notifications are sent only then."
    )


def _record_shorthand(value: Any) -> Any:
    return {"metric": value} if isinstance(value, str) else value


class RecordSpec(_Strict):
    """A recording rule: the result of one node is written as a metric instead of alerting."""

    metric: str = Field(
        pattern=METRIC_NAME_PATTERN, description="Name of the recorded metric (a valid Prometheus metric name)."
    )
    from_: str | None = Field(
        default=None,
        alias="from",
        description="refId of the node recorded. Default: the shorthand's query A, or the only node.",
    )
    target_datasource_uid: str | None = Field(
        default=None, description="Datasource the metric is written to (Grafana 12; default: Grafana's setting)."
    )


Reducer = Literal["last", "mean", "max", "min", "sum", "count"]
NoDataState = Literal["NoData", "Alerting", "OK", "KeepLast"]
ExecErrState = Literal["Error", "Alerting", "OK", "KeepLast"]


class RuleSpec(_Strict):
    """One alert rule of a group: the shorthand (query/reduce/threshold) or the full form (data/condition)."""

    title: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, description="Unique within the folder.")
    uid: str | None = Field(
        default=None,
        pattern=UID_PATTERN,
        description="Grafana uid (1-40 letters, digits, '-', '_'). Default: derived from folder, group and title.",
    )
    for_: Duration = Field(
        default=0, alias="for", description="How long the condition must hold before the alert fires."
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Alert labels (drive notification routing).")
    annotations: dict[str, str] = Field(
        default_factory=dict, description="Alert annotations (summary, runbook_url, ...)."
    )
    # Grafana's defaults, stated once in the field table.
    no_data_state: NoDataState = ALERT_RULE_FIELDS.default("no_data_state")
    exec_err_state: ExecErrState = ALERT_RULE_FIELDS.default("exec_err_state")
    is_paused: bool = ALERT_RULE_FIELDS.default("is_paused")
    keep_firing_for: Duration = Field(
        default=0, description="How long an alert keeps firing after its condition stopped holding (Grafana 12)."
    )
    missing_series_evals_to_resolve: int | None = Field(
        default=None, ge=1, description="Evaluations a series may be missing before its alert resolves (Grafana 12)."
    )
    notification_settings: NotificationSettings | None = None
    record: Annotated[RecordSpec, BeforeValidator(_record_shorthand)] | None = Field(
        default=None,
        description="Makes this a recording rule: `record: metric_name` over the shorthand's query, or "
        "{metric, from, target_datasource_uid}. A recording rule has no condition and never alerts.",
    )
    dashboard_uid: str | None = Field(default=None, description="Dashboard the rule is linked to (with panel_id).")
    panel_id: int | None = Field(default=None, ge=0, description="Panel of dashboard_uid the rule is linked to.")
    query: QueryShorthand | None = Field(default=None, description="Shorthand: query A.")
    reduce: Reducer | None = Field(default=None, description="Shorthand: B = this reduction of A (default last).")
    threshold: Annotated[str, BeforeValidator(_threshold)] | None = Field(
        default=None, description="Shorthand: C = the threshold on B, e.g. '> 300', '< 0.99', 'within 1..5'."
    )
    data: list[AlertQuery] | None = Field(default=None, description="Full form: the nodes, in Grafana's shape.")
    condition: str | None = Field(default=None, description="Full form: the refId whose result decides firing.")


class GrafanaRuleGroupSpec(KindSpec):
    """A Grafana rule group: its folder, its evaluation interval and its rules."""

    folder: str = Field(pattern=UID_PATTERN, description="uid of the folder the group lives in.")
    group: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        description="Group name in Grafana. Default: metadata.name.",
    )
    interval: Duration = Field(
        default=60, description="Evaluation interval of every rule in the group; a multiple of 10s."
    )
    rules: list[RuleSpec] = Field(min_length=1)

    @field_validator("interval")
    @classmethod
    def _multiple_of_base(cls, value: int) -> int:
        if value <= 0 or value % BASE_INTERVAL_SECONDS:
            raise ValueError(
                f"{format_duration(value)} is not a multiple of Grafana's {BASE_INTERVAL_SECONDS}s base interval (use e.g. 10s, 1m, 5m)"
            )
        return value

    @field_validator("group")
    @classmethod
    def _no_slash(cls, value: str | None) -> str | None:
        if value is not None and "/" in value:
            raise ValueError("group names must not contain '/'")
        return value


class GrafanaFolderSpec(KindSpec):
    """A Grafana folder (alert rules live in folders)."""

    title: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    uid: str | None = Field(default=None, pattern=UID_PATTERN, description="Folder uid. Default: metadata.name.")
    parent: str | None = Field(
        default=None, pattern=UID_PATTERN, description="uid of the parent folder (nested folders)."
    )


class AlertRuleChild(KindSpec):
    """One rule as its own planned object: the rule and where its group puts it."""

    rule: RuleSpec
    folder: str
    group: str
    interval: int
    group_name: str  # metadata.name of the declaring GrafanaRuleGroup document
    index: int


def group_name_of(name: str, spec: GrafanaRuleGroupSpec) -> str:
    return spec.group or name


def rule_uid(folder: str, group: str, rule: RuleSpec) -> str:
    return rule.uid or derive_uid(folder, group, rule.title)


# --- checks that need exact locations -------------------------------------------------------------
def rule_problems(rule: RuleSpec) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems of one rule, as (path inside the rule, message): Grafana's own checks
    (`ValidateAlertRule`, recording rules included) where they can be made without I/O."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    recording = rule.record is not None
    shorthand = rule.query is not None or rule.threshold is not None or rule.reduce is not None
    full = rule.data is not None or rule.condition is not None
    if shorthand and full:
        out.append(
            ((), "use either the shorthand (query, reduce, threshold) or the full form (data, condition), not both")
        )
        return out
    if not shorthand and not full:
        out.append(((), "a rule needs a query: the shorthand (query, threshold) or the full form (data, condition)"))
        return out
    if recording:
        out.extend(_recording_problems(rule, shorthand))
    elif shorthand:
        if rule.query is None:
            out.append((("query",), "required with threshold/reduce"))
        if rule.threshold is None:
            out.append((("threshold",), "required with query (e.g. '> 300'), or make it a recording rule with record"))
    if full:
        if not rule.data:
            out.append((("data",), "required with condition: at least one node"))
        if rule.condition is None and not recording:
            out.append((("condition",), "required with data: the refId whose result decides firing"))
        refs = [q.refId for q in rule.data or []]
        seen: set[str] = set()
        for index, query in enumerate(rule.data or []):
            if query.refId in seen:
                out.append((("data", index, "refId"), f"refId {query.refId!r} is used twice"))
            seen.add(query.refId)
            rtr = query.relativeTimeRange
            if query.datasourceUid not in EXPR_DATASOURCES and not rtr.from_ > rtr.to:
                out.append(
                    (
                        ("data", index, "relativeTimeRange"),
                        f"query {query.refId}: 'from' must be greater than 'to' (seconds before now)",
                    )
                )
        if rule.condition is not None and refs and rule.condition not in refs:
            out.append((("condition",), f"{rule.condition!r} names no node; refIds are {', '.join(refs)}"))
    if (rule.dashboard_uid is None) != (rule.panel_id is None):
        missing = "panel_id" if rule.panel_id is None else "dashboard_uid"
        out.append(((missing,), "dashboard_uid and panel_id link a rule to a panel together: set both or neither"))
    for key in rule.annotations:
        if key.startswith(MARKER_PREFIX):
            out.append(
                (
                    ("annotations", key),
                    f"annotation keys starting with {MARKER_PREFIX!r} are reserved for reconciler's ownership marker",
                )
            )
        if key in LINK_ANNOTATIONS:
            out.append((("annotations", key), "set the dashboard link with dashboard_uid and panel_id"))
    for key in rule.labels:
        if key in RESERVED_LABELS:
            out.append((("labels", key), "this label is reserved by Grafana"))
    return out


# Fields of an alerting rule that a recording rule does not have (Grafana clears or refuses them).
ALERTING_ONLY = ("for_", "keep_firing_for", "no_data_state", "exec_err_state", "notification_settings", "condition")


def _recording_problems(rule: RuleSpec, shorthand: bool) -> list[tuple[tuple[str | int, ...], str]]:
    assert rule.record is not None
    out: list[tuple[tuple[str | int, ...], str]] = []
    if shorthand:
        if rule.query is None:
            out.append((("query",), "a recording rule in the shorthand records query A: set query"))
        for name in ("threshold", "reduce"):
            if getattr(rule, name) is not None:
                out.append(((name,), f"a recording rule records its query; {name} is for alerting rules"))
    for name in ALERTING_ONLY:
        if name in rule.model_fields_set:
            alias = {"for_": "for"}.get(name, name)
            out.append(((alias,), f"a recording rule does not alert: {alias} does not apply to it"))
    refs = ["A"] if shorthand else [q.refId for q in rule.data or []]
    source = record_source(rule)
    if source is None:
        out.append((("record", "from"), f"name the node to record; refIds are {', '.join(refs)}"))
    elif refs and source not in refs:
        out.append((("record", "from"), f"{source!r} names no node; refIds are {', '.join(refs)}"))
    return out


def record_source(rule: RuleSpec) -> str | None:
    """The refId a recording rule records (its `from`, defaulted as the docs say)."""
    if rule.record is None:
        return None
    if rule.record.from_:
        return rule.record.from_
    if rule.query is not None:
        return "A"
    if rule.data and len(rule.data) == 1:
        return rule.data[0].refId
    return None
