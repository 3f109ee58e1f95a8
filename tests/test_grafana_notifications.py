"""Contact points, the notification policy tree, mute timings and templates as code, through the
CLI against the sandbox Grafana (issue 14: "Contact point + notification policy + mute timing
specs plan/apply/drift against the sandbox with secrets never printed")."""

from __future__ import annotations

import json
from typing import Any

import pytest
from grafana_helpers import GrafanaProject
from helpers import copy_examples, run

SECRET = "s3cr3t-webhook-pass"

CONTACT_POINT = """\
apiVersion: reconciler/v1
kind: GrafanaContactPoint
metadata:
  name: data-platform-oncall
spec:
  name: Data platform on-call
  integrations:
    - type: webhook
      settings:
        url: https://hooks.example.com/data-platform
        httpMethod: POST
        username: reconciler
      secure_settings:
        password: ${env:TEAM_WEBHOOK_PASSWORD}
    - type: email
      settings:
        addresses: data-platform@example.com
"""

MUTE_TIMING = """\
apiVersion: reconciler/v1
kind: GrafanaMuteTiming
metadata:
  name: visits-sync-maintenance
spec:
  time_intervals:
    - times: [{start_time: "02:00", end_time: "04:00"}]
      weekdays: [sunday]
      months: ["1:12"]
      location: Europe/Berlin
"""

TEMPLATE = """\
apiVersion: reconciler/v1
kind: GrafanaTemplate
metadata:
  name: sla-messages
spec:
  template: |
    {{ define "sla.title" }}SLA miss: {{ .CommonLabels.alertname }}{{ end }}
"""

POLICY = """\
apiVersion: reconciler/v1
kind: GrafanaNotificationPolicy
metadata:
  name: org-policy
spec:
  receiver: grafana-default-email
  group_by: [grafana_folder, alertname]
  routes:
    - receiver: Data platform on-call
      matchers: ["alertname = SLA miss visits synchronizer"]
      group_wait: 60s
      mute_time_intervals: [visits-sync-maintenance]
"""


def _write_all(gp: GrafanaProject) -> None:
    gp.write("contact-points.yaml", CONTACT_POINT)
    gp.write("mute-timings.yaml", MUTE_TIMING)
    gp.write("templates.yaml", TEMPLATE)
    gp.write("policy.yaml", POLICY)


def _get(gp: GrafanaProject, path: str) -> Any:
    answer = gp.api("GET", f"/api/v1/provisioning{path}")
    answer.raise_for_status()
    return answer.json()


def _ours(gp: GrafanaProject) -> list[dict[str, Any]]:
    return [c for c in _get(gp, "/contact-points") if c["name"] == "Data platform on-call"]


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAM_WEBHOOK_PASSWORD", SECRET)


def test_plan_apply_no_changes_and_secrets_never_printed(gp: GrafanaProject, secret_env: None) -> None:
    _write_all(gp)
    plan = gp.cli("plan")
    assert plan.exit_code == 0, plan.output
    assert SECRET not in plan.output
    data = gp.project.plan_json()
    ops = {(o["kind"], o["action"]) for o in data["operations"]}
    assert ops == {
        ("GrafanaContactPoint", "create"),
        ("GrafanaMuteTiming", "create"),
        ("GrafanaTemplate", "create"),
        ("GrafanaNotificationPolicy", "update"),  # Grafana's default tree, taken over
    }
    assert SECRET not in json.dumps(data)
    # apply order follows the references: template, mute timing, contact point, then the tree
    kinds = [o["kind"] for o in data["operations"]]
    assert kinds.index("GrafanaNotificationPolicy") > kinds.index("GrafanaContactPoint")
    assert kinds.index("GrafanaNotificationPolicy") > kinds.index("GrafanaMuteTiming")

    applied = gp.cli("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert SECRET not in applied.output
    again = gp.cli("plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output  # the redacted secret is no perpetual diff
    assert "No changes" in again.stdout
    assert gp.cli("drift").exit_code == 0

    webhook, email = _ours(gp)
    assert webhook["type"] == "webhook" and webhook["settings"]["password"] == "[REDACTED]"
    assert (
        webhook["settings"]["username"] == "reconciler"
        and email["settings"]["addresses"] == "data-platform@example.com"
    )
    assert webhook.get("provenance") == "api"
    secrets = gp.api("GET", f"/sandbox/grafana/contact-points/{webhook['uid']}/secrets").json()
    assert secrets == {"password": SECRET}  # written, write-only
    tree = _get(gp, "/policies")
    (route,) = tree["routes"]
    assert route["receiver"] == "Data platform on-call"
    assert route["object_matchers"] == [["alertname", "=", "SLA miss visits synchronizer"]]
    assert route["mute_time_intervals"] == ["visits-sync-maintenance"] and route["group_wait"] == "1m"
    (timing,) = _get(gp, "/mute-timings")
    assert timing["time_intervals"] == [
        {
            "times": [{"start_time": "02:00", "end_time": "04:00"}],
            "weekdays": ["sunday"],
            "months": ["january:december"],
            "location": "Europe/Berlin",
        }
    ]
    names = [t["name"] for t in _get(gp, "/templates")]
    assert "sla-messages" in names and "reconciler-ledger-test" in names


def test_secret_change_is_an_update_showing_digests_only(
    gp: GrafanaProject, secret_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_all(gp)
    assert gp.cli("apply", "--auto-approve").exit_code == 0
    monkeypatch.setenv("TEAM_WEBHOOK_PASSWORD", "another-pass")
    data = gp.project.plan_json()
    (op,) = data["operations"]
    assert (op["kind"], op["action"]) == ("GrafanaContactPoint", "update")
    (change,) = op["changes"]
    assert change["path"] == "integrations[0].secure_settings.password"
    assert change["before"].startswith("secret:pbkdf2:") and change["after"].startswith("secret:pbkdf2:")
    text = gp.cli("plan").output
    assert "another-pass" not in text and SECRET not in text and "another-pass" not in json.dumps(data)
    assert gp.cli("apply", "--auto-approve").exit_code == 0
    uid = _ours(gp)[0]["uid"]
    assert gp.api("GET", f"/sandbox/grafana/contact-points/{uid}/secrets").json() == {"password": "another-pass"}
    assert gp.cli("plan", "--detailed-exitcode").exit_code == 0


def test_drift_made_in_the_ui_is_reported_and_reverted(gp: GrafanaProject, secret_env: None) -> None:
    _write_all(gp)
    assert gp.cli("apply", "--auto-approve").exit_code == 0
    webhook = _ours(gp)[0]
    body = {**webhook, "settings": {**webhook["settings"], "url": "https://evil.example.com"}}
    gp.api("PUT", f"/api/v1/provisioning/contact-points/{webhook['uid']}", json=body).raise_for_status()
    gp.api(
        "PUT",
        "/api/v1/provisioning/mute-timings/visits-sync-maintenance",
        json={"name": "visits-sync-maintenance", "time_intervals": [{"weekdays": ["monday"]}]},
    ).raise_for_status()
    drift = gp.cli("drift")
    assert drift.exit_code != 0
    assert SECRET not in drift.output
    ops = {o["kind"]: o for o in gp.project.plan_json()["operations"]}
    assert set(ops) == {"GrafanaContactPoint", "GrafanaMuteTiming"}
    assert [c["path"] for c in ops["GrafanaContactPoint"]["changes"]] == ["integrations[0].settings.url"]
    assert gp.cli("apply", "--auto-approve").exit_code == 0
    # the secret the UI edit left alone is still the spec's
    assert gp.api("GET", f"/sandbox/grafana/contact-points/{webhook['uid']}/secrets").json() == {"password": SECRET}
    assert gp.cli("plan", "--detailed-exitcode").exit_code == 0


def test_only_reconcilers_objects_are_deleted(gp: GrafanaProject, secret_env: None) -> None:
    _write_all(gp)
    assert gp.cli("apply", "--auto-approve").exit_code == 0
    # made by hand in Grafana: never reconciler's
    gp.api(
        "POST",
        "/api/v1/provisioning/mute-timings",
        json={"name": "hand-made", "time_intervals": [{"weekdays": ["saturday"]}]},
        headers={"X-Disable-Provenance": "true"},
    ).raise_for_status()
    for name in ("policy.yaml", "contact-points.yaml", "mute-timings.yaml", "templates.yaml"):
        gp.remove(name)
    data = gp.project.plan_json()
    deletes = {(o["kind"], o["key"]) for o in data["operations"] if o["action"] == "delete"}
    assert deletes == {
        ("GrafanaNotificationPolicy", "policy-tree"),
        ("GrafanaContactPoint", "Data platform on-call"),
        ("GrafanaMuteTiming", "visits-sync-maintenance"),
        ("GrafanaTemplate", "sla-messages"),
    }
    refused = gp.cli("apply", "--auto-approve")
    assert refused.exit_code != 0  # destructive without consent
    applied = gp.cli("apply", "--auto-approve", "--allow-destructive")
    assert applied.exit_code == 0, applied.output
    assert [t["name"] for t in _get(gp, "/mute-timings")] == ["hand-made"]
    assert _ours(gp) == []
    assert _get(gp, "/policies") == {"receiver": "grafana-default-email", "group_by": ["grafana_folder", "alertname"]}
    assert gp.cli("plan", "--detailed-exitcode").exit_code == 0


def test_declaring_an_existing_hand_made_object_is_refused_until_imported(gp: GrafanaProject) -> None:
    gp.api(
        "POST",
        "/api/v1/provisioning/mute-timings",
        json={"name": "visits-sync-maintenance", "time_intervals": [{"weekdays": ["sunday"]}]},
        headers={"X-Disable-Provenance": "true"},
    ).raise_for_status()
    gp.write("mute-timings.yaml", MUTE_TIMING)
    plan = gp.cli("plan")
    assert plan.exit_code != 0 and "does not manage" in plan.output
    imported = run("import", "GrafanaMuteTiming", "visits-sync-maintenance", gp.root)
    assert imported.exit_code == 0, imported.output
    (op,) = gp.plan_ops()
    assert (op["kind"], op["action"]) == ("GrafanaMuteTiming", "update")


def test_secrets_written_in_the_spec_are_refused_at_their_line(gp: GrafanaProject) -> None:
    gp.write("contact-points.yaml", CONTACT_POINT.replace("${env:TEAM_WEBHOOK_PASSWORD}", "plain-text"))
    result = gp.cli("validate")
    assert result.exit_code == 1
    assert "contact-points.yaml:14" in result.output and "${env:NAME}" in result.output
    assert "plain-text" not in result.output
    gp.write(
        "contact-points.yaml",
        CONTACT_POINT.replace("      secure_settings:\n        password: ${env:TEAM_WEBHOOK_PASSWORD}\n", "").replace(
            "username: reconciler", "password: oops"
        ),
    )
    result = gp.cli("validate")
    assert result.exit_code == 1 and "secure_settings" in result.output and "oops" not in result.output


def test_examples_route_the_sla_rule_to_the_team_and_mute_it(tmp_path: Any) -> None:
    specs = copy_examples(tmp_path)
    plan = run("plan", specs, "--format", "json")
    assert plan.exit_code == 0, plan.output
    data = json.loads(plan.stdout)
    policy = next(o for o in data["operations"] if o["kind"] == "GrafanaNotificationPolicy")
    routes = next(c["after"] for c in policy["changes"] if c["path"] == "routes")
    route = routes[0]
    assert route["object_matchers"] == [["alertname", "=", "SLA miss visits synchronizer"]]
    assert route["mute_time_intervals"] == ["visits-sync-maintenance"]
    assert route["receiver"] == "Data platform on-call"
    kinds = {o["kind"] for o in data["operations"]}
    assert {"GrafanaContactPoint", "GrafanaMuteTiming"} <= kinds
    assert run("apply", specs, "--auto-approve").exit_code == 0
    assert run("plan", specs, "--detailed-exitcode").exit_code == 0


def test_drift_tells_ui_edits_from_unapplied_spec_changes_for_every_notification_kind(
    gp: GrafanaProject, secret_env: None
) -> None:
    """The digest of what reconciler last applied, kept in the project's ledger entry (these
    objects have no annotation field), separates *changed outside reconciler* from *spec changed,
    not applied yet* for contact points, mute timings, templates and the policy tree."""

    def causes() -> dict[str, Any]:
        result = gp.cli("drift", "--format", "json")
        assert result.exit_code in (0, 2), result.output
        objects = json.loads(result.stdout)["objects"]
        return {o["kind"]: o.get("cause") for o in objects if o["status"] == "drifted"}

    _write_all(gp)
    assert gp.cli("apply", "--auto-approve").exit_code == 0
    assert causes() == {}
    webhook = _ours(gp)[0]
    body = {**webhook, "settings": {**webhook["settings"], "url": "https://evil.example.com"}}
    gp.api("PUT", f"/api/v1/provisioning/contact-points/{webhook['uid']}", json=body).raise_for_status()
    gp.api(
        "PUT",
        "/api/v1/provisioning/mute-timings/visits-sync-maintenance",
        json={"name": "visits-sync-maintenance", "time_intervals": [{"weekdays": ["monday"]}]},
    ).raise_for_status()
    template = _get(gp, "/templates/sla-messages")
    gp.api(
        "PUT",
        "/api/v1/provisioning/templates/sla-messages",
        json={"template": '{{ define "sla.title" }}edited{{ end }}', "version": template.get("version")},
    ).raise_for_status()
    tree = _get(gp, "/policies")
    tree["group_by"] = ["alertname"]
    gp.api("PUT", "/api/v1/provisioning/policies", json=tree).raise_for_status()
    every = {"GrafanaContactPoint", "GrafanaMuteTiming", "GrafanaTemplate", "GrafanaNotificationPolicy"}
    assert causes() == dict.fromkeys(every, "out_of_band")

    assert gp.cli("apply", "--auto-approve").exit_code == 0
    gp.write("contact-points.yaml", CONTACT_POINT.replace("data-platform@example.com", "oncall@example.com"))
    gp.write("mute-timings.yaml", MUTE_TIMING.replace("04:00", "05:00"))
    gp.write("templates.yaml", TEMPLATE.replace("SLA miss:", "SLA missed:"))
    gp.write("policy.yaml", POLICY.replace("group_wait: 60s", "group_wait: 90s"))
    assert causes() == dict.fromkeys(every, "pending")


def test_the_ledger_carries_sections_a_newer_version_wrote() -> None:
    """An older reconciler writing the ledger keeps what a newer one recorded (never drop what you
    do not model), e.g. the `folders` section to a version that predates it."""
    from reconciler.grafana.notification_model import Ledger

    text = Ledger("reconciler/test").render().replace('"owner"', '"dashboards":{"d1":{"spec":"d"}},"owner"')
    ledger = Ledger.parse("reconciler/test", text)
    ledger.entries["templates"]["t"] = {"spec": "t"}
    again = Ledger.parse("reconciler/test", ledger.render())
    assert again.carried == {"dashboards": {"d1": {"spec": "d"}}}
    assert again.entries["templates"] == {"t": {"spec": "t"}}
