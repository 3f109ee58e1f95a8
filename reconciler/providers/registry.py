"""Which provider serves which kind on which backend.

Adding a backend or a kind: one provider module, one line here. The target decides the backend
(`Kind.backend(target)`), this table maps (kind, backend) to the provider class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconciler.errors import ReconcilerError
from reconciler.grafana.notification_providers import (
    GrafanaContactPointProvider,
    GrafanaMuteTimingProvider,
    GrafanaNotificationPolicyProvider,
    GrafanaTemplateProvider,
)
from reconciler.grafana.providers import GrafanaAlertRuleProvider, GrafanaFolderProvider, GrafanaRuleGroupProvider
from reconciler.kinds.base import Kind

from .base import Provider
from .databricks_monitors import DatabricksMonitorProvider
from .databricks_policies import DatabricksPolicyProvider
from .sql_policies import SqlPolicyProvider

if TYPE_CHECKING:
    from reconciler.targets import TargetContext

PROVIDERS: dict[tuple[str, str], type[Provider]] = {
    # `sqlite` is the SQL store on a SQLite file (the embedded default's shorthand): one code path.
    ("SlaPolicy", "sqlite"): SqlPolicyProvider,
    ("SlaPolicy", "sql"): SqlPolicyProvider,
    ("SlaPolicy", "databricks"): DatabricksPolicyProvider,
    ("GrafanaFolder", "grafana"): GrafanaFolderProvider,
    ("GrafanaRuleGroup", "grafana"): GrafanaRuleGroupProvider,
    ("GrafanaAlertRule", "grafana"): GrafanaAlertRuleProvider,
    ("GrafanaContactPoint", "grafana"): GrafanaContactPointProvider,
    ("GrafanaNotificationPolicy", "grafana"): GrafanaNotificationPolicyProvider,
    ("GrafanaMuteTiming", "grafana"): GrafanaMuteTimingProvider,
    ("GrafanaTemplate", "grafana"): GrafanaTemplateProvider,
    ("QualityMonitor", "databricks"): DatabricksMonitorProvider,
}


def provider_for(kind: Kind, context: TargetContext) -> Provider:
    backend = kind.backend(context.config)
    cls = PROVIDERS.get((kind.name, backend))
    if cls is None:
        raise ReconcilerError(f"no provider for {kind.name} on backend '{backend}' (target '{context.name}')")
    return cls(kind, context)
