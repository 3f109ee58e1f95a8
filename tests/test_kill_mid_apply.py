"""SIGKILL at 20 random points of applies across every kind: each killed run leaves the live
state as a plan can read it (the ledger's pending entries included), the lock of a killed holder
expires with its lease, and one plain apply afterwards converges with no manual step."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
import yaml
from helpers import SandboxTarget

from reconciler.sandbox.faults import FaultSettings

KILLS = 20
POLICIES, MONITORS, GROUPS = 8, 5, 3


def _estate(version: int) -> list[dict[str, object]]:
    """Two versions of one estate, so every apply after the first has updates to make."""
    docs: list[dict[str, object]] = []
    for i in range(POLICIES):
        docs.append(
            {
                "apiVersion": "reconciler/v1",
                "kind": "SlaPolicy",
                "metadata": {"name": f"p{i}"},
                "spec": {"warehouse_ids": [f"wh-{i}"], "sla_seconds": 60 + i + version, "policy_mode": "ALL"},
            }
        )
    for i in range(MONITORS):
        docs.append(
            {
                "apiVersion": "reconciler/v1",
                "kind": "QualityMonitor",
                "metadata": {"name": f"m{i}"},
                "spec": {
                    "table_name": f"main.kill.t{i}",
                    "output_schema_name": "main.monitoring",
                    "assets_dir": f"/Shared/kill/t{i}",
                    "snapshot": {},
                    "slicing_exprs": ["region"] if version % 2 else ["region", "channel"],
                },
            }
        )
    docs.append(
        {
            "apiVersion": "reconciler/v1",
            "kind": "GrafanaFolder",
            "metadata": {"name": "kill"},
            "spec": {"title": "Kill"},
        }
    )
    for g in range(GROUPS):
        docs.append(
            {
                "apiVersion": "reconciler/v1",
                "kind": "GrafanaRuleGroup",
                "metadata": {"name": f"g{g}"},
                "spec": {
                    "folder": "kill",
                    "group": f"group {g}",
                    "interval": "1m",
                    "rules": [
                        {
                            "title": f"rule {g}-{r}",
                            "query": {"datasource": "prometheus", "expr": f"m_{g}_{r}", "time_range": "10m"},
                            "reduce": "last",
                            "threshold": f"> {r + version}",
                            "for": "5m",
                        }
                        for r in range(3)
                    ],
                },
            }
        )
    return docs


@pytest.fixture
def estate(sandbox_target: Callable[..., SandboxTarget]) -> SandboxTarget:
    return sandbox_target(
        name="k",
        databricks="retry_timeout_seconds: 10",
        grafana=True,
        policy_store=True,
        retries=None,
        extra="lock: {lease_seconds: 1}",
        tables=[f"main.kill.t{i}" for i in range(MONITORS)],
        columns=("id", "region", "channel"),
        faults=FaultSettings(latency_ms=25),
    )


def test_sigkill_at_random_points_then_one_apply_converges(estate: SandboxTarget) -> None:
    project, env = estate.project, estate.env
    apply = [sys.executable, "-m", "reconciler", "apply", str(project.root), "--auto-approve", "--lock-timeout", "30"]
    draw = random.Random(20261202)
    outputs: list[str] = []
    for kill in range(KILLS):
        project.write("estate.yaml", yaml.safe_dump_all(_estate(kill % 2), sort_keys=False))
        proc = subprocess.Popen(apply, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(draw.uniform(0.8, 4.0))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
        outputs.append(out)
    project.write("estate.yaml", yaml.safe_dump_all(_estate(7), sort_keys=False))
    final = subprocess.run(apply, env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stdout + final.stderr
    for out in [*outputs, final.stdout + final.stderr]:
        assert "does not manage" not in out and "Traceback" not in out
    plan = estate.cli_process("plan", project.root, "--detailed-exitcode", timeout=120)
    assert plan.returncode == 0, plan.stdout
