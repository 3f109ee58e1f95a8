"""reconciler: plan/apply/drift for SLA policies, lakehouse monitors and Grafana alert rules."""

__version__ = "0.1.0"
