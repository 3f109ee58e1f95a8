"""The kinds reconciler knows. Adding a kind: one module defining a `Kind`, one line here."""

from __future__ import annotations

from reconciler.grafana.kinds import GrafanaAlertRuleKind, GrafanaFolderKind, GrafanaRuleGroupKind
from reconciler.grafana.notification_kinds import (
    GrafanaContactPointKind,
    GrafanaMuteTimingKind,
    GrafanaNotificationPolicyKind,
    GrafanaTemplateKind,
)

from .base import Kind
from .quality_monitor import QualityMonitorKind
from .sla_policy import SlaPolicyKind

KINDS: dict[str, Kind] = {
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
    )
}


def get_kind(name: str) -> Kind | None:
    return KINDS.get(name)
