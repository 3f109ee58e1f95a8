"""Grafana spec projects for CLI tests: a target on a sandbox Grafana reached over HTTP with a
service-account token, plus ways to look at (and edit) that Grafana behind the tool's back."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from helpers import Project

from reconciler.sandbox import SandboxServer, SandboxSettings

TOKEN = "glsa_test_token"


def folder_doc(name: str = "alerts", title: str = "Alerts", extra: str = "") -> str:
    text = f"apiVersion: reconciler/v1\nkind: GrafanaFolder\nmetadata:\n  name: {name}\nspec:\n  title: {title}\n"
    return text + textwrap.indent(textwrap.dedent(extra).strip() + "\n", "  ") if extra else text


def shorthand_rule(title: str, threshold: str = "> 300", expr: str = "visits_sync_duration", extra: str = "") -> str:
    lines = [
        f"- title: {title}",
        "  query:",
        "    datasource: prometheus",
        f"    expr: {expr}",
        "  reduce: last",
        f'  threshold: "{threshold}"',
        "  for: 5m",
        "  labels: {severity: critical}",
    ]
    if extra:
        lines += ["  " + line for line in textwrap.dedent(extra).strip().splitlines()]
    return "\n".join(lines) + "\n"


def group_doc(name: str, rules: str, folder: str = "alerts", interval: str = "1m", extra: str = "") -> str:
    text = (
        "apiVersion: reconciler/v1\nkind: GrafanaRuleGroup\nmetadata:\n"
        f"  name: {name}\nspec:\n  folder: {folder}\n  interval: {interval}\n"
    )
    if extra:
        text += textwrap.indent(textwrap.dedent(extra).strip() + "\n", "  ")
    return text + "  rules:\n" + textwrap.indent(rules, "    ")


@dataclass
class GrafanaProject:
    project: Project
    sandbox: SandboxServer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.project, name)

    # --- looking at Grafana -------------------------------------------------------------------
    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {TOKEN}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.sandbox.url}{path}", headers=headers, timeout=10, **kwargs)

    def rules(self) -> dict[str, dict[str, Any]]:
        """Live rules by title."""
        answer = self.api("GET", "/api/v1/provisioning/alert-rules")
        answer.raise_for_status()
        return {r["title"]: r for r in answer.json()}

    def group(self, folder: str, group: str) -> dict[str, Any] | None:
        answer = self.api("GET", f"/api/v1/provisioning/folder/{folder}/rule-groups/{group}")
        return answer.json() if answer.status_code == 200 else None

    def folder(self, uid: str) -> dict[str, Any] | None:
        answer = self.api("GET", f"/api/folders/{uid}")
        return answer.json() if answer.status_code == 200 else None

    # --- changing Grafana behind the tool's back -----------------------------------------------
    def create_unmanaged(
        self, title: str, group: str, folder: str = "alerts", uid: str = "", interval: int = 60
    ) -> dict[str, Any]:
        """A rule clicked together in Grafana's UI (no ownership marker, no provenance)."""
        current = self.group(folder, group)
        rules = (current or {}).get("rules", []) + [
            {
                "uid": uid,
                "title": title,
                "condition": "B",
                "data": [
                    {
                        "refId": "A",
                        "relativeTimeRange": {"from": 600, "to": 0},
                        "datasourceUid": "prometheus",
                        "model": {"expr": "up == 0", "refId": "A", "instant": True},
                    },
                    {
                        "refId": "B",
                        "datasourceUid": "__expr__",
                        "model": {
                            "type": "threshold",
                            "expression": "A",
                            "refId": "B",
                            "conditions": [{"evaluator": {"type": "gt", "params": [0]}}],
                        },
                    },
                ],
                "noDataState": "OK",
                "execErrState": "Error",
                "for": "1m",
                "annotations": {"summary": "made by hand"},
            }
        ]
        body = {"interval": (current or {}).get("interval", interval), "rules": rules}
        answer = self.api(
            "PUT",
            f"/api/v1/provisioning/folder/{folder}/rule-groups/{group}",
            json=body,
            headers={"X-Disable-Provenance": "true"},
        )
        answer.raise_for_status()
        return self.rules()[title]

    def edit_behind_back(self, uid: str, patch: dict[str, Any]) -> None:
        self.api("PATCH", f"/sandbox/grafana/rules/{uid}", json=patch).raise_for_status()

    def set_state(self, uid: str, firing: int = 0, pending: int = 0) -> None:
        self.api(
            "PUT", f"/sandbox/grafana/rules/{uid}/state", json={"firing": firing, "pending": pending}
        ).raise_for_status()

    def plan_ops(self, *args: str) -> list[dict[str, Any]]:
        return list(self.project.plan_json(*args)["operations"])


def definition(rule: dict[str, Any]) -> str:
    """What must not change about a rule reconciler does not manage."""
    keep = (
        "uid",
        "title",
        "condition",
        "data",
        "noDataState",
        "execErrState",
        "for",
        "annotations",
        "labels",
        "isPaused",
        "folderUID",
        "ruleGroup",
    )
    return json.dumps({k: rule.get(k) for k in keep}, sort_keys=True)


FULL_FORM_RULE = """\
- title: Visits synchronizer stalled
  uid: visits-sync-stalled
  condition: C
  data:
    - refId: A
      relativeTimeRange: {from: 900, to: 0}
      datasourceUid: prometheus
      model: {expr: "time() - visits_sync_last_success", instant: true, refId: A}
    - refId: C
      datasourceUid: __expr__
      model: {type: math, expression: "$A > 1800", refId: C}
  for: 10m
  no_data_state: Alerting
"""


def base(gp: GrafanaProject, threshold: str = "> 300", interval: str = "1m") -> None:
    gp.write("folders.yaml", folder_doc())
    gp.write(
        "rules.yaml",
        group_doc("sla", shorthand_rule("SLA miss visits synchronizer", threshold) + FULL_FORM_RULE, interval=interval),
    )


def apply_clean(gp: GrafanaProject, *args: str) -> None:
    result = gp.cli("apply", "--auto-approve", *args)
    assert result.exit_code == 0, result.output
    again = gp.cli("plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output  # a plan right after an apply shows no changes
    assert "No changes" in again.stdout


@contextmanager
def grafana_refusing_rule_state(project: Project, db: Path) -> Iterator[GrafanaProject]:
    """A project on its own Grafana sandbox whose token may not read rule state (403 on the
    Prometheus-style rule API), as a token without alert.rules:read is answered. The caller sets
    GRAFANA_TOKEN to `TOKEN`."""
    settings = SandboxSettings(token=TOKEN, extra={"grafana_rule_state_status": 403})
    with SandboxServer(db, settings) as server:
        project.write(
            "reconciler.yaml",
            f"project: test\ndefault_target: g\ntargets:\n  g:\n    grafana:\n      url: {server.url}\n",
        )
        yield GrafanaProject(project, server)
