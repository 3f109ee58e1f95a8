"""Typed contracts between providers and kinds: a live object's facts are a dataclass per kind."""

from __future__ import annotations

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
