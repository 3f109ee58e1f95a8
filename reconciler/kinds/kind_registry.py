"""The kinds reconciler knows. Adding a kind: one module defining a `Kind`, one line here."""

from __future__ import annotations

from typing import Any

from reconciler.grafana.kinds import GrafanaAlertRuleKind, GrafanaFolderKind, GrafanaRuleGroupKind
from reconciler.grafana.notification_kinds import (
    GrafanaContactPointKind,
    GrafanaMuteTimingKind,
    GrafanaNotificationPolicyKind,
    GrafanaTemplateKind,
)

from .anomaly_detection import AnomalyDetectionKind
from .base import Kind
from .quality_monitor import QualityMonitorKind
from .sla_policy import SlaPolicyKind

# Kind[Any, Any]: each kind is typed in its own spec and facts; the planner treats them alike.
KINDS: dict[str, Kind[Any, Any]] = {
    kind.name: kind
    for kind in (
        SlaPolicyKind(),
        GrafanaFolderKind(),
        GrafanaRuleGroupKind(),
        GrafanaAlertRuleKind(),
        GrafanaContactPointKind(),
        GrafanaNotificationPolicyKind(),
        GrafanaMuteTimingKind(),
        GrafanaTemplateKind(),
        QualityMonitorKind(),
        AnomalyDetectionKind(),
    )
}


def get_kind(name: str) -> Kind[Any, Any] | None:
    return KINDS.get(name)
