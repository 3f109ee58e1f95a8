"""SIGKILL at 20 random points of applies across every kind: each killed run leaves the live
state as a plan can read it (the ledger's pending entries included), the lock of a killed holder
expires with its lease, and one plain apply afterwards converges with no manual step."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from grafana_helpers import TOKEN as GRAFANA_TOKEN
from helpers import Project
from policy_stores import DBX_TABLE, DBX_WAREHOUSE, DatabricksTable

from reconciler.sandbox import SandboxServer, SandboxSettings
from reconciler.sandbox.faults import FaultSettings

KILLS = 20
POLICIES, MONITORS, GROUPS = 8, 5, 3
TOKEN = "dapi-test"


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
def estate(project: Project, tmp_path: Path) -> Iterator[tuple[Project, SandboxServer]]:
    columns = [
        {"name": "id", "type": "bigint"},
        {"name": "region", "type": "string"},
        {"name": "channel", "type": "string"},
    ]
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        yaml.safe_dump(
            {
                "schemas": ["main.kill", "main.monitoring", "main.sla_monitoring"],
                "tables": [{"full_name": f"main.kill.t{i}", "columns": columns} for i in range(MONITORS)],
            }
        ),
        encoding="utf-8",
    )
    settings = SandboxSettings(seed_path=seed, faults=FaultSettings(latency_ms=25))
    with SandboxServer(tmp_path / "kill.db", settings) as server:
        DatabricksTable(server).query("CREATE SCHEMA IF NOT EXISTS main.sla_monitoring")
        project.write(
            "reconciler.yaml",
            "project: test\ndefault_target: k\ntargets:\n  k:\n"
            f"    databricks: {{host: {server.url}, retry_timeout_seconds: 10}}\n"
            f"    grafana: {{url: {server.url}}}\n"
            f"    policy_store: {{type: databricks, table: {DBX_TABLE}, warehouse_id: {DBX_WAREHOUSE}}}\n"
            "    lock: {lease_seconds: 1}\n",
        )
        yield project, server


def test_sigkill_at_random_points_then_one_apply_converges(estate: tuple[Project, SandboxServer]) -> None:
    project, _ = estate
    env = {
        **os.environ,
        "DATABRICKS_TOKEN": TOKEN,
        "GRAFANA_TOKEN": GRAFANA_TOKEN,
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
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
    plan = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", str(project.root), "--detailed-exitcode"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert plan.returncode == 0, plan.stdout
