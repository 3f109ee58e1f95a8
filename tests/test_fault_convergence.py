"""An estate across every kind, applied through 2 % injected 500/503/429 answers — failed before
the server acts, or after it (a lost answer) — converges within two applies: the live state
equals the specs, no monitor is orphaned, and what reconciler does not own is untouched. Seeded,
so a failure is reproducible.

The 200-object estate runs once per fault mode; the other seeds run a small estate of every kind
(no latency, fast retries), so the file stays within about a minute on a two-core machine while
each run still draws its own faults."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests
import yaml
from grafana_helpers import TOKEN as GRAFANA_TOKEN
from helpers import SandboxTarget

from reconciler.sandbox import SandboxServer


@dataclass(frozen=True)
class Estate:
    """How many objects of each kind."""

    policies: int
    monitors: int
    groups: int
    rules_per_group: int
    folders: int

    @property
    def size(self) -> int:
        return self.policies + self.monitors + self.groups * self.rules_per_group + self.folders


FULL = Estate(policies=60, monitors=40, groups=19, rules_per_group=5, folders=5)  # 60 + 40 + 95 + 5 = 200
SMALL = Estate(policies=8, monitors=4, groups=3, rules_per_group=3, folders=2)  # 8 + 4 + 9 + 2 = 23


def _docs(estate: Estate) -> list[dict[str, object]]:
    docs: list[dict[str, object]] = []
    for i in range(estate.policies):
        docs.append(
            {
                "apiVersion": "reconciler/v1",
                "kind": "SlaPolicy",
                "metadata": {"name": f"p{i:03d}"},
                "spec": {"warehouse_ids": [f"wh-{i:03d}"], "sla_seconds": 60 + i, "policy_mode": "ALL"},
            }
        )
    for i in range(estate.monitors):
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
    for f in range(estate.folders):
        docs.append(
            {
                "apiVersion": "reconciler/v1",
                "kind": "GrafanaFolder",
                "metadata": {"name": f"chaos-{f}"},
                "spec": {"title": f"Chaos {f}"},
            }
        )
    for g in range(estate.groups):
        rules = [
            {
                "title": f"rule {g:02d}-{r}",
                "query": {"datasource": "prometheus", "expr": f"m_{g}_{r}", "time_range": "10m"},
                "reduce": "last",
                "threshold": f"> {r + 1}",
                "for": "5m",
            }
            for r in range(estate.rules_per_group)
        ]
        docs.append(
            {
                "apiVersion": "reconciler/v1",
                "kind": "GrafanaRuleGroup",
                "metadata": {"name": f"g{g:02d}"},
                "spec": {
                    "folder": f"chaos-{g % estate.folders}",
                    "group": f"group {g:02d}",
                    "interval": "1m",
                    "rules": rules,
                },
            }
        )
    return docs


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


# Seeds whose draws inject at least one fault into the small estate's run (checked below).
CASES = [
    pytest.param("before", 11, FULL, id="200-before-11"),
    pytest.param("after", 23, FULL, id="200-after-23"),
    *(pytest.param("before", seed, SMALL, id=f"small-before-{seed}") for seed in (1, 3, 5)),
    *(pytest.param("after", seed, SMALL, id=f"small-after-{seed}") for seed in (8, 9, 10)),
    pytest.param("mixed", 12, SMALL, id="small-mixed-12"),
]


@pytest.mark.parametrize(("mode", "seed", "estate"), CASES)
def test_two_percent_faults_converge_within_two_applies(
    sandbox_target: Callable[..., SandboxTarget], mode: str, seed: int, estate: Estate
) -> None:
    target = sandbox_target(
        name="chaos",
        databricks="retry_timeout_seconds: 10",
        grafana=True,
        policy_store=True,
        retries="{max_attempts: 6, initial_backoff_seconds: 0.01, max_backoff_seconds: 0.05}",
        tables=[f"main.chaos.t{i:03d}" for i in range(estate.monitors)],
    )
    project, server = target.project, target.server
    docs = _docs(estate)
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
    assert injected > 0, "no fault was injected: this seed tested nothing"
