"""Provisioning files read as Grafana reads them (`import --from-file`, issue 14): Grafana's
defaults for omitted fields, `$VAR` / `${VAR}` / `$$` where Grafana expands them, numeric labels
as strings, every Grafana 12 rule field, folder uids derived safely, files kept only when the
whole import succeeds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_helpers import GrafanaProject, folder_doc, group_doc
from grafana_helpers import apply_clean as _apply
from helpers import run

from reconciler.grafana.provisioning_file import folder_uid_for_title

PROVISIONING_FILE = """\
apiVersion: 1
groups:
  - orgId: 1
    name: ${GROUP_NAME}
    folder: bfstats.io
    interval: 1m
    rules:
      - uid: disk-full
        title: Disk full on $CLUSTER
        condition: B
        data:
          - refId: A
            relativeTimeRange: {from: 600, to: 0}
            datasourceUid: prometheus
            model: {expr: "disk_used_ratio > $THRESHOLD", refId: A}
          - refId: B
            datasourceUid: __expr__
            model: {type: threshold, expression: A, refId: B, conditions: [{evaluator: {type: gt, params: [0.9]}}]}
        for: 5m
        keepFiringFor: 10m
        missingSeriesEvalsToResolve: 2
        dashboardUid: disk-dash
        panelId: 7
        labels:
          severity: 2
          cluster: ${CLUSTER}
          cost: $$5
        annotations:
          summary: "{{ $labels.cluster }} disk is full"
        notification_settings:
          receiver: Infra on-call
          group_by: [cluster]
          mute_time_intervals: [weekends]
          active_time_intervals: [business-hours]
      - uid: disk-used-rec
        title: Disk used recorded
        data:
          - refId: A
            relativeTimeRange: {from: 300, to: 0}
            datasourceUid: prometheus
            model: {expr: disk_used_ratio, refId: A}
        record:
          metric: disk_used:ratio
          from: A
          targetDatasourceUid: mimir
"""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROUP_NAME", "infra checks")
    monkeypatch.setenv("CLUSTER", "eu-1")
    monkeypatch.setenv("THRESHOLD", "0.5")


def _import(gp: GrafanaProject, source: Path, *expand: str) -> Any:
    args: list[str | Path] = ["import", "--from-file", source]
    for name in expand:
        args += ["--expand-env", name]
    return run(*args, "GrafanaRuleGroup", "*", gp.root)


def test_a_file_with_every_feature_imports_applies_and_replans_clean(
    gp: GrafanaProject, tmp_path: Path, env: None
) -> None:
    source = tmp_path / "alerting.yaml"
    source.write_text(PROVISIONING_FILE)
    result = _import(gp, source, "GROUP_NAME", "CLUSTER")
    assert result.exit_code == 0, result.output
    (written,) = (gp.root / "grafana").iterdir()
    docs = list(yaml.safe_load_all(written.read_text()))
    folder, group = docs
    uid = folder["metadata"]["name"]
    assert re.fullmatch(r"[a-z0-9-]{1,40}", uid) and uid.startswith("bfstats-io-")
    assert folder["spec"]["title"] == "bfstats.io"
    assert group["spec"]["group"] == "infra checks"
    alerting, recording = group["spec"]["rules"]
    assert alerting["title"] == "Disk full on eu-1"
    assert alerting["exec_err_state"] == "Alerting"  # omitted in a file: Grafana's file default
    assert alerting["labels"] == {"severity": "2", "cluster": "eu-1", "cost": "$5"}
    assert alerting["annotations"] == {"summary": "{{ $labels.cluster }} disk is full"}  # never expanded
    assert alerting["data"][0]["model"]["expr"] == "disk_used_ratio > $THRESHOLD"  # query models neither
    assert recording["record"] == {"metric": "disk_used:ratio", "from": "A", "target_datasource_uid": "mimir"}
    assert "condition" not in recording

    _apply(gp)
    rules = gp.rules()
    live = rules["Disk full on eu-1"]
    assert live["folderUID"] == uid and live["ruleGroup"] == "infra checks"
    assert live["execErrState"] == "Alerting" and live["noDataState"] == "NoData"
    assert live["keep_firing_for"] == "10m" and live["missingSeriesEvalsToResolve"] == 2
    assert live["annotations"]["__dashboardUid__"] == "disk-dash" and live["annotations"]["__panelId__"] == "7"
    assert live["labels"] == {"severity": "2", "cluster": "eu-1", "cost": "$5"}
    settings = live["notification_settings"]
    assert sorted(settings["group_by"]) == ["alertname", "cluster", "grafana_folder"]
    assert settings["mute_time_intervals"] == ["weekends"] and settings["active_time_intervals"] == ["business-hours"]
    rec = rules["Disk used recorded"]
    assert rec["record"] == {"metric": "disk_used:ratio", "from": "A", "target_datasource_uid": "mimir"}
    assert rec["condition"] == "" and rec["execErrState"] == ""


def test_env_references_must_be_named_and_set_errors_at_file_line(
    gp: GrafanaProject, tmp_path: Path, env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "alerting.yaml"
    source.write_text(PROVISIONING_FILE)
    result = _import(gp, source, "GROUP_NAME")
    assert result.exit_code == 1
    assert f"{source}:9:" in result.output and "--expand-env CLUSTER" in result.output  # the title's line
    assert f"{source}:26:" in result.output  # the label's line
    monkeypatch.delenv("CLUSTER")
    result = _import(gp, source, "*")
    assert result.exit_code == 1 and "environment variable CLUSTER is not set" in result.output
    assert not (gp.root / "grafana").exists()  # nothing written


def test_folder_uids_from_titles_are_valid_stable_and_distinct() -> None:
    uids = [folder_uid_for_title(t) for t in ("bfstats.io", "Überwachung", "Мониторинг", "监控", "Team/SLA", "x" * 90)]
    assert len(set(uids)) == len(uids)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,40}", u) for u in uids), uids
    assert folder_uid_for_title("Мониторинг") == folder_uid_for_title("Мониторинг")
    assert folder_uid_for_title("Мониторинг") != folder_uid_for_title("Мониторинг 2")


def test_a_failed_import_keeps_no_files_so_a_rerun_works(gp: GrafanaProject, tmp_path: Path) -> None:
    gp.write("folders.yaml", folder_doc())
    _apply(gp)
    gp.create_unmanaged("Disk full", "from files")
    # another document already declares a rule of that title in the folder: the generated specs clash
    gp.write(
        "rules.yaml",
        group_doc(
            "other",
            "- title: Disk full\n  query: {datasource: prometheus, expr: up}\n  threshold: '> 1'\n",
        ),
    )
    source = tmp_path / "export.yaml"
    source.write_text(gp.api("GET", "/api/v1/provisioning/alert-rules/export").text)
    result = _import(gp, source)
    assert result.exit_code == 1 and "removed again" in result.output
    assert not list((gp.root / "grafana").glob("*.yaml"))
    gp.remove("rules.yaml")
    result = _import(gp, source)
    assert result.exit_code == 0, result.output
    assert gp.cli("plan", "--detailed-exitcode").exit_code == 0
