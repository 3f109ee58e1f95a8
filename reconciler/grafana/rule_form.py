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
from .spec_model import EXPR_DATASOURCE, RuleSpec, format_duration, parse_duration, parse_threshold


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
    out: dict[str, Any] = {
        "receiver": value.get("receiver") or "",
        "group_by": value.get("group_by"),
        "mute_time_intervals": value.get("mute_time_intervals"),
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
) -> dict[str, Any]:
    """The comparable form of a rule: spec-shaped, then normalised by the field table. Nodes are
    keyed by refId (their order does not matter to Grafana), so a change deep inside a model reads
    `data.C.model.conditions[0].evaluator.params`."""
    state = {
        "title": title,
        "folder": folder,
        "group": group,
        "condition": condition,
        "data": [normalise_query(q) for q in data],
        "for": format_duration(for_seconds),
        "labels": labels,
        "annotations": {k: v for k, v in (annotations or {}).items() if not k.startswith(MARKER_PREFIX)},
        "no_data_state": no_data_state,
        "exec_err_state": exec_err_state,
        "is_paused": is_paused,
        "notification_settings": _notification_settings(notification_settings),
    }
    return ALERT_RULE_FIELDS.normalise(state)


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
        # Unset: what Grafana fills in (a provisioning file may omit them) comes from the field table.
        no_data_state=rule.get("noDataState") or None,
        exec_err_state=rule.get("execErrState") or None,
        is_paused=rule.get("isPaused"),
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
