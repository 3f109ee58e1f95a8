"""Spec models of Grafana folders and rule groups, and the one normal form rules are diffed in.

Both the kinds (desired state from specs) and the provider (live state from Grafana's API) go
through `rule_state`, so anything Grafana fills in or reformats (model `intervalMs` /
`maxDataPoints`, `queryType` copied from the model, `for` written as `300s` and returned as `5m`,
empty vs missing labels, integral floats) is the same on both sides and never shows as a change.

The shorthand (`query` / `reduce` / `threshold`) expands to the nodes Grafana's rule editor builds
for the SLA case: A = the datasource query, B = a reduce of A, C = a threshold on B, condition C.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator

from reconciler.specs.envelope import KindSpec

EXPR_DATASOURCE = "__expr__"
EXPR_DATASOURCES = (EXPR_DATASOURCE, "-100")
BASE_INTERVAL_SECONDS = 10  # Grafana's scheduler base interval: group intervals are multiples
MAX_UID_LENGTH = 40
MAX_NAME_LENGTH = 190
UID_PATTERN = r"^[A-Za-z0-9_-]{1,40}$"
# Ownership lives in Grafana itself, in annotations (never labels: labels drive notification
# routing). Annotation keys with this prefix are reserved for reconciler.
MARKER_PREFIX = "reconciler_"
OWNER_ANNOTATION = "reconciler_managed_by"
PREVENT_DESTROY_ANNOTATION = "reconciler_prevent_destroy"
# A folder has no field to carry it, so its lifecycle.prevent_destroy rides on reconciler's rules in it
# (the only case a folder can be planned for deletion is while it holds reconciler's rules).
FOLDER_PREVENT_DESTROY_ANNOTATION = "reconciler_folder_prevent_destroy"
# Set on rules written while a spec declares their folder: only such a folder may be deleted once
# no spec declares it (a folder made by hand whose rules were imported is never reconciler's).
FOLDER_OWNED_ANNOTATION = "reconciler_folder_owned"
# The uid the rule was written under: a copy made in Grafana's UI keeps the annotations but not
# the uid, and must not count as reconciler's.
UID_ANNOTATION = "reconciler_uid"
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


# --- the normal form --------------------------------------------------------------------------------
def go_number(value: Any) -> Any:
    """Numbers as they come back from Grafana (JSON through Go's float64): 300.0 -> 300."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: go_number(v) for k, v in value.items()}
    if isinstance(value, list):
        return [go_number(v) for v in value]
    return value


def normalise_query(query: dict[str, Any]) -> dict[str, Any]:
    """One node in the comparable form, with the model defaults Grafana's server fills in."""
    model = go_number(dict(query.get("model") or {}))
    query_type = query.get("queryType") or ""
    if isinstance(model.get("queryType"), str):
        query_type = model["queryType"]
    for key, default in (("maxDataPoints", 43200), ("intervalMs", 1000)):
        value = model.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value == 0:
            model[key] = default
    rtr = query.get("relativeTimeRange") or {}
    return {
        "datasource_uid": query.get("datasourceUid") or "",
        "query_type": query_type,
        "relative_time_range": {"from": int(rtr.get("from") or 0), "to": int(rtr.get("to") or 0)},
        "model": model,
    }


def expand_shorthand(rule: RuleSpec) -> tuple[list[dict[str, Any]], str]:
    """A (query) -> B (reduce) -> C (threshold), condition C, as Grafana's rule editor builds them."""
    assert rule.query is not None and rule.threshold is not None
    reducer = rule.reduce or "last"
    evaluator_type, params = parse_threshold(rule.threshold)
    expr_source = {"type": EXPR_DATASOURCE, "uid": EXPR_DATASOURCE}

    def classic(ref: str, evaluator: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "evaluator": evaluator,
                "operator": {"type": "and"},
                "query": {"params": [ref]},
                "reducer": {"params": [], "type": "last"},
                "type": "query",
            }
        ]

    data = [
        {
            "refId": "A",
            "queryType": "",
            "relativeTimeRange": {"from": rule.query.time_range, "to": 0},
            "datasourceUid": rule.query.datasource,
            "model": {
                "editorMode": "code",
                "expr": rule.query.expr,
                "instant": True,
                "intervalMs": 1000,
                "legendFormat": "__auto",
                "maxDataPoints": 43200,
                "range": False,
                "refId": "A",
            },
        },
        {
            "refId": "B",
            "queryType": "",
            "relativeTimeRange": {"from": 0, "to": 0},
            "datasourceUid": EXPR_DATASOURCE,
            "model": {
                "conditions": classic("B", {"params": [], "type": "gt"}),
                "datasource": expr_source,
                "expression": "A",
                "intervalMs": 1000,
                "maxDataPoints": 43200,
                "reducer": reducer,
                "refId": "B",
                "type": "reduce",
            },
        },
        {
            "refId": "C",
            "queryType": "",
            "relativeTimeRange": {"from": 0, "to": 0},
            "datasourceUid": EXPR_DATASOURCE,
            "model": {
                "conditions": classic("C", {"params": params, "type": evaluator_type}),
                "datasource": expr_source,
                "expression": "B",
                "intervalMs": 1000,
                "maxDataPoints": 43200,
                "refId": "C",
                "type": "threshold",
            },
        },
    ]
    return data, "C"


def rule_data(rule: RuleSpec) -> tuple[list[dict[str, Any]], str]:
    """The rule's nodes in Grafana's API shape, and its condition."""
    if rule.query is not None:
        return expand_shorthand(rule)
    data = [q.model_dump(by_alias=True) for q in rule.data or []]
    return data, rule.condition or ""


def _notification_settings(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if not value:
        return None
    out: dict[str, Any] = {"receiver": value.get("receiver") or ""}
    if value.get("group_by"):
        out["group_by"] = list(value["group_by"])
    for key in ("group_wait", "group_interval", "repeat_interval"):
        if value.get(key) is not None:
            out[key] = format_duration(parse_duration(value[key]))
    if value.get("mute_time_intervals"):
        out["mute_time_intervals"] = list(value["mute_time_intervals"])
    return out


def rule_state(
    *,
    title: str,
    folder: str,
    group: str,
    condition: str,
    data: list[dict[str, Any]],
    for_seconds: int,
    labels: dict[str, str] | None,
    annotations: dict[str, str] | None,
    no_data_state: str,
    exec_err_state: str,
    is_paused: bool,
    notification_settings: dict[str, Any] | None,
) -> dict[str, Any]:
    """The comparable form of a rule. Nodes are keyed by refId (their order does not matter to
    Grafana), so a change deep inside a model reads `data.C.model.conditions[0].evaluator.params`."""
    return {
        "title": title,
        "folder": folder,
        "group": group,
        "condition": condition,
        "data": {q.get("refId") or "": normalise_query(q) for q in data},
        "for": format_duration(for_seconds),
        "labels": dict(labels or {}),
        "annotations": {k: v for k, v in (annotations or {}).items() if not k.startswith(MARKER_PREFIX)},
        "no_data_state": no_data_state,
        "exec_err_state": exec_err_state,
        "is_paused": bool(is_paused),
        "notification_settings": _notification_settings(notification_settings),
    }


def desired_rule_state(folder: str, group: str, rule: RuleSpec) -> dict[str, Any]:
    data, condition = rule_data(rule)
    return rule_state(
        title=rule.title,
        folder=folder,
        group=group,
        condition=condition,
        data=data,
        for_seconds=rule.for_,
        labels=rule.labels,
        annotations=rule.annotations,
        no_data_state=rule.no_data_state,
        exec_err_state=rule.exec_err_state,
        is_paused=rule.is_paused,
        notification_settings=rule.notification_settings.model_dump(exclude_none=True)
        if rule.notification_settings
        else None,
    )


def live_rule_state(rule: dict[str, Any]) -> dict[str, Any]:
    """A ProvisionedAlertRule from Grafana's API in the comparable form."""
    try:
        for_seconds = parse_duration(rule.get("for") or "0s")
    except ValueError:
        for_seconds = 0
    return rule_state(
        title=rule.get("title") or "",
        folder=rule.get("folderUID") or "",
        group=rule.get("ruleGroup") or "",
        condition=rule.get("condition") or "",
        data=list(rule.get("data") or []),
        for_seconds=for_seconds,
        labels=rule.get("labels"),
        annotations=rule.get("annotations"),
        no_data_state=rule.get("noDataState") or "NoData",  # what Grafana fills in when a file omits it
        exec_err_state=rule.get("execErrState") or "Error",
        is_paused=bool(rule.get("isPaused")),
        notification_settings=rule.get("notification_settings"),
    )


def api_rule(state: dict[str, Any], uid: str, markers: dict[str, str]) -> dict[str, Any]:
    """The ProvisionedAlertRule body that writes `state` (plus ownership markers)."""
    data = []
    for ref, node in state["data"].items():
        data.append(
            {
                "refId": ref,
                "queryType": node["query_type"],
                "relativeTimeRange": dict(node["relative_time_range"]),
                "datasourceUid": node["datasource_uid"],
                "model": node["model"],
            }
        )
    body: dict[str, Any] = {
        "uid": uid,
        "orgID": 0,
        "folderUID": state["folder"],
        "ruleGroup": state["group"],
        "title": state["title"],
        "condition": state["condition"],
        "data": data,
        "noDataState": state["no_data_state"],
        "execErrState": state["exec_err_state"],
        "for": state["for"],
        "labels": dict(state["labels"]),
        "annotations": {**state["annotations"], **markers},
        "isPaused": state["is_paused"],
    }
    if state.get("notification_settings"):
        body["notification_settings"] = state["notification_settings"]
    return body


def spec_rule_from_api(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule as it would be written in a spec (full form), from Grafana's API or export shape.
    Defaults are left out so generated specs stay short."""
    state = live_rule_state(rule)
    out: dict[str, Any] = {"title": state["title"]}
    if rule.get("uid"):
        out["uid"] = rule["uid"]
    if state["for"] != "0s":
        out["for"] = state["for"]
    if state["labels"]:
        out["labels"] = state["labels"]
    if state["annotations"]:
        out["annotations"] = state["annotations"]
    if state["no_data_state"] != "NoData":
        out["no_data_state"] = state["no_data_state"]
    if state["exec_err_state"] != "Error":
        out["exec_err_state"] = state["exec_err_state"]
    if state["is_paused"]:
        out["is_paused"] = True
    if state["notification_settings"]:
        out["notification_settings"] = state["notification_settings"]
    out["condition"] = state["condition"]
    out["data"] = [
        {
            "refId": ref,
            **({"queryType": node["query_type"]} if node["query_type"] else {}),
            **(
                {"relativeTimeRange": dict(node["relative_time_range"])}
                if node["relative_time_range"] != {"from": 0, "to": 0}
                else {}
            ),
            "datasourceUid": node["datasource_uid"],
            "model": node["model"],
        }
        for ref, node in state["data"].items()
    ]
    return out
