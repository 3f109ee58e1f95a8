"""Secrets never appear in output (issue 13, "Secrets"): a canary token used as a Grafana or
Databricks token, a policy store password, a `user:password@` host and a contact-point secret
from `${env:}` is absent from every output of validate, plan (text, markdown, json, --out file),
apply and drift, and from every error — including error bodies that echo the token back, as a
server reflecting the `Authorization` header would (the sandbox's targeted faults)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from click.testing import Result
from helpers import Project, SandboxTarget, inject_fault, policy

from reconciler.sandbox import SandboxServer

CANARY = "canary-7f3a9c"
FAST = "{max_attempts: 2, initial_backoff_seconds: 0.01, max_backoff_seconds: 0.02}"

SPECS = """
apiVersion: reconciler/v1
kind: GrafanaFolder
metadata: {name: alerts}
spec: {title: Alerts}
---
apiVersion: reconciler/v1
kind: GrafanaContactPoint
metadata: {name: oncall}
spec:
  name: On-call
  integrations:
    - type: webhook
      settings: {url: "https://hooks.example.com/x", username: reconciler}
      secure_settings:
        password: ${env:CANARY_PASSWORD}
"""

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


def _clean(result: Result, *codes: int) -> Result:
    assert result.exit_code in codes, result.output
    assert CANARY not in result.output and CANARY not in result.stderr, result.output
    return result


@pytest.fixture
def grafana(
    sandbox_target: Callable[..., SandboxTarget], monkeypatch: pytest.MonkeyPatch
) -> tuple[Project, SandboxServer]:
    target = sandbox_target(
        name="g", databricks=None, grafana=True, retries=FAST, sandbox_token=CANARY, grafana_token=CANARY
    )
    monkeypatch.setenv("CANARY_PASSWORD", CANARY)
    target.project.write("specs.yaml", SPECS)
    return target.project, target.server


def test_grafana_token_and_spec_secret_appear_in_no_output(grafana: tuple[Project, SandboxServer]) -> None:
    project, _ = grafana
    _clean(project.cli("validate"), 0)
    for fmt in ("text", "markdown", "json"):
        _clean(project.cli("plan", "--format", fmt), 0)
    out = project.root.parent / "plan.json"
    _clean(project.cli("plan", "--out", out), 0)
    assert CANARY not in out.read_text(encoding="utf-8")
    _clean(project.cli("apply", "--plan", out, "--auto-approve"), 0)
    _clean(project.cli("drift"), 0)
    assert _clean(project.cli("plan", "--detailed-exitcode"), 0)


def test_error_bodies_echoing_the_token_are_redacted(grafana: tuple[Project, SandboxServer]) -> None:
    project, server = grafana
    echo = f"invalid API key: Authorization: Bearer {CANARY}"
    inject_fault(server, method="GET", path="^/api/folders", status=401, times=5, message=echo)
    result = _clean(project.cli("plan"), 1)
    assert "(sensitive)" in result.output
    requests.delete(server.url + "/sandbox/faults", timeout=5).raise_for_status()
    inject_fault(server, method="POST", path="^/api/folders$", status=400, times=5, message=echo)
    result = _clean(project.cli("apply", "--auto-approve"), 1)
    assert "(sensitive)" in result.output


def test_databricks_token_and_host_password_appear_in_no_output(sandbox_target: Callable[..., SandboxTarget]) -> None:
    target = sandbox_target(
        databricks="retry_timeout_seconds: 2", userinfo=f"admin:{CANARY}", retries=FAST, databricks_token=CANARY
    )
    project, server = target.project, target.server
    project.write("monitors.yaml", MONITOR)
    _clean(project.cli("validate"), 0)
    _clean(project.cli("plan"), 0, 1)
    inject_fault(server, method="GET", path="/monitor$", status=403, times=5, message=f"token {CANARY} denied")
    _clean(project.cli("plan"), 1)
    _clean(project.cli("apply", "--auto-approve"), 1)
    _clean(project.cli("drift"), 1)


def test_policy_store_password_appears_in_no_error(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLA_DB_PASSWORD", CANARY)
    for store in (
        "      url: postgresql+psycopg://sla@127.0.0.1:1/monitoring\n      password_env: SLA_DB_PASSWORD\n",
        "      url: postgresql+psycopg://sla:${env:SLA_DB_PASSWORD}@127.0.0.1:1/monitoring\n",
    ):
        project.write(
            "reconciler.yaml",
            "project: test\ndefault_target: pg\ntargets:\n  pg:\n    policy_store:\n      type: sql\n"
            f"{store}      schema: sla\n      connect_timeout_seconds: 2\n",
        )
        project.write("p.yaml", policy("a", ["w1"], 60))
        _clean(project.cli("validate"), 0)
        _clean(project.cli("plan"), 1)
        _clean(project.cli("apply", "--auto-approve"), 1)


RULE_WITH_VISIBLE_SECRET = """
apiVersion: reconciler/v1
kind: GrafanaRuleGroup
metadata: {name: sla}
spec:
  folder: alerts
  group: SLA misses
  interval: 1m
  rules:
    - title: SLA miss
      query: {datasource: prometheus, expr: visits_sync_duration, time_range: 10m}
      reduce: last
      threshold: "> 300"
      for: 5m
      annotations: {api_token: "${env:CANARY_PASSWORD}"}
"""


def test_a_secret_in_a_visible_field_is_shown_sensitive_warned_about_and_applied(
    grafana: tuple[Project, SandboxServer],
) -> None:
    project, server = grafana
    project.write("rules.yaml", RULE_WITH_VISIBLE_SECRET)
    out = project.root.parent / "plan.json"
    plan = _clean(project.cli("plan", "--out", out), 0)
    assert "(sensitive)" in plan.stdout
    assert "rules.yaml:14: spec.rules[0].annotations.api_token" in plan.stderr, plan.stderr
    assert "shows in plain text" in plan.stderr
    saved = out.read_text(encoding="utf-8")
    assert CANARY not in saved and "(sensitive)" in saved
    _clean(project.cli("apply", "--plan", out, "--auto-approve"), 0)
    rules = requests.get(
        server.url + "/api/v1/provisioning/alert-rules", headers={"Authorization": f"Bearer {CANARY}"}, timeout=5
    ).json()
    assert [r["annotations"]["api_token"] for r in rules if r["title"] == "SLA miss"] == [CANARY]


# The Databricks token's own canary, so its redaction is not the Grafana token's by coincidence.
DBX_CANARY = "canary-dbx-5e1d20"


def _debug_run(target: SandboxTarget, *args: str | Path) -> str:
    """A CLI run in its own process with --debug (the logs reach the real stderr, as in CI): its
    stdout and stderr, checked for both canaries."""
    result = target.cli_process("--debug", *args)
    out = result.stdout + result.stderr
    for canary in (CANARY, DBX_CANARY):
        at = out.find(canary)
        assert at < 0, out[max(0, at - 1500) : at + 300]
    assert "Traceback" not in out, out[-3000:]
    assert " DEBUG " in out
    return out


@pytest.mark.parametrize("auth", ["env", "profile"])
def test_debug_logs_of_plan_and_apply_never_show_a_secret_through_retries_and_errors(
    sandbox_target: Callable[..., SandboxTarget], monkeypatch: pytest.MonkeyPatch, auth: str
) -> None:
    """--debug logs every request and response body. Through injected faults (retries, lost
    answers) and error bodies that quote the tokens bare, for a Databricks token from the
    environment or from a config profile, neither canary appears in any line."""
    from reconciler.sandbox.faults import FaultSettings

    target = sandbox_target(
        name="t",
        grafana=True,
        policy_store=True,
        retries="{max_attempts: 6, initial_backoff_seconds: 0.01, max_backoff_seconds: 0.02}",
        faults=FaultSettings(fault_rate=0.03, fault_seed=7, fault_mode="mixed"),
        databricks_token=DBX_CANARY,
        grafana_token=CANARY,
        **({"userinfo": f"admin:{CANARY}"} if auth == "env" else {"profile": "canary"}),
    )
    monkeypatch.setenv("CANARY_PASSWORD", CANARY)
    project, server = target.project, target.server
    project.write("specs.yaml", "---\n".join([SPECS, policy("visits", ["wh-1"], 300, "ALL"), MONITOR]))
    # Bare values, no "Bearer" or "token" before them: only knowing the secrets redacts them.
    echo = f"you sent {CANARY} and {DBX_CANARY}"
    for method, path in (("GET", "^/api/folders"), ("POST", "/monitor$"), ("POST", "^/api/2.0/sql/statements")):
        inject_fault(server, method=method, path=path, status=503, times=1, message=echo)
    _debug_run(target, "plan", project.root)
    for _ in range(3):
        if "Apply complete" in _debug_run(target, "apply", project.root, "--auto-approve"):
            break
    server.faults.configure(fault_rate=0.0)
    assert "No changes" in _debug_run(target, "plan", project.root), "the applies did not converge"
    # Refusals quoting the secrets: the errors, and the logs of the calls that met them.
    inject_fault(server, method="GET", path="/monitor$", status=403, times=20, message=echo)
    inject_fault(server, method="GET", path="^/api/folders", status=401, times=20, message=echo)
    refused = _debug_run(target, "apply", project.root, "--auto-approve")
    assert "you sent (sensitive) and (sensitive)" in refused, refused[-2000:]
    _debug_run(target, "drift", project.root)
