"""A 200-object estate across every kind, applied through 2 % injected 500/503/429 answers —
failed before the server acts, or after it (a lost answer) — converges within two applies: the
live state equals the specs, no monitor is orphaned, and what reconciler does not own is
untouched. Seeded, so a failure is reproducible."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import requests
import yaml
from grafana_helpers import TOKEN as GRAFANA_TOKEN
from helpers import Project, SandboxTarget

from reconciler.sandbox import SandboxServer

POLICIES, MONITORS, GROUPS, RULES_PER_GROUP, FOLDERS = 60, 40, 19, 5, 5  # 60 + 40 + 95 + 5 = 200


def _estate() -> list[dict[str, object]]:
    docs: list[dict[str, object]] = []
    for i in range(POLICIES):
        docs.append(
            {
                "apiVersion": "reconciler/v1",
                "kind": "SlaPolicy",
                "metadata": {"name": f"p{i:03d}"},
                "spec": {"warehouse_ids": [f"wh-{i:03d}"], "sla_seconds": 60 + i, "policy_mode": "ALL"},
            }
        )
    for i in range(MONITORS):
        docs.append(
            {
                "apiVersion": "reconciler/v1",
                "kind": "QualityMonitor",
                "metadata": {"name": f"m{i:03d}"},
                "spec": {
                    "table_name": f"main.chaos.t{i:03d}",
                    "output_schema_name": "main.monitoring",
                    "assets_dir": f"/Shared/chaos/t{i:03d}",
                    "snapshot": {},
                    "slicing_exprs": ["region"],
                },
            }
        )
    for f in range(FOLDERS):
        docs.append(
            {
                "apiVersion": "reconciler/v1",
                "kind": "GrafanaFolder",
                "metadata": {"name": f"chaos-{f}"},
                "spec": {"title": f"Chaos {f}"},
            }
        )
    for g in range(GROUPS):
        rules = [
            {
                "title": f"rule {g:02d}-{r}",
                "query": {"datasource": "prometheus", "expr": f"m_{g}_{r}", "time_range": "10m"},
                "reduce": "last",
                "threshold": f"> {r + 1}",
                "for": "5m",
            }
            for r in range(RULES_PER_GROUP)
        ]
        docs.append(
            {
                "apiVersion": "reconciler/v1",
                "kind": "GrafanaRuleGroup",
                "metadata": {"name": f"g{g:02d}"},
                "spec": {"folder": f"chaos-{g % FOLDERS}", "group": f"group {g:02d}", "interval": "1m", "rules": rules},
            }
        )
    return docs


@pytest.fixture
def estate(sandbox_target: Callable[..., SandboxTarget]) -> tuple[Project, SandboxServer]:
    target = sandbox_target(
        name="chaos",
        databricks="retry_timeout_seconds: 10",
        grafana=True,
        policy_store=True,
        retries="{max_attempts: 6, initial_backoff_seconds: 0.01, max_backoff_seconds: 0.05}",
        tables=[f"main.chaos.t{i:03d}" for i in range(MONITORS)],
    )
    return target.project, target.server


def _unmanaged_rule(server: SandboxServer) -> dict[str, object]:
    """A rule made by hand in a folder reconciler manages, before and during the applies."""
    body = {
        "uid": "hand-made",
        "title": "made by hand",
        "folderUID": "chaos-0",
        "ruleGroup": "hand group",
        "condition": "A",
        "data": [
            {
                "refId": "A",
                "relativeTimeRange": {"from": 600, "to": 0},
                "datasourceUid": "prometheus",
                "model": {"expr": "up == 0", "refId": "A"},
            }
        ],
        "noDataState": "OK",
        "execErrState": "Error",
        "for": "1m",
    }
    headers = {"Authorization": f"Bearer {GRAFANA_TOKEN}", "X-Disable-Provenance": "true"}
    requests.post(f"{server.url}/api/v1/provisioning/alert-rules", json=body, headers=headers, timeout=10)
    answer = requests.get(f"{server.url}/api/v1/provisioning/alert-rules/hand-made", headers=headers, timeout=10)
    return dict(answer.json()) if answer.status_code == 200 else {}


def _definition(rule: dict[str, object]) -> str:
    keep = ("uid", "title", "condition", "data", "for", "folderUID", "ruleGroup", "annotations", "labels")
    return json.dumps({k: rule.get(k) for k in keep}, sort_keys=True)


@pytest.mark.parametrize(("mode", "seed"), [("before", 11), ("after", 23), ("mixed", 5)])
def test_two_percent_faults_converge_within_two_applies(
    estate: tuple[Project, SandboxServer], mode: str, seed: int
) -> None:
    project, server = estate
    docs = _estate()
    # The folders first, without faults, so a hand-made rule can live in one of ours.
    project.write("estate.yaml", yaml.safe_dump_all([d for d in docs if d["kind"] == "GrafanaFolder"]))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    hand = _unmanaged_rule(server)
    assert hand, "the hand-made rule could not be created"
    project.write("estate.yaml", yaml.safe_dump_all(docs, sort_keys=False))
    server.faults.configure(fault_rate=0.02, fault_mode=mode, fault_seed=seed)
    outputs = []
    for _ in range(2):
        result = project.cli("apply", "--auto-approve")
        outputs.append(result.output)
        if result.exit_code == 0:
            break
    assert "does not manage" not in "".join(outputs)
    assert "Traceback" not in "".join(outputs)
    injected = sum(requests.get(server.url + "/sandbox/requests", timeout=5).json()["injected"].values())
    server.faults.configure(fault_rate=0.0)
    plan = project.cli("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, (injected, outputs[-1][-3000:], plan.output[-3000:])
    headers = {"Authorization": f"Bearer {GRAFANA_TOKEN}"}
    after = requests.get(f"{server.url}/api/v1/provisioning/alert-rules/hand-made", headers=headers, timeout=10)
    assert after.status_code == 200 and _definition(after.json()) == _definition(hand)
    assert injected > 0
