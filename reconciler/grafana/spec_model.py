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

from .ownership import MARKER_PREFIX

EXPR_DATASOURCE = "__expr__"
EXPR_DATASOURCES = (EXPR_DATASOURCE, "-100")
BASE_INTERVAL_SECONDS = 10  # Grafana's scheduler base interval: group intervals are multiples
MAX_UID_LENGTH = 40
MAX_NAME_LENGTH = 190
UID_PATTERN = r"^[A-Za-z0-9_-]{1,40}$"
RESERVED_LABELS = ("__alert_rule_uid__", "__alert_rule_namespace_uid__")

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
    group_by: list[str] | None = Field(default=None, description="Must include alertname and grafana_folder when set.")
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    mute_time_intervals: list[str] | None = None

    @field_validator("group_by")
    @classmethod
    def _required_labels(cls, value: list[str] | None) -> list[str] | None:
        if value and "..." not in value and not {"alertname", "grafana_folder"} <= set(value):
            raise ValueError("Grafana requires group_by to contain 'alertname' and 'grafana_folder'")
        return value


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
    no_data_state: NoDataState = "NoData"
    exec_err_state: ExecErrState = "Error"
    is_paused: bool = False
    notification_settings: NotificationSettings | None = None
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
    """Problems of one rule, as (path inside the rule, message)."""
    out: list[tuple[tuple[str | int, ...], str]] = []
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
    if shorthand:
        if rule.query is None:
            out.append((("query",), "required with threshold/reduce"))
        if rule.threshold is None:
            out.append((("threshold",), "required with query (e.g. '> 300')"))
    else:
        if not rule.data:
            out.append((("data",), "required with condition: at least one node"))
        if rule.condition is None:
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
    for key in rule.annotations:
        if key.startswith(MARKER_PREFIX):
            out.append(
                (
                    ("annotations", key),
                    f"annotation keys starting with {MARKER_PREFIX!r} are reserved for reconciler's ownership marker",
                )
            )
    for key in rule.labels:
        if key in RESERVED_LABELS:
            out.append((("labels", key), "this label is reserved by Grafana"))
    return out
