"""The field properties end to end, per kind, through the CLI against the sandbox: a spec that
says the same thing differently plans nothing; a real change plans exactly one field change.
(QualityMonitor's is `test_quality_monitors.py::test_quality_monitor_sets_keyed_metrics_case_and_write_only`.)"""

from __future__ import annotations

from grafana_helpers import FULL_FORM_RULE, GrafanaProject, folder_doc, group_doc, shorthand_rule
from grafana_helpers import apply_clean as grafana_apply_clean
from helpers import Project, policy


def changes(project: Project) -> list[tuple[str, str, list[str]]]:
    ops = project.plan_json()["operations"]
    return [(op["action"], op["name"], [c["path"] for c in op["changes"]]) for op in ops]


def test_sla_policy_unordered_and_defaulted_fields(project: Project) -> None:
    project.write("p.yaml", policy("etl", ["wh-a", "wh-b"], 600, extra="included_statuses: [QUEUED, RUNNING]"))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    # Reordered and repeated statuses and warehouses, the default mode written out: the same policy.
    project.write(
        "p.yaml",
        policy("etl", ["wh-b", "wh-a", "wh-b"], 600, "ALL", extra="included_statuses: [RUNNING, QUEUED, RUNNING]"),
    )
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0
    project.write("p.yaml", policy("etl", ["wh-a", "wh-b"], 600, extra="included_statuses: [RUNNING, FAILED, QUEUED]"))
    assert changes(project) == [("update", "etl", ["included_statuses"])]


REORDERED_RULE = """\
- title: Visits synchronizer stalled
  uid: visits-sync-stalled
  condition: C
  data:
    - refId: C
      datasourceUid: __expr__
      model: {type: math, expression: "$A > 1800", refId: C, intervalMs: 1000}
    - refId: A
      relativeTimeRange: {from: 900, to: 0}
      datasourceUid: prometheus
      model: {expr: "time() - visits_sync_last_success", instant: true, refId: A, maxDataPoints: 43200}
  for: 600s
  no_data_state: Alerting
  exec_err_state: Error
  is_paused: false
  labels: {}
"""


def test_grafana_rule_nodes_keyed_by_ref_id_and_server_defaults(gp: GrafanaProject) -> None:
    gp.write("folders.yaml", folder_doc())
    gp.write("rules.yaml", group_doc("sla", shorthand_rule("SLA miss") + FULL_FORM_RULE))
    grafana_apply_clean(gp)
    # The nodes in another order, Grafana's defaults written out, empty labels: the same rule.
    gp.write("rules.yaml", group_doc("sla", shorthand_rule("SLA miss") + REORDERED_RULE))
    result = gp.cli("plan", "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    gp.write("rules.yaml", group_doc("sla", shorthand_rule("SLA miss") + REORDERED_RULE.replace("600s", "15m")))
    assert changes(gp.project) == [("update", "alerts/Visits synchronizer stalled", ["for"])]
