"""Secrets never appear in output (issue 13, "Secrets"): a canary token used as a Grafana or
Databricks token, a policy store password, a `user:password@` host and a contact-point secret
from `${env:}` is absent from every output of validate, plan (text, markdown, json, --out file),
apply and drift, and from every error — including error bodies that echo the token back, as a
server reflecting the `Authorization` header would (the sandbox's targeted faults)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import Result
from helpers import Project, inject_fault, policy

from reconciler.sandbox import SandboxServer, SandboxSettings

CANARY = "canary-7f3a9c"
FAST = "retries: {max_attempts: 2, initial_backoff_seconds: 0.01, max_backoff_seconds: 0.02}"

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
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Project, SandboxServer]]:
    with SandboxServer(tmp_path / "grafana.db", SandboxSettings(token=CANARY)) as server:
        monkeypatch.setenv("GRAFANA_TOKEN", CANARY)
        monkeypatch.setenv("CANARY_PASSWORD", CANARY)
        project.write(
            "reconciler.yaml",
            f"project: test\ndefault_target: g\ntargets:\n  g:\n    grafana: {{url: {server.url}}}\n    {FAST}\n",
        )
        project.write("specs.yaml", SPECS)
        yield project, server


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


def test_databricks_token_and_host_password_appear_in_no_output(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SandboxServer(tmp_path / "ws.db", SandboxSettings()) as server:
        monkeypatch.setenv("DATABRICKS_TOKEN", CANARY)
        host = server.url.replace("://", f"://admin:{CANARY}@")
        project.write(
            "reconciler.yaml",
            f"project: test\ndefault_target: ws\ntargets:\n  ws:\n"
            f'    databricks: {{host: "{host}", retry_timeout_seconds: 2}}\n    {FAST}\n',
        )
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


def _debug_run(env: dict[str, str], *args: str | Path) -> str:
    """A CLI run in its own process with --debug (the logs reach the real stderr, as in CI): its
    stdout and stderr, checked for both canaries."""
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "--debug", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = result.stdout + result.stderr
    for canary in (CANARY, DBX_CANARY):
        at = out.find(canary)
        assert at < 0, out[max(0, at - 1500) : at + 300]
    assert "Traceback" not in out, out[-3000:]
    assert " DEBUG " in out
    return out


@pytest.mark.parametrize("auth", ["env", "profile"])
def test_debug_logs_of_plan_and_apply_never_show_a_secret_through_retries_and_errors(
    project: Project, tmp_path: Path, auth: str
) -> None:
    """--debug logs every request and response body. Through injected faults (retries, lost
    answers) and error bodies that quote the tokens bare, for a Databricks token from the
    environment or from a config profile, neither canary appears in any line."""
    from policy_stores import DBX_TABLE, DBX_WAREHOUSE, DatabricksTable

    from reconciler.sandbox.faults import FaultSettings

    faults = FaultSettings(fault_rate=0.03, fault_seed=7, fault_mode="mixed")
    with SandboxServer(tmp_path / "dbg.db", SandboxSettings(faults=faults)) as server:
        DatabricksTable(server).query("CREATE SCHEMA IF NOT EXISTS main.sla_monitoring")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "GRAFANA_"))}
        env |= {"GRAFANA_TOKEN": CANARY, "CANARY_PASSWORD": CANARY}
        env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
        if auth == "env":
            env["DATABRICKS_TOKEN"] = DBX_CANARY
            host = server.url.replace("://", f"://admin:{CANARY}@")
            databricks = f'{{host: "{host}", retry_timeout_seconds: 5}}'
        else:
            profile = tmp_path / "databrickscfg"
            profile.write_text(f"[canary]\nhost = {server.url}\ntoken = {DBX_CANARY}\n", encoding="utf-8")
            env["DATABRICKS_CONFIG_FILE"] = str(profile)
            databricks = "{profile: canary, retry_timeout_seconds: 5}"
        project.write(
            "reconciler.yaml",
            "project: test\ndefault_target: t\ntargets:\n  t:\n"
            f"    databricks: {databricks}\n"
            f"    grafana: {{url: {server.url}}}\n"
            f"    policy_store: {{type: databricks, table: {DBX_TABLE}, warehouse_id: {DBX_WAREHOUSE}}}\n"
            "    retries: {max_attempts: 6, initial_backoff_seconds: 0.01, max_backoff_seconds: 0.02}\n",
        )
        project.write("specs.yaml", "---\n".join([SPECS, policy("visits", ["wh-1"], 300, "ALL"), MONITOR]))
        # Bare values, no "Bearer" or "token" before them: only knowing the secrets redacts them.
        echo = f"you sent {CANARY} and {DBX_CANARY}"
        for method, path in (("GET", "^/api/folders"), ("POST", "/monitor$"), ("POST", "^/api/2.0/sql/statements")):
            inject_fault(server, method=method, path=path, status=503, times=1, message=echo)
        _debug_run(env, "plan", project.root)
        for _ in range(3):
            if "Apply complete" in _debug_run(env, "apply", project.root, "--auto-approve"):
                break
        server.faults.configure(fault_rate=0.0)
        assert "No changes" in _debug_run(env, "plan", project.root), "the applies did not converge"
        # Refusals quoting the secrets: the errors, and the logs of the calls that met them.
        inject_fault(server, method="GET", path="/monitor$", status=403, times=20, message=echo)
        inject_fault(server, method="GET", path="^/api/folders", status=401, times=20, message=echo)
        refused = _debug_run(env, "apply", project.root, "--auto-approve")
        assert "you sent (sensitive) and (sensitive)" in refused, refused[-2000:]
        _debug_run(env, "drift", project.root)
