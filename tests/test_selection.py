"""--only KIND/NAME and --label key=value: partial plans, applies and drift reports that say so,
reading only the live systems they concern."""

from __future__ import annotations

import json
from pathlib import Path

from grafana_helpers import GrafanaProject, base
from helpers import policy


def _setup(gp: GrafanaProject) -> None:
    base(gp)
    gp.write(
        "p.yaml",
        policy("etl-a", ["wa"], 10).replace("metadata:\n", "metadata:\n  labels: {team: a}\n")
        + "---\n"
        + policy("etl-b", ["wb"], 20).replace("metadata:\n", "metadata:\n  labels: {team: b}\n"),
    )
    assert gp.cli("apply", "--auto-approve").exit_code == 0
    base(gp, threshold="> 600")
    gp.write(
        "p.yaml",
        policy("etl-a", ["wa"], 11).replace("metadata:\n", "metadata:\n  labels: {team: a}\n")
        + "---\n"
        + policy("etl-b", ["wb"], 21).replace("metadata:\n", "metadata:\n  labels: {team: b}\n"),
    )


def _ops(result: object) -> list[str]:
    data = json.loads(result.stdout)  # type: ignore[attr-defined]
    return sorted(f"{op['action']} {op['kind']}/{op['name']}" for op in data["operations"])


def test_only_plans_the_selected_objects_and_reads_nothing_else(gp: GrafanaProject) -> None:
    _setup(gp)
    before = dict(gp.sandbox.request_counts())
    result = gp.cli("plan", "--format", "json", "--only", "SlaPolicy/etl-*")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["partial"] is True and data["selection"] == ["--only SlaPolicy/etl-*"]
    assert data["notes"][0].startswith("PARTIAL PLAN (--only SlaPolicy/etl-*)")
    assert _ops(result) == ["update SlaPolicy/etl-a", "update SlaPolicy/etl-b"]
    assert "PARTIAL PLAN" in result.stderr
    assert gp.sandbox.request_counts() == before  # Grafana was not asked anything

    rules = gp.cli("plan", "--format", "json", "--only", "GrafanaAlertRule/*")
    assert _ops(rules) == ["update GrafanaAlertRule/alerts/SLA miss visits synchronizer"]
    assert gp.sandbox.request_counts() != before

    full = gp.plan_ops()
    assert len(full) == 3


def test_label_and_repeated_only_select_and_apply_only_those(gp: GrafanaProject) -> None:
    _setup(gp)
    assert _ops(gp.cli("plan", "--format", "json", "--label", "team=a")) == ["update SlaPolicy/etl-a"]
    both = gp.cli("plan", "--format", "json", "--only", "SlaPolicy/etl-a", "--only", "SlaPolicy/etl-b")
    assert _ops(both) == ["update SlaPolicy/etl-a", "update SlaPolicy/etl-b"]

    applied = gp.cli("apply", "--auto-approve", "--label", "team=a")
    assert applied.exit_code == 0, applied.output
    assert "PARTIAL PLAN" in applied.stdout
    remaining = sorted(f"{op['action']} {op['kind']}/{op['name']}" for op in gp.plan_ops())
    assert remaining == ["update GrafanaAlertRule/alerts/SLA miss visits synchronizer", "update SlaPolicy/etl-b"]

    drift = json.loads(gp.cli("drift", "--format", "json", "--only", "SlaPolicy/*").stdout)
    assert {o["name"] for o in drift["objects"]} == {"etl-a", "etl-b"}
    assert [o["name"] for o in drift["objects"] if o["status"] == "drifted"] == ["etl-b"]


def test_bad_selectors_are_errors(gp: GrafanaProject) -> None:
    base(gp)
    bad = gp.cli("plan", "--only", "SlaPolicy")
    assert bad.exit_code == 1 and "expected KIND/NAME" in bad.output
    assert gp.cli("plan", "--label", "team").exit_code == 1


def test_drift_gauges_are_never_published_for_a_part(gp: GrafanaProject, tmp_path: Path) -> None:
    base(gp)
    refused = gp.cli("drift", "--only", "SlaPolicy/*", "--textfile", tmp_path / "d.prom")
    assert refused.exit_code == 1 and "drop --only/--label" in refused.output
    assert not (tmp_path / "d.prom").exists()
