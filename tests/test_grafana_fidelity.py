"""Every field Grafana 12 stores on a provisioned rule survives plan, apply and import (issue 14):
recording rules, keep_firing_for, missing-series settings, notification settings with time
intervals, dashboard links; a field reconciler does not model is carried through writes."""

from __future__ import annotations

from typing import Any

from grafana_helpers import GrafanaProject, folder_doc, group_doc, shorthand_rule
from grafana_helpers import apply_clean as _apply

from reconciler.grafana.rule_form import uncarriable_fields, unmodelled_fields

FULL_RULE = """\
- title: Visits sync lag
  uid: visits-sync-lag
  condition: C
  data:
    - refId: A
      relativeTimeRange: {from: 600, to: 0}
      datasourceUid: prometheus
      model: {expr: visits_sync_lag_seconds, instant: true, refId: A}
    - refId: C
      datasourceUid: __expr__
      model: {type: math, expression: "$A > 600", refId: C}
  for: 5m
  keep_firing_for: 10m
  missing_series_evals_to_resolve: 3
  exec_err_state: KeepLast
  dashboard_uid: visits-sync
  panel_id: 4
  notification_settings:
    receiver: Data platform on-call
    group_by: [team]
    group_wait: 30s
    mute_time_intervals: [visits-sync-maintenance]
    active_time_intervals: [business-hours]
"""

RECORDING_SHORTHAND = """\
- title: Visits sync duration recorded
  uid: visits-sync-duration-rec
  record: visits_sync_duration:last
  query:
    datasource: prometheus
    expr: max(visits_sync_duration)
"""

RECORDING_FULL = """\
- title: Visits sync rate recorded
  uid: visits-sync-rate-rec
  record:
    metric: visits_sync_batches:rate5m
    from: A
    target_datasource_uid: mimir
  data:
    - refId: A
      relativeTimeRange: {from: 300, to: 0}
      datasourceUid: prometheus
      model: {expr: "rate(visits_sync_batches_total[5m])", refId: A}
"""


def _write(gp: GrafanaProject, rules: str, group: str = "sla") -> None:
    gp.write("folders.yaml", folder_doc())
    gp.write("rules.yaml", group_doc(group, rules))


def test_every_grafana_12_field_applies_and_replans_clean(gp: GrafanaProject) -> None:
    _write(gp, FULL_RULE)
    _apply(gp)
    live = gp.rules()["Visits sync lag"]
    assert live["keep_firing_for"] == "10m" and live["missingSeriesEvalsToResolve"] == 3
    assert live["execErrState"] == "KeepLast" and live["for"] == "5m"
    assert live["annotations"]["__dashboardUid__"] == "visits-sync" and live["annotations"]["__panelId__"] == "4"
    settings = live["notification_settings"]
    assert settings["receiver"] == "Data platform on-call" and settings["group_wait"] == "30s"
    # Grafana 12 accepts a group_by without alertname/grafana_folder and adds them itself
    assert sorted(settings["group_by"]) == ["alertname", "grafana_folder", "team"]
    assert settings["mute_time_intervals"] == ["visits-sync-maintenance"]
    assert settings["active_time_intervals"] == ["business-hours"]
    assert live["record"] is None

    _write(gp, FULL_RULE.replace("keep_firing_for: 10m", "keep_firing_for: 15m"))
    (op,) = gp.plan_ops()
    assert op["changes"] == [{"path": "keep_firing_for", "before": "10m", "after": "15m"}]


def test_export_is_alerting_file_export_shaped(gp: GrafanaProject) -> None:
    _write(gp, FULL_RULE + RECORDING_FULL)
    _apply(gp)
    doc = gp.api("GET", "/api/v1/provisioning/alert-rules/export?format=json").json()
    (group,) = doc["groups"]
    assert set(doc) == {"apiVersion", "groups"}
    assert set(group) == {"orgId", "name", "folder", "interval", "rules"} and group["folder"] == "Alerts"
    by_title = {r["title"]: r for r in group["rules"]}
    alerting, recording = by_title["Visits sync lag"], by_title["Visits sync rate recorded"]
    assert alerting["dashboardUid"] == "visits-sync" and alerting["panelId"] == 4
    assert alerting["keepFiringFor"] == "10m" and alerting["missing_series_evals_to_resolve"] == 3
    assert recording["record"] == {
        "metric": "visits_sync_batches:rate5m",
        "from": "A",
        "targetDatasourceUid": "mimir",
    }
    assert "condition" not in recording and "noDataState" not in recording and "for" not in recording


def test_recording_rules_are_first_class_and_stay_recording(gp: GrafanaProject) -> None:
    _write(gp, RECORDING_SHORTHAND + RECORDING_FULL)
    _apply(gp)
    rules = gp.rules()
    short = rules["Visits sync duration recorded"]
    assert short["record"] == {"metric": "visits_sync_duration:last", "from": "A"}
    assert short["condition"] == "" and [q["refId"] for q in short["data"]] == ["A"]
    full = rules["Visits sync rate recorded"]
    assert full["record"]["target_datasource_uid"] == "mimir" and full["condition"] == ""

    # an update of another field keeps it a recording rule
    _write(gp, RECORDING_SHORTHAND.replace("max(visits_sync_duration)", "min(visits_sync_duration)") + RECORDING_FULL)
    _apply(gp)
    assert gp.rules()["Visits sync duration recorded"]["record"]["metric"] == "visits_sync_duration:last"

    # a move to another group keeps it a recording rule
    gp.write("rules.yaml", group_doc("sla", RECORDING_FULL) + "---\n" + group_doc("recorded", RECORDING_SHORTHAND))
    _apply(gp)
    moved = gp.rules()["Visits sync duration recorded"]
    assert moved["ruleGroup"] == "recorded" and moved["record"]["metric"] == "visits_sync_duration:last"

    # a change of the record itself is a plain field change
    gp.write(
        "rules.yaml",
        group_doc("sla", RECORDING_FULL.replace("metric: visits_sync_batches:rate5m", "metric: visits_sync:rate5m"))
        + "---\n"
        + group_doc("recorded", RECORDING_SHORTHAND),
    )
    (op,) = gp.plan_ops()
    assert op["changes"] == [
        {"path": "record.metric", "before": "visits_sync_batches:rate5m", "after": "visits_sync:rate5m"}
    ]


def test_recording_rules_are_validated_as_grafana_does(gp: GrafanaProject) -> None:
    gp.write("folders.yaml", folder_doc())
    bad = (
        RECORDING_SHORTHAND.replace("record: visits_sync_duration:last", "record: 1bad-name")
        + RECORDING_FULL.replace("from: A", "from: Z")
        + shorthand_rule("Alerting and recording", extra="record: also_recorded")
    )
    gp.write("rules.yaml", group_doc("sla", bad))
    result = gp.cli("validate")
    assert result.exit_code == 1
    out = result.output
    assert "spec.rules[0].record.metric" in out
    assert "spec.rules[1].record.from: 'Z' names no node" in out
    assert "spec.rules[2].threshold: a recording rule records its query" in out
    assert "spec.rules[2].for: a recording rule does not alert" in out


def test_a_field_reconciler_does_not_model_survives_an_update(gp: GrafanaProject) -> None:
    gp.sandbox.settings.extra["grafana_rule_fields"] = ["future_setting"]
    _write(gp, shorthand_rule("SLA miss visits synchronizer"))
    _apply(gp)
    uid = gp.rules()["SLA miss visits synchronizer"]["uid"]
    gp.edit_behind_back(uid, {"future_setting": {"mode": "strict", "level": 2}})
    assert gp.rules()["SLA miss visits synchronizer"]["future_setting"] == {"mode": "strict", "level": 2}

    _write(gp, shorthand_rule("SLA miss visits synchronizer", threshold="> 600"))
    plan = gp.project.plan_json()
    (op,) = plan["operations"]
    assert any("future_setting" in w and "unchanged" in w for w in op["warnings"]), op["warnings"]
    _apply(gp)
    live: dict[str, Any] = gp.rules()["SLA miss visits synchronizer"]
    assert live["future_setting"] == {"mode": "strict", "level": 2}
    assert live["data"][2]["model"]["conditions"][0]["evaluator"]["params"] == [600]


def test_unknown_fields_are_found_where_they_can_and_cannot_be_carried() -> None:
    rule = {
        "uid": "u",
        "title": "t",
        "data": [{"refId": "A", "model": {}, "newNodeKey": 1, "relativeTimeRange": {"from": 1, "to": 0, "x": 2}}],
        "notification_settings": {"receiver": "r", "future_key": "x"},
        "record": None,
        "future_setting": True,
    }
    assert unmodelled_fields(rule) == {"future_setting": True}
    assert uncarriable_fields(rule) == [
        "notification_settings.future_key",
        "data[0].newNodeKey",
        "data[0].relativeTimeRange.x",
    ]


def test_a_live_recording_rule_imports_as_one_and_a_switch_is_never_silent(gp: GrafanaProject) -> None:
    from helpers import run

    gp.write("folders.yaml", folder_doc())
    _apply(gp)
    body = {
        "interval": 60,
        "rules": [
            {
                "uid": "made-in-ui-rec",
                "title": "Recorded in the UI",
                "data": [
                    {
                        "refId": "A",
                        "relativeTimeRange": {"from": 300, "to": 0},
                        "datasourceUid": "prometheus",
                        "model": {"expr": "up", "refId": "A"},
                    }
                ],
                "record": {"metric": "up:recorded", "from": "A"},
            }
        ],
    }
    answer = gp.api("PUT", "/api/v1/provisioning/folder/alerts/rule-groups/ui", json=body)
    assert answer.status_code == 200, answer.text
    result = run("import", "--generate-specs", "GrafanaRuleGroup", "alerts/ui", gp.root)
    assert result.exit_code == 0, result.output
    text = (gp.root / "grafana" / "alerts.yaml").read_text()
    assert "record:" in text and "metric: up:recorded" in text and "condition" not in text
    assert gp.cli("plan", "--detailed-exitcode").exit_code == 0

    # a spec that drops `record` is an update that says it turns the rule into an alerting rule
    generated = (gp.root / "grafana" / "alerts.yaml").read_text()
    gp.write(
        "grafana/alerts.yaml",
        generated.replace("record:\n      metric: up:recorded\n      from: A\n", "condition: A\n"),
    )
    ops = gp.plan_ops()
    (op,) = ops
    assert any("turns from a recording rule into an alerting rule" in w for w in op["warnings"]), op


def test_an_unknown_key_inside_notification_settings_makes_the_plan_refuse_that_rule(gp: GrafanaProject) -> None:
    gp.sandbox.settings.extra["grafana_rule_fields"] = ["notification_settings.future_key"]
    _write(gp, FULL_RULE)
    _apply(gp)
    live = gp.rules()["Visits sync lag"]
    gp.edit_behind_back(live["uid"], {"notification_settings": {**live["notification_settings"], "future_key": "x"}})
    assert gp.rules()["Visits sync lag"]["notification_settings"]["future_key"] == "x"
    _write(gp, FULL_RULE.replace("for: 5m", "for: 6m"))
    result = gp.cli("plan")
    assert result.exit_code == 1
    assert "notification_settings.future_key" in result.output and "refused" in result.output
    assert gp.rules()["Visits sync lag"]["notification_settings"]["future_key"] == "x"  # nothing changed
