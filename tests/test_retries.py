"""Transient failures are retried within the target's bounds; others fail at once.

Faults come from the sandbox's injector in front of the real clients (grafana-client, the
Databricks SDK), so what is proven is the clients' retry configuration, not a stand-in.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from grafana_helpers import TOKEN as GRAFANA_TOKEN
from grafana_helpers import GrafanaProject
from helpers import Project, SandboxTarget, inject_fault, ledger_entries

from reconciler.sandbox import SandboxServer

RULES = "/api/v1/provisioning/alert-rules"

GROUP = """
apiVersion: reconciler/v1
kind: GrafanaRuleGroup
metadata: {name: sla}
spec:
  folder: alerts
  group: SLA misses
  interval: 1m
  rules:
    - title: SLA miss visits synchronizer
      query: {datasource: prometheus, expr: visits_sync_duration, time_range: 10m}
      reduce: last
      threshold: "> 300"
      for: 5m
---
apiVersion: reconciler/v1
kind: GrafanaFolder
metadata: {name: alerts}
spec: {title: Alerts}
"""


@pytest.fixture
def grafana(sandbox_target: Callable[..., SandboxTarget]) -> GrafanaProject:
    target = sandbox_target(name="grafana", databricks=None, grafana=True, sandbox_token=GRAFANA_TOKEN)
    target.project.write("rules.yaml", GROUP)
    return GrafanaProject(target.project, target.server)


def test_grafana_transient_answers_are_retried_and_the_apply_converges(grafana: GrafanaProject) -> None:
    server = grafana.sandbox
    inject_fault(server, method="GET", path=f"^{RULES}$", status=503, times=2)
    inject_fault(server, method="POST", path="^/api/folders$", status=429, times=1)
    inject_fault(server, method="PUT", path="/rule-groups/", status=502, times=1)
    inject_fault(server, method="POST", path=f"^{RULES}$", status=500, times=1)
    result = grafana.project.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "SLA miss visits synchronizer" in grafana.rules()
    assert grafana.project.cli("plan", "--detailed-exitcode").exit_code == 0
    injected = requests.get(server.url + "/sandbox/requests", timeout=5).json()["injected"]
    assert sum(injected.values()) >= 3


def test_grafana_client_errors_are_not_retried(grafana: GrafanaProject) -> None:
    server = grafana.sandbox
    inject_fault(server, method="GET", path=f"^{RULES}$", status=403, times=5, message="permission denied")
    server.faults.reset_counts()
    result = grafana.project.cli("plan")
    assert result.exit_code == 1
    assert "HTTP 403" in result.output
    assert server.request_counts().get(f"GET {RULES}") == 1


def test_grafana_retries_are_bounded(grafana: GrafanaProject) -> None:
    server = grafana.sandbox
    inject_fault(server, method="GET", path=f"^{RULES}$", status=503, times=50)
    server.faults.reset_counts()
    result = grafana.project.cli("plan")
    assert result.exit_code == 1
    assert "HTTP 503" in result.output
    assert server.request_counts().get(f"GET {RULES}") == 4  # max_attempts


MONITOR = """
apiVersion: reconciler/v1
kind: QualityMonitor
metadata: {name: orders}
spec:
  table_name: main.sales.orders
  output_schema_name: main.monitoring
  assets_dir: /Shared/monitors/orders
  snapshot: {}
"""


@pytest.fixture
def workspace(sandbox_target: Callable[..., SandboxTarget]) -> tuple[Project, SandboxServer]:
    target = sandbox_target()
    target.project.write("monitors.yaml", MONITOR)
    return target.project, target.server


def test_databricks_500s_the_sdk_does_not_retry_are_retried_with_the_ledger_upload_intact(
    workspace: tuple[Project, SandboxServer],
) -> None:
    project, server = workspace
    inject_fault(
        server, method="GET", path="/api/2.1/unity-catalog/tables/main.sales.orders/monitor$", status=500, times=2
    )
    inject_fault(server, method="POST", path="^/api/2.0/workspace/import$", status=502, times=1)
    inject_fault(server, method="POST", path="^/api/2.0/workspace/import$", status=500, times=1)
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0
    assert "main.sales.orders" in ledger_entries(server)


def test_databricks_client_errors_are_not_retried(workspace: tuple[Project, SandboxServer]) -> None:
    project, server = workspace
    inject_fault(server, method="GET", path="/monitor$", status=400, times=5, message="bad request")
    server.faults.reset_counts()
    assert project.cli("plan").exit_code == 1
    gets = [n for k, n in server.request_counts().items() if k.startswith("GET") and k.endswith("/monitor")]
    assert gets == [1]
