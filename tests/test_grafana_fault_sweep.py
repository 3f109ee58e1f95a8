"""Every Grafana kind through injected 500/503/429 answers, across seeds and all three fault modes:
`before` (the server never acts), `after` (it acts, the answer is lost) and `mixed` (issue #13,
"Idempotent by construction"). A small estate — folders, rule groups, contact points, mute
timings, templates and the policy tree — is created, then changed, then partly deleted; each
phase converges within two applies, and a plan without faults shows no change.

A lost answer's retry meets the object it wrote: a create answered "already exists", a versioned
update answered "version conflict". Each such write re-reads the object and takes it as done when
it is what was written — where Grafana reads back empty values as absent, they must compare
equal. The estate is small, so the fault rate is far higher than the 2 % of the 200-object test
(tests/test_fault_convergence.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from grafana_helpers import GrafanaProject
from helpers import SandboxTarget, inject_fault

FOLDERS, GROUPS, RULES, CONTACT_POINTS, MUTE_TIMINGS, TEMPLATES = 2, 3, 2, 2, 2, 2
# Retries absorb all but runs of six faults in a row: what is left to fail is a retry that meets
# its own write and does not recognise it, which a high rate finds in a small estate.
FAULT_RATE = 0.15
SECRET = "sweep-webhook-secret"


def _doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "reconciler/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def _estate(version: int, keep: int = 99) -> list[dict[str, Any]]:
    """The specs; `version` changes every object's content, `keep` how many of each kind stay."""
    docs = [_doc("GrafanaFolder", f"sweep-{f}", {"title": f"Sweep {f} v{version}"}) for f in range(min(FOLDERS, keep))]
    for g in range(min(GROUPS, 2 * keep)):
        rules = [
            {
                "title": f"rule {g}-{r}",
                "query": {"datasource": "prometheus", "expr": f"m_{g}_{r}", "time_range": "10m"},
                "reduce": "last",
                "threshold": f"> {r + version}",
                "for": "5m",
                "labels": {"team": f"t{g % 2}"} if r else {},
            }
            for r in range(RULES)
        ]
        folder = f"sweep-{g % min(FOLDERS, keep)}"
        docs.append(_doc("GrafanaRuleGroup", f"g{g}", {"folder": folder, "interval": "1m", "rules": rules}))
    points = min(CONTACT_POINTS, keep)
    for c in range(points):
        integrations: list[dict[str, Any]] = [
            {
                "type": "webhook",
                "settings": {"url": f"https://hooks.example.com/{c}/v{version}", "httpMethod": "POST"},
                "secure_settings": {"password": "${env:SWEEP_WEBHOOK_PASSWORD}"},
            }
        ]
        if c % 2:
            integrations.append({"type": "email", "settings": {"addresses": f"team{c}-v{version}@example.com"}})
        docs.append(_doc("GrafanaContactPoint", f"cp{c}", {"name": f"Contact {c}", "integrations": integrations}))
    timings = min(MUTE_TIMINGS, keep)
    for m in range(timings):
        interval = {"times": [{"start_time": f"0{m}:00", "end_time": f"0{m + version}:30"}], "weekdays": ["sunday"]}
        docs.append(_doc("GrafanaMuteTiming", f"mute-{m}", {"time_intervals": [interval]}))
    for t in range(min(TEMPLATES, keep)):
        text = f'{{{{ define "sweep.{t}" }}}}v{version}: {{{{ .CommonLabels.alertname }}}}{{{{ end }}}}\n'
        docs.append(_doc("GrafanaTemplate", f"sweep-{t}", {"template": text}))
    routes = [
        {
            "receiver": f"Contact {c}",
            "matchers": [f"team = t{c}"],
            "group_wait": f"{30 + version}s",
            **({"mute_time_intervals": [f"mute-{c % timings}"]} if timings else {}),
        }
        for c in range(points)
    ]
    docs.append(
        _doc(
            "GrafanaNotificationPolicy",
            "org-policy",
            {"receiver": "grafana-default-email", "group_by": ["alertname"], "routes": routes},
        )
    )
    return docs


@pytest.fixture
def gp(sandbox_target: Callable[..., SandboxTarget], monkeypatch: pytest.MonkeyPatch) -> GrafanaProject:
    """A project on a fresh sandbox Grafana (the shared fault-test set-up) with fast retries that
    absorb all but runs of six faults in a row."""
    monkeypatch.setenv("SWEEP_WEBHOOK_PASSWORD", SECRET)
    target = sandbox_target(
        databricks=None,
        grafana=True,
        retries="{max_attempts: 6, initial_backoff_seconds: 0.01, max_backoff_seconds: 0.05}",
    )
    return GrafanaProject(target.project, target.server)


# The first write of each kind whose retry, after a lost answer, meets what it wrote.
LOST_ON_CREATE = [
    ("POST", "^/api/folders$"),  # 409: the folder exists
    ("POST", "^/api/v1/provisioning/alert-rules$"),  # 409: the rule's uid exists
    ("POST", "^/api/v1/provisioning/contact-points$"),  # 400: the integration's uid exists
    ("POST", "^/api/v1/provisioning/mute-timings$"),  # 409: the name exists
    ("PUT", "^/api/v1/provisioning/templates/reconciler-ledger-"),  # 409: the ledger's version moved
]
LOST_ON_CHANGE = [
    ("PUT", "^/api/folders/sweep-0$"),  # 412: the folder's version moved
    ("PUT", "^/api/v1/provisioning/mute-timings/mute-0$"),  # 409: its version moved
    ("PUT", "^/api/v1/provisioning/templates/sweep-0$"),  # 409: its version moved
]


def test_a_lost_answer_on_every_kind_of_grafana_write_is_taken_as_done(gp: GrafanaProject) -> None:
    for docs, lost in ((_estate(1, keep=1), LOST_ON_CREATE), (_estate(2, keep=1), LOST_ON_CHANGE)):
        gp.write("estate.yaml", yaml.safe_dump_all(docs, sort_keys=False))
        for method, path in lost:
            # `skip`: the ledger's first write creates it (no version), under its creation guard
            # (the run's first mute-timing POST, `ledger_guard`); the next ones are the writes tested.
            skip = 1 if "ledger" in path or (lost is LOST_ON_CREATE and "mute-timings" in path) else 0
            inject_fault(gp.sandbox, method=method, path=path, mode="after", skip=skip)
        result = gp.cli("apply", "--auto-approve")
        assert result.exit_code == 0, result.output[-3000:]
        injected = gp.api("GET", "/sandbox/requests").json()["injected"]
        assert len(injected) == len(lost), injected  # every one of them was hit
        gp.api("DELETE", "/sandbox/requests").raise_for_status()
        plan = gp.cli("plan", "--detailed-exitcode")
        assert plan.exit_code == 0, plan.stdout[-3000:]


def _converge(gp: GrafanaProject, *args: str) -> list[str]:
    """At most two applies; the outputs of those that ran."""
    outputs = []
    for _ in range(2):
        result = gp.cli("apply", "--auto-approve", *args)
        outputs.append(result.output)
        if result.exit_code == 0:
            break
    return outputs


@pytest.mark.parametrize(
    ("mode", "seed"),
    [("before", 1), ("after", 3), ("after", 8), ("mixed", 9)],
)
def test_every_grafana_kind_converges_through_faults(gp: GrafanaProject, mode: str, seed: int) -> None:
    faults = gp.sandbox.faults
    phases = [
        ("create", _estate(1), ()),
        ("change", _estate(2), ()),
        ("delete", _estate(2, keep=1), ("--allow-destructive",)),
    ]
    for number, (phase, docs, args) in enumerate(phases):
        gp.write("estate.yaml", yaml.safe_dump_all(docs, sort_keys=False))
        faults.configure(fault_rate=FAULT_RATE, fault_mode=mode, fault_seed=seed * 10 + number)
        outputs = _converge(gp, *args)
        faults.configure(fault_rate=0.0)
        everything = "".join(outputs)
        assert "Traceback" not in everything and SECRET not in everything
        plan = gp.cli("plan", "--detailed-exitcode")
        failures = [line for out in outputs for line in out.splitlines() if "FAILED" in line]
        assert plan.exit_code == 0, (phase, failures, plan.stdout[:3000])
    injected = gp.api("GET", "/sandbox/requests").json()["injected"]
    assert injected, "no fault was injected: the sweep tested nothing"
