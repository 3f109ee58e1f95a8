"""SIGINT / SIGTERM during an apply stop it between operations with the per-operation report,
a non-zero exit, and a re-run that converges."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from grafana_helpers import TOKEN
from helpers import Project

from reconciler.sandbox import SandboxServer, SandboxSettings
from reconciler.sandbox.faults import FaultSettings

GROUPS = 5


def _groups() -> str:
    docs = []
    for g in range(GROUPS):
        docs.append(
            "apiVersion: reconciler/v1\nkind: GrafanaRuleGroup\n"
            f"metadata: {{name: g{g}}}\n"
            f"spec:\n  folder: alerts\n  group: group {g}\n  interval: 1m\n  rules:\n"
            f"    - title: rule {g}\n      query: {{datasource: prometheus, expr: m{g}, time_range: 10m}}\n"
            '      reduce: last\n      threshold: "> 1"\n      for: 5m\n'
        )
    docs.append("apiVersion: reconciler/v1\nkind: GrafanaFolder\nmetadata: {name: alerts}\nspec: {title: Alerts}\n")
    return "---\n".join(docs)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_apply_between_operations_and_reports_each(
    project: Project, tmp_path: Path, sig: signal.Signals
) -> None:
    settings = SandboxSettings(token=TOKEN, faults=FaultSettings(latency_ms=100))
    with SandboxServer(tmp_path / "g.db", settings) as server:
        project.write(
            "reconciler.yaml",
            f"project: test\ndefault_target: g\ntargets:\n  g:\n    grafana: {{url: {server.url}}}\n",
        )
        project.write("rules.yaml", _groups())
        env = {**os.environ, "GRAFANA_TOKEN": TOKEN, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        command = [sys.executable, "-m", "reconciler", "apply", str(project.root), "--auto-approve", "--no-color"]
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Wait until the apply has started writing, then signal it.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(k.startswith("POST") for k in server.request_counts()):
            time.sleep(0.02)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode != 0
        assert "Traceback" not in out + err and "Aborted!" not in out + err
        assert f"Apply INTERRUPTED by {sig.name}" in err
        assert "[ok]" in out and "[not started]" in out
        server.settings.faults.latency_ms = 0
        env_run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert env_run.returncode == 0, env_run.stdout + env_run.stderr
        again = subprocess.run(
            [sys.executable, "-m", "reconciler", "plan", str(project.root), "--detailed-exitcode"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert again.returncode == 0, again.stdout
