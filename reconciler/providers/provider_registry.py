"""Which provider serves which kind on which backend.

Adding a backend or a kind: one provider module, one line here. The target decides the backend
(`Kind.backend(target)`), this table maps (kind, backend) to the provider class.

Entries name their class by module path and are imported on first use: a provider's SDK
(databricks-sdk alone takes about a second to import) is loaded only when the target uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

from reconciler.errors import ReconcilerError
from reconciler.kinds.base import Kind

from .base import Provider

if TYPE_CHECKING:
    from reconciler.targets import LiveSystem, TargetContext


@dataclass(frozen=True)
class ProviderEntry:
    """A provider class by `module:Class`, and the live system it talks to (None: a store the
    target itself names, such as a SQL database)."""

    path: str
    system: LiveSystem | None = None

    def load(self) -> type[Provider]:
        module, _, name = self.path.partition(":")
        cls = getattr(import_module(module), name)
        if not (isinstance(cls, type) and issubclass(cls, Provider)):
            raise TypeError(f"{self.path} is not a Provider")
        return cls


_GRAFANA = "reconciler.grafana.providers"
_NOTIFY = "reconciler.grafana.notification_providers"
PROVIDERS: dict[tuple[str, str], ProviderEntry] = {
    # `sqlite` is the SQL store on a SQLite file (the default store's shorthand): one code path.
    ("SlaPolicy", "sqlite"): ProviderEntry("reconciler.providers.sql_policies:SqlPolicyProvider"),
    ("SlaPolicy", "sql"): ProviderEntry("reconciler.providers.sql_policies:SqlPolicyProvider"),
    ("SlaPolicy", "databricks"): ProviderEntry(
        "reconciler.providers.databricks_policies:DatabricksPolicyProvider", "databricks"
    ),
    ("GrafanaFolder", "grafana"): ProviderEntry(f"{_GRAFANA}:GrafanaFolderProvider", "grafana"),
    ("GrafanaRuleGroup", "grafana"): ProviderEntry(f"{_GRAFANA}:GrafanaRuleGroupProvider", "grafana"),
    ("GrafanaAlertRule", "grafana"): ProviderEntry(f"{_GRAFANA}:GrafanaAlertRuleProvider", "grafana"),
    ("GrafanaContactPoint", "grafana"): ProviderEntry(f"{_NOTIFY}:GrafanaContactPointProvider", "grafana"),
    ("GrafanaNotificationPolicy", "grafana"): ProviderEntry(f"{_NOTIFY}:GrafanaNotificationPolicyProvider", "grafana"),
    ("GrafanaMuteTiming", "grafana"): ProviderEntry(f"{_NOTIFY}:GrafanaMuteTimingProvider", "grafana"),
    ("GrafanaTemplate", "grafana"): ProviderEntry(f"{_NOTIFY}:GrafanaTemplateProvider", "grafana"),
    ("QualityMonitor", "databricks"): ProviderEntry(
        "reconciler.providers.databricks_monitors:DatabricksMonitorProvider", "databricks"
    ),
    ("AnomalyDetection", "databricks"): ProviderEntry(
        "reconciler.providers.databricks_anomaly:DatabricksAnomalyProvider", "databricks"
    ),
}


def provider_entry(kind: Kind, context: TargetContext) -> ProviderEntry:
    backend = kind.backend(context.config)
    entry = PROVIDERS.get((kind.name, backend))
    if entry is None:
        raise ReconcilerError(f"no provider for {kind.name} on backend '{backend}' (target '{context.name}')")
    return entry


def provider_for(kind: Kind, context: TargetContext) -> Provider:
    return provider_entry(kind, context).load()(kind, context.provider_target)
