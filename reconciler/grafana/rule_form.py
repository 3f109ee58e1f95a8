"""The one normal form Grafana rules are diffed in, and the API shapes it maps to and from (pure).

Both the kinds (desired state from specs) and the provider (live state from Grafana's API) go
through `rule_state`, so anything Grafana fills in or reformats (model `intervalMs` /
`maxDataPoints`, `queryType` copied from the model, `for` written as `300s` and returned as `5m`,
empty vs missing labels, integral floats) is the same on both sides and never shows as a change.

The shorthand (`query` / `reduce` / `threshold`) expands to the nodes Grafana's rule editor builds
for the SLA case: A = the datasource query, B = a reduce of A, C = a threshold on B, condition C.
"""

from __future__ import annotations

from typing import Any

from .field_tables import ALERT_RULE_FIELDS
from .ownership import MARKER_PREFIX
from .spec_model import (
    DASHBOARD_UID_ANNOTATION,
    EXPR_DATASOURCE,
    PANEL_ID_ANNOTATION,
    RuleSpec,
    format_duration,
    parse_duration,
    parse_threshold,
    record_source,
)

# Every field of Grafana 12's ProvisionedAlertRule (pkg/services/ngalert/api/tooling/definitions/
# provisioning_alert_rules.go). Others a newer Grafana returns are carried through writes unchanged.
API_RULE_FIELDS = frozenset(
    {
        "id",
        "uid",
        "orgID",
        "folderUID",
        "ruleGroup",
        "title",
        "condition",
        "data",
        "updated",
        "noDataState",
        "execErrState",
        "for",
        "keep_firing_for",
        "annotations",
        "labels",
        "provenance",
        "isPaused",
        "notification_settings",
        "record",
        "missingSeriesEvalsToResolve",
    }
)
# The keys of the nested objects the spec models: an unknown key inside them cannot be carried
# (the spec's value replaces the object), so such a rule is refused rather than changed.
NESTED_FIELDS: dict[str, frozenset[str]] = {
    "notification_settings": frozenset(
        {
            "receiver",
            "group_by",
            "group_wait",
            "group_interval",
            "repeat_interval",
            "mute_time_intervals",
            "active_time_intervals",
        }
    ),
    "record": frozenset({"metric", "from", "target_datasource_uid"}),
    "data[]": frozenset({"refId", "queryType", "relativeTimeRange", "datasourceUid", "model"}),
    "data[].relativeTimeRange": frozenset({"from", "to"}),
}
GROUP_BY_REQUIRED = ("alertname", "grafana_folder")  # Grafana 12 adds them to a rule's group_by


def unmodelled_fields(rule: dict[str, Any]) -> dict[str, Any]:
    """Top-level fields of a live rule that reconciler does not model: carried through writes."""
    return {k: v for k, v in rule.items() if k not in API_RULE_FIELDS}


def uncarriable_fields(rule: dict[str, Any]) -> list[str]:
    """Paths of unknown keys inside objects the spec rewrites whole (a write would drop them)."""
    out: list[str] = []
    for key in ("notification_settings", "record"):
        value = rule.get(key)
        if isinstance(value, dict):
            out += [f"{key}.{k}" for k in sorted(set(value) - NESTED_FIELDS[key])]
    for index, node in enumerate(rule.get("data") or []):
        if not isinstance(node, dict):
            continue
        out += [f"data[{index}].{k}" for k in sorted(set(node) - NESTED_FIELDS["data[]"])]
        rtr = node.get("relativeTimeRange")
        if isinstance(rtr, dict):
            out += [
                f"data[{index}].relativeTimeRange.{k}"
                for k in sorted(set(rtr) - NESTED_FIELDS["data[].relativeTimeRange"])
            ]
    return out


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
    """One node in spec shape. A model `maxDataPoints` / `intervalMs` Grafana would not take as
    set (0, not a number) is left unset: the field table fills in Grafana's defaults."""
    model = go_number(dict(query.get("model") or {}))
    query_type = query.get("queryType") or ""
    if isinstance(model.get("queryType"), str):
        query_type = model["queryType"]
    for key in ("maxDataPoints", "intervalMs"):
        value = model.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value == 0:
            model.pop(key, None)
    rtr = query.get("relativeTimeRange") or {}
    return {
        "refId": query.get("refId") or "",
        "datasource_uid": query.get("datasourceUid") or "",
        "query_type": query_type,
        "relative_time_range": {"from": int(rtr.get("from") or 0), "to": int(rtr.get("to") or 0)},
        "model": model,
    }


def expand_shorthand_query(rule: RuleSpec) -> list[dict[str, Any]]:
    """Node A of the shorthand: the datasource query, as Grafana's rule editor builds it."""
    assert rule.query is not None
    return [
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
        }
    ]


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
    if rule.query is not None and rule.record is not None:
        # A recording rule in the shorthand: query A alone, recorded (no reduce, no threshold).
        return expand_shorthand_query(rule)[:1], ""
    if rule.query is not None:
        return expand_shorthand(rule)
    data = [q.model_dump(by_alias=True) for q in rule.data or []]
    return data, rule.condition or ""


def _notification_settings(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if not value:
        return None
    group_by = value.get("group_by")
    if group_by and "..." not in group_by:
        # Grafana 12 accepts a group_by without them and adds them itself: compare in that form.
        group_by = list(group_by) + [label for label in GROUP_BY_REQUIRED if label not in group_by]
    out: dict[str, Any] = {
        "receiver": value.get("receiver") or "",
        "group_by": group_by,
        "mute_time_intervals": value.get("mute_time_intervals"),
        "active_time_intervals": value.get("active_time_intervals"),
    }
    for key in ("group_wait", "group_interval", "repeat_interval"):
        if value.get(key) is not None:
            out[key] = format_duration(parse_duration(value[key]))
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
    no_data_state: str | None,
    exec_err_state: str | None,
    is_paused: bool | None,
    notification_settings: dict[str, Any] | None,
    record: dict[str, Any] | None = None,
    keep_firing_for_seconds: int = 0,
    missing_series_evals_to_resolve: int | None = None,
) -> dict[str, Any]:
    """The comparable form of a rule: spec-shaped, then normalised by the field table. Nodes are
    keyed by refId (their order does not matter to Grafana), so a change deep inside a model reads
    `data.C.model.conditions[0].evaluator.params`."""
    notes = dict(annotations or {})
    dashboard_uid = notes.pop(DASHBOARD_UID_ANNOTATION, None) or None
    panel = notes.pop(PANEL_ID_ANNOTATION, None)
    try:
        panel_id = int(panel) if panel not in (None, "") else None
    except (TypeError, ValueError):
        panel_id, notes[PANEL_ID_ANNOTATION] = None, str(panel)  # not Grafana's: compared as an annotation
    recording = _record(record)
    state = {
        "title": title,
        "folder": folder,
        "group": group,
        # A recording rule has no condition, no alert states and no routing (Grafana ignores them).
        "condition": "" if recording else condition,
        "data": [normalise_query(q) for q in data],
        "for": format_duration(0 if recording else for_seconds),
        "keep_firing_for": format_duration(0 if recording else keep_firing_for_seconds),
        "labels": labels,
        "annotations": {k: v for k, v in notes.items() if not k.startswith(MARKER_PREFIX)},
        "no_data_state": None if recording else no_data_state,
        "exec_err_state": None if recording else exec_err_state,
        "is_paused": is_paused,
        "notification_settings": None if recording else _notification_settings(notification_settings),
        "record": recording,
        "missing_series_evals_to_resolve": missing_series_evals_to_resolve,
        "dashboard_uid": dashboard_uid,
        "panel_id": panel_id,
    }
    return ALERT_RULE_FIELDS.normalise(state)


def _record(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if not value or not value.get("metric"):
        return None
    out = {"metric": str(value["metric"]), "from": str(value.get("from") or "")}
    if value.get("target_datasource_uid"):
        out["target_datasource_uid"] = str(value["target_datasource_uid"])
    return out


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
        record=None
        if rule.record is None
        else {
            "metric": rule.record.metric,
            "from": record_source(rule),
            "target_datasource_uid": rule.record.target_datasource_uid,
        },
        keep_firing_for_seconds=rule.keep_firing_for,
        missing_series_evals_to_resolve=rule.missing_series_evals_to_resolve,
    ) | _link(rule)


def _link(rule: RuleSpec) -> dict[str, Any]:
    if rule.dashboard_uid is None:
        return {}
    return {"dashboard_uid": rule.dashboard_uid, "panel_id": rule.panel_id}


def live_rule_state(rule: dict[str, Any]) -> dict[str, Any]:
    """A ProvisionedAlertRule from Grafana's API in the comparable form."""
    try:
        for_seconds = parse_duration(rule.get("for") or "0s")
    except ValueError:
        for_seconds = 0
    try:
        keep_firing_for = parse_duration(rule.get("keep_firing_for") or "0s")
    except ValueError:
        keep_firing_for = 0
    evals = rule.get("missingSeriesEvalsToResolve")
    return rule_state(
        title=rule.get("title") or "",
        folder=rule.get("folderUID") or "",
        group=rule.get("ruleGroup") or "",
        condition=rule.get("condition") or "",
        data=list(rule.get("data") or []),
        for_seconds=for_seconds,
        labels=rule.get("labels"),
        annotations=rule.get("annotations"),
        # Unset: what Grafana fills in (a provisioning file may omit them) comes from the field table.
        no_data_state=rule.get("noDataState") or None,
        exec_err_state=rule.get("execErrState") or None,
        is_paused=rule.get("isPaused"),
        notification_settings=rule.get("notification_settings"),
        record=rule.get("record"),
        keep_firing_for_seconds=keep_firing_for,
        missing_series_evals_to_resolve=int(evals) if isinstance(evals, (int, float)) and evals else None,
    )


def api_rule(
    state: dict[str, Any], uid: str, markers: dict[str, str], carry: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ProvisionedAlertRule body that writes `state` (plus ownership markers), with `carry`:
    the live rule's fields reconciler does not model, sent back exactly as read."""
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
    link = {}
    if state.get("dashboard_uid"):
        link = {DASHBOARD_UID_ANNOTATION: state["dashboard_uid"], PANEL_ID_ANNOTATION: str(state["panel_id"])}
    body: dict[str, Any] = {
        **(carry or {}),
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
        "annotations": {**state["annotations"], **link, **markers},
        "isPaused": state["is_paused"],
    }
    body["keep_firing_for"] = state.get("keep_firing_for") or "0s"
    if state.get("missing_series_evals_to_resolve"):
        body["missingSeriesEvalsToResolve"] = state["missing_series_evals_to_resolve"]
    if state.get("notification_settings"):
        body["notification_settings"] = state["notification_settings"]
    if state.get("record"):
        body["record"] = state["record"]
    return body


def spec_rule_from_api(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule as it would be written in a spec (full form), from Grafana's API or export shape.
    Defaults are left out so generated specs stay short."""
    state = live_rule_state(rule)
    out: dict[str, Any] = {"title": state["title"]}
    if rule.get("uid"):
        out["uid"] = rule["uid"]
    if state["for"] != ALERT_RULE_FIELDS.default("for"):
        out["for"] = state["for"]
    if state["labels"]:
        out["labels"] = state["labels"]
    if state["annotations"]:
        out["annotations"] = state["annotations"]
    if state["no_data_state"] != ALERT_RULE_FIELDS.default("no_data_state"):
        out["no_data_state"] = state["no_data_state"]
    if state["exec_err_state"] != ALERT_RULE_FIELDS.default("exec_err_state"):
        out["exec_err_state"] = state["exec_err_state"]
    if state["is_paused"]:
        out["is_paused"] = True
    if state.get("notification_settings"):
        out["notification_settings"] = _spec_settings(state["notification_settings"])
    if state.get("keep_firing_for") not in (None, "0s"):
        out["keep_firing_for"] = state["keep_firing_for"]
    if state.get("missing_series_evals_to_resolve"):
        out["missing_series_evals_to_resolve"] = state["missing_series_evals_to_resolve"]
    if state.get("dashboard_uid"):
        out["dashboard_uid"], out["panel_id"] = state["dashboard_uid"], state["panel_id"]
    if state.get("record"):
        # Recording rules stay recording rules: no condition, no alert states.
        for key in ("no_data_state", "exec_err_state", "for", "keep_firing_for"):
            out.pop(key, None)
        out["record"] = dict(state["record"])
    else:
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


def _spec_settings(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in settings.items() if v not in (None, [], "")}


def file_rule_to_api(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule of a provisioning file (or an export: `AlertRuleExport`) as the API shape, read
    the way Grafana's file provisioning reads it (`AlertRuleV1.mapToModel`, rules_types.go):
    an omitted or blank execErrState is `Alerting` (not the API's `Error`), an omitted
    noDataState `NoData`; `dashboardUid` (or the historic `dasboardUid`) and `panelId` become
    the link annotations; label values are strings; a recording rule keeps its `record`."""
    out = {k: v for k, v in rule.items() if k not in FILE_ONLY_FIELDS}
    out["execErrState"] = rule.get("execErrState") or "Alerting"
    out["noDataState"] = rule.get("noDataState") or "NoData"
    out["labels"] = {str(k): _file_string(v) for k, v in (rule.get("labels") or {}).items()}
    out["annotations"] = {str(k): _file_string(v) for k, v in (rule.get("annotations") or {}).items()}
    dashboard = rule.get("dashboardUid") or rule.get("dasboardUid")
    if dashboard:
        out["annotations"][DASHBOARD_UID_ANNOTATION] = str(dashboard)
        if rule.get("panelId") is not None:
            out["annotations"][PANEL_ID_ANNOTATION] = str(rule["panelId"])
    if rule.get("keepFiringFor") is not None:
        out["keep_firing_for"] = rule["keepFiringFor"]
    for key in ("missingSeriesEvalsToResolve", "missing_series_evals_to_resolve"):
        if rule.get(key) is not None:
            out["missingSeriesEvalsToResolve"] = rule[key]
    record = rule.get("record")
    if isinstance(record, dict):
        out["record"] = {
            "metric": record.get("metric"),
            "from": record.get("from"),
            **(
                {"target_datasource_uid": record.get("targetDatasourceUid") or record.get("target_datasource_uid")}
                if record.get("targetDatasourceUid") or record.get("target_datasource_uid")
                else {}
            ),
        }
        out["condition"] = ""
    return out


# Keys of the file format that the API spells differently (converted by `file_rule_to_api`).
FILE_ONLY_FIELDS = frozenset(
    {"dashboardUid", "dasboardUid", "panelId", "keepFiringFor", "missing_series_evals_to_resolve"}
)


def _file_string(value: Any) -> str:
    """A YAML scalar where Grafana's file provisioning reads a string (`severity: 1` is "1")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
