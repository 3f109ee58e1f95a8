"""Typed contracts between providers and kinds: a live object's facts are a dataclass per kind."""

from __future__ import annotations

import pytest

from reconciler.kinds.base import LiveObject, facts_of
from reconciler.kinds.quality_monitor import MonitorFacts, QualityMonitorKind
from reconciler.kinds.sla_policy import PolicyFacts

TABLE = "main.sales.orders"


def _monitor(facts: MonitorFacts | None) -> LiveObject[MonitorFacts]:
    return LiveObject(kind="QualityMonitor", key=TABLE, state={"table_name": TABLE}, managed=True, facts=facts)


def test_a_live_object_without_facts_reads_as_not_known() -> None:
    assert facts_of(_monitor(None), MonitorFacts) == MonitorFacts()
    assert facts_of(LiveObject(kind="SlaPolicy", key="h", state={}, managed=False), PolicyFacts).managed_by is None


def test_the_kind_words_its_warnings_from_the_providers_typed_facts() -> None:
    kind = QualityMonitorKind()
    unknown = kind.loss_warnings(_monitor(None), "delete")
    assert "its refresh history is lost (it could not be read)" in unknown[0]
    facts = MonitorFacts(
        refresh_count=3,
        first_refresh_ms=1_700_000_000_000,
        profile_metrics_table_name="main.sales.orders_profile_metrics",
        drift_metrics_table_name="main.sales.orders_drift_metrics",
    )
    known = kind.loss_warnings(_monitor(facts), "replace")
    assert "its refresh history is lost: 3 refreshes since 2023-11-14" in known[0]
    assert "main.sales.orders_profile_metrics and main.sales.orders_drift_metrics are dropped" in known[1]


def test_grafana_warnings_read_the_rules_typed_facts() -> None:
    from reconciler.grafana.facts import AlertRuleFacts, FolderFacts, RuleSummary
    from reconciler.grafana.kinds import GrafanaAlertRuleKind, GrafanaFolderKind

    busy = RuleSummary(uid="r1", title="Late", managed=True, firing=2, pending=1)
    hand = RuleSummary(uid="r2", title="Hand-made", managed=False)
    state = {"title": "Late", "folder": "alerts", "group": "sla"}
    rule = LiveObject(
        kind="GrafanaAlertRule",
        key="r1",
        state=state,
        managed=True,
        facts=AlertRuleFacts(rule=busy, spec="sla", groups={"alerts/sla": (busy, hand)}),
    )
    lost = GrafanaAlertRuleKind().loss_warnings(rule, "delete")
    assert "2 alert instance(s) firing and 1 pending now" in lost[0]
    assert "1 rule(s) reconciler does not manage: 'Hand-made'" in lost[1]
    folder = LiveObject(kind="GrafanaFolder", key="alerts", state={"title": "Alerts"}, managed=True)
    assert "it holds no alert rules" in GrafanaFolderKind().loss_warnings(folder, "delete")[0]
    full = LiveObject(
        kind="GrafanaFolder", key="alerts", state={"title": "Alerts"}, managed=True, facts=FolderFacts(rules=(hand,))
    )
    assert "'Hand-made' (NOT managed by reconciler" in GrafanaFolderKind().loss_warnings(full, "delete")[0]


def test_facts_of_another_kind_fail_loudly() -> None:
    with pytest.raises(TypeError, match="carries MonitorFacts, not PolicyFacts"):
        facts_of(_monitor(MonitorFacts()), PolicyFacts)
