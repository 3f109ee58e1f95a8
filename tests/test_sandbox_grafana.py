"""The Grafana emulator answers grafana-client like Grafana 11.

grafana-client is the library the provider talks to Grafana with (why: it covers every
provisioning and folder call cleanly, see reconciler.grafana.client.py), so these tests
drive the emulator through it, plus plain HTTP where status codes and raw bodies matter.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from grafana_client import GrafanaApi
from grafana_client.client import GrafanaBadInputError, GrafanaClientError, GrafanaUnauthorizedError

from reconciler.grafana.client import GrafanaApiError, GrafanaClient
from reconciler.sandbox import SandboxServer, SandboxSettings


@pytest.fixture
def grafana(sandbox: SandboxServer) -> GrafanaApi:
    api = GrafanaApi.from_url(sandbox.url, credential="sa-token")
    api.folder.create_folder("Alerts", uid="alerts")
    return api


def query(ref: str = "A", expr: str = "visits_sync_duration") -> dict[str, Any]:
    return {
        "refId": ref,
        "relativeTimeRange": {"from": 600, "to": 0},
        "datasourceUid": "prom",
        "model": {"expr": expr, "refId": ref, "instant": True},
    }


def threshold(ref: str = "C", source: str = "A", value: float = 300) -> dict[str, Any]:
    return {
        "refId": ref,
        "datasourceUid": "__expr__",
        "model": {
            "type": "threshold",
            "expression": source,
            "refId": ref,
            "conditions": [{"evaluator": {"type": "gt", "params": [value]}}],
        },
    }


def rule(title: str = "SLA miss", uid: str = "", group: str = "sla", **extra: Any) -> dict[str, Any]:
    body = {
        "uid": uid,
        "folderUID": "alerts",
        "ruleGroup": group,
        "title": title,
        "condition": "C",
        "data": [query(), threshold()],
        "noDataState": "NoData",
        "execErrState": "Error",
        "for": "300s",
    }
    body.update(extra)
    return body


def test_create_fills_grafana_defaults_and_formats_for(grafana: GrafanaApi) -> None:
    created = grafana.alertingprovisioning.create_alertrule(rule(uid="sla-1"))
    assert created["uid"] == "sla-1" and created["id"] > 0 and created["orgID"] == 1
    assert created["for"] == "5m"
    assert created["provenance"] == "api"
    assert "labels" not in created and "annotations" not in created
    assert created["notification_settings"] is None and created["record"] is None
    model_a = created["data"][0]["model"]
    assert model_a["intervalMs"] == 1000 and model_a["maxDataPoints"] == 43200
    assert created["data"][1]["relativeTimeRange"] == {"from": 0, "to": 0}

    listed = grafana.alertingprovisioning.get_alertrules_all()
    assert [r["uid"] for r in listed] == ["sla-1"]
    assert grafana.alertingprovisioning.get_alertrule("sla-1")["title"] == "SLA miss"


def test_created_status_and_generated_uid(sandbox: SandboxServer, grafana: GrafanaApi) -> None:
    response = requests.post(f"{sandbox.url}/api/v1/provisioning/alert-rules", json=rule(), timeout=5)
    assert response.status_code == 201
    uid = response.json()["uid"]
    assert 1 <= len(uid) <= 40 and uid[0].isalpha()


def test_validation_errors_are_grafanas_400_bodies(grafana: GrafanaApi) -> None:
    cases = {
        "bad uid": (
            rule(uid="has space"),
            "invalid alert rule\ncannot create rule with UID 'has space': invalid format of UID",
        ),
        "long uid": (rule(uid="x" * 41), "UID is longer than 40 symbols"),
        "no data": (rule(data=[]), "invalid alert rule: no queries or expressions are found"),
        "no title": (rule(title=""), "invalid alert rule: title is empty"),
        "bad state": (rule(noDataState="Sleepy"), "invalid alert rule: unknown NoData state option Sleepy"),
        "missing folder": (rule(folderUID="nope"), "invalid alert rule: folder does not exist"),
        "reserved label": (rule(labels={"__alert_rule_uid__": "x"}), "system reserved label"),
    }
    for name, (body, message) in cases.items():
        with pytest.raises(GrafanaBadInputError) as exc:
            grafana.alertingprovisioning.create_alertrule(body)
        assert message in exc.value.response["message"], name
    assert grafana.alertingprovisioning.get_alertrules_all() == []


def test_undecodable_body_and_bad_relative_time_range(grafana: GrafanaApi) -> None:
    with pytest.raises(GrafanaBadInputError) as exc:
        grafana.alertingprovisioning.create_alertrule(rule(**{"for": "5 minutes"}))
    assert exc.value.response == {"message": "bad request data"}
    bad = rule()
    bad["data"][0]["relativeTimeRange"] = {"from": 0, "to": 0}
    with pytest.raises(GrafanaBadInputError) as exc:
        grafana.alertingprovisioning.create_alertrule(bad)
    assert exc.value.response["messageId"] == "alerting.alert-rule.invalidRelativeTime"
    assert exc.value.response["message"] == "Invalid alert rule query A: invalid relative time range [From: 0s, To: 0s]"


def test_duplicate_uid_is_409_and_duplicate_title_400(grafana: GrafanaApi) -> None:
    grafana.alertingprovisioning.create_alertrule(rule(uid="dup"))
    with pytest.raises(GrafanaClientError) as exc:
        grafana.alertingprovisioning.create_alertrule(rule(uid="dup", title="Other"))
    assert exc.value.status_code == 409 and exc.value.response["messageId"] == "alerting.alert-rule.conflict"
    with pytest.raises(GrafanaBadInputError) as exc:
        grafana.alertingprovisioning.create_alertrule(rule(uid="dup2"))
    assert "rule title under the same organisation and folder should be unique" in exc.value.response["message"]


def test_missing_rule_is_404_with_empty_body(sandbox: SandboxServer, grafana: GrafanaApi) -> None:
    response = requests.get(f"{sandbox.url}/api/v1/provisioning/alert-rules/nope", timeout=5)
    assert response.status_code == 404 and response.content == b""
    put = requests.put(f"{sandbox.url}/api/v1/provisioning/alert-rules/nope", json=rule(), timeout=5)
    assert put.status_code == 404
    assert requests.delete(f"{sandbox.url}/api/v1/provisioning/alert-rules/nope", timeout=5).status_code == 204


def test_update_keeps_interval_and_delete_is_204(grafana: GrafanaApi, sandbox: SandboxServer) -> None:
    grafana.alertingprovisioning.update_rule_group("alerts", "sla", {"interval": 120, "rules": [rule(uid="r1")]})
    updated = grafana.alertingprovisioning.update_alertrule("r1", rule(uid="r1", title="Renamed", **{"for": "10m"}))
    assert updated["title"] == "Renamed" and updated["for"] == "10m"
    assert grafana.alertingprovisioning.get_rule_group("alerts", "sla")["interval"] == 120
    response = requests.delete(f"{sandbox.url}/api/v1/provisioning/alert-rules/r1", timeout=5)
    assert response.status_code == 204
    assert grafana.alertingprovisioning.get_alertrules_all() == []


def test_single_create_uses_group_interval_or_default(grafana: GrafanaApi) -> None:
    grafana.alertingprovisioning.create_alertrule(rule(uid="a"))
    assert grafana.alertingprovisioning.get_rule_group("alerts", "sla")["interval"] == 60
    grafana.alertingprovisioning.update_rule_group("alerts", "sla", {"interval": 300})  # interval only
    grafana.alertingprovisioning.create_alertrule(rule(uid="b", title="Second"))
    group = grafana.alertingprovisioning.get_rule_group("alerts", "sla")
    assert group["interval"] == 300 and [r["uid"] for r in group["rules"]] == ["a", "b"]
    assert all("provenance" not in r for r in group["rules"])  # GET group does not carry provenance


def test_group_interval_must_be_a_multiple_of_10s(grafana: GrafanaApi) -> None:
    for interval, shown in ((15, "15s"), (0, "0s"), (95, "1m35s")):
        with pytest.raises(GrafanaBadInputError) as exc:
            grafana.alertingprovisioning.update_rule_group("alerts", "sla", {"interval": interval, "rules": [rule()]})
        assert exc.value.response["message"] == (
            f"invalid alert rule: interval ({shown}) should be non-zero and divided exactly by scheduler interval: 10"
        )


def test_group_put_replaces_the_rule_list(grafana: GrafanaApi) -> None:
    prov = grafana.alertingprovisioning
    prov.update_rule_group(
        "alerts", "sla", {"interval": 60, "rules": [rule(uid="r1", title="one"), rule(uid="r2", title="two")]}
    )
    prov.update_rule_group(
        "alerts", "sla", {"interval": 60, "rules": [rule(uid="r2", title="two"), rule(uid="r3", title="three")]}
    )
    group = prov.get_rule_group("alerts", "sla")
    assert [r["uid"] for r in group["rules"]] == ["r2", "r3"]
    with pytest.raises(GrafanaClientError) as exc:
        prov.get_alertrule("r1")
    assert exc.value.status_code == 404


def test_group_put_moves_a_rule_from_another_group(grafana: GrafanaApi) -> None:
    prov = grafana.alertingprovisioning
    prov.update_rule_group("alerts", "one", {"interval": 60, "rules": [rule(uid="m", group="one")]})
    prov.update_rule_group("alerts", "two", {"interval": 120, "rules": [rule(uid="m", group="two")]})
    moved = prov.get_alertrule("m")
    assert moved["ruleGroup"] == "two" and moved["id"] == moved["id"]
    with pytest.raises(GrafanaClientError):
        prov.get_rule_group("alerts", "one")


def test_group_not_found_is_errutil_404(grafana: GrafanaApi) -> None:
    with pytest.raises(GrafanaClientError) as exc:
        grafana.alertingprovisioning.get_rule_group("alerts", "nothing")
    assert exc.value.status_code == 404
    assert exc.value.response == {
        "statusCode": 404,
        "messageId": "alerting.alert-rule.notFound",
        "message": "Not found",
    }


def test_unchanged_rules_keep_state_updated_rules_lose_it(grafana: GrafanaApi, sandbox: SandboxServer) -> None:
    prov = grafana.alertingprovisioning
    prov.update_rule_group(
        "alerts", "sla", {"interval": 60, "rules": [rule(uid="r1", title="one"), rule(uid="r2", title="two")]}
    )
    for uid in ("r1", "r2"):
        requests.put(
            f"{sandbox.url}/sandbox/grafana/rules/{uid}/state", json={"firing": 2, "pending": 1}, timeout=5
        ).raise_for_status()
    current = prov.get_rule_group("alerts", "sla")
    current["rules"][1]["for"] = "10m"
    prov.update_rule_group("alerts", "sla", current)

    states = GrafanaClient(sandbox.url, "t").rule_states()
    by_uid = {r["uid"]: r for g in states for r in g["rules"]}
    assert by_uid["r1"]["state"] == "firing" and len(by_uid["r1"]["alerts"]) == 3
    assert by_uid["r2"]["state"] == "inactive" and by_uid["r2"]["alerts"] == []
    assert states[0]["interval"] == 60 and states[0]["folderUid"] == "alerts" and states[0]["file"] == "Alerts"


def test_provenance_rules(grafana: GrafanaApi, sandbox: SandboxServer) -> None:
    prov = grafana.alertingprovisioning
    editable = prov.create_alertrule(rule(uid="ui", title="editable"), disable_provenance=True)
    assert "provenance" not in editable
    prov.create_alertrule(rule(uid="api", title="locked"))
    # A rule written through the API (provenance api) cannot be changed by a caller saying none.
    with pytest.raises(GrafanaClientError) as exc:
        prov.update_alertrule("api", rule(uid="api", title="locked", **{"for": "1m"}), disable_provenance=True)
    assert exc.value.response == {
        "statusCode": 409,
        "messageId": "alerting.provenanceMismatch",
        "message": "cannot update with provided provenance '', needs 'api'",
    }
    # ... but a group write may release it to none.
    group = prov.get_rule_group("alerts", "sla")
    for r in group["rules"]:
        r["for"] = "2m"
    prov.update_rule_group("alerts", "sla", group, disable_provenance=True)
    assert all("provenance" not in r for r in prov.get_alertrules_all())

    requests.put(
        f"{sandbox.url}/sandbox/grafana/rules/api/provenance", json={"provenance": "file"}, timeout=5
    ).raise_for_status()
    with pytest.raises(GrafanaClientError, match="409"):
        prov.update_alertrule("api", rule(uid="api", title="locked"))
    with pytest.raises(GrafanaClientError, match="409"):
        prov.delete_alertrule("api")
    group = prov.get_rule_group("alerts", "sla")
    group["rules"] = [r for r in group["rules"] if r["uid"] != "api"]
    with pytest.raises(GrafanaClientError, match="409"):
        prov.update_rule_group("alerts", "sla", group)
    assert {r["uid"]: r.get("provenance") for r in prov.get_alertrules_all()} == {"ui": None, "api": "file"}


def test_exports_in_file_provisioning_format(grafana: GrafanaApi, sandbox: SandboxServer) -> None:
    grafana.alertingprovisioning.update_rule_group(
        "alerts", "sla", {"interval": 300, "rules": [rule(uid="r1", labels={"team": "x"})]}
    )
    text = requests.get(f"{sandbox.url}/api/v1/provisioning/alert-rules/export", timeout=5)
    assert text.status_code == 200 and "yaml" in text.headers["Content-Type"]
    doc = yaml.safe_load(text.text)
    (group,) = doc["groups"]
    assert (
        doc["apiVersion"] == 1 and group["folder"] == "Alerts" and group["interval"] == "5m" and group["name"] == "sla"
    )
    (exported,) = group["rules"]
    assert exported["uid"] == "r1" and exported["for"] == "5m" and exported["labels"] == {"team": "x"}
    assert "relativeTimeRange" not in exported["data"][1]  # zero range omitted in YAML

    as_json = GrafanaClient(sandbox.url, "t").export_group("alerts", "sla")
    # AlertRuleGroupExport: FolderUID and IntervalSeconds are `json:"-"` (HCL only); the folder is its title
    assert set(as_json["groups"][0]) == {"orgId", "name", "folder", "interval", "rules"}
    assert as_json["groups"][0]["folder"] == "Alerts"
    assert (
        requests.get(f"{sandbox.url}/api/v1/provisioning/alert-rules/r1/export?format=json", timeout=5).json()[
            "groups"
        ][0]["rules"][0]["uid"]
        == "r1"
    )


def test_export_of_nothing_is_404(sandbox: SandboxServer) -> None:
    assert requests.get(f"{sandbox.url}/api/v1/provisioning/alert-rules/export", timeout=5).status_code == 404


def test_folders(grafana: GrafanaApi) -> None:
    folders = grafana.folder
    assert [f["uid"] for f in folders.get_all_folders()] == ["alerts"]
    child = folders.create_folder("Team", uid="team", parent_uid="alerts")
    assert child["parentUid"] == "alerts" and child["parents"][0]["uid"] == "alerts"
    assert [f["uid"] for f in folders.get_all_folders()] == ["alerts"]  # top level only
    assert [f["uid"] for f in folders.get_all_folders(parent_uid="alerts")] == ["team"]

    with pytest.raises(GrafanaClientError) as exc:
        folders.create_folder("Again", uid="alerts")
    assert exc.value.status_code == 409
    with pytest.raises(GrafanaBadInputError) as exc:
        folders.create_folder("Bad", uid="bad uid")
    assert exc.value.response == {"message": "uid contains illegal characters"}
    with pytest.raises(GrafanaClientError) as exc:
        folders.get_folder("missing")
    assert exc.value.status_code == 404 and exc.value.response == {"status": "not-found", "message": "folder not found"}

    current = folders.get_folder("alerts")
    with pytest.raises(GrafanaClientError) as exc:
        folders.update_folder("alerts", title="Stale", version=current["version"] + 5)
    assert exc.value.status_code == 412
    renamed = folders.update_folder("alerts", title="SLA alerts", version=current["version"])
    assert renamed["title"] == "SLA alerts" and renamed["version"] == current["version"] + 1

    moved = folders.move_folder("team", None)
    assert "parentUid" not in moved


def test_folder_with_rules_needs_force_delete(grafana: GrafanaApi) -> None:
    grafana.alertingprovisioning.create_alertrule(rule(uid="r1"))
    with pytest.raises(GrafanaBadInputError) as exc:
        grafana.folder.delete_folder("alerts")
    assert exc.value.response == {"message": "folder contains alert rules"}
    answer = grafana.folder.delete_folder("alerts", force_delete_rules=True)
    assert answer["message"] == "Folder Alerts deleted"
    assert grafana.alertingprovisioning.get_alertrules_all() == []


def test_behind_the_back_edit_control(grafana: GrafanaApi, sandbox: SandboxServer) -> None:
    grafana.alertingprovisioning.create_alertrule(rule(uid="r1"))
    edited = requests.patch(f"{sandbox.url}/sandbox/grafana/rules/r1", json={"for": "15m"}, timeout=5)
    assert edited.status_code == 200
    assert grafana.alertingprovisioning.get_alertrule("r1")["for"] == "15m"
    assert grafana.alertingprovisioning.get_alertrule("r1")["provenance"] == "api"


@pytest.fixture
def locked_sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path / "s.db", SandboxSettings(token="glsa_right")) as server:
        yield server


def test_bearer_token_is_required_when_configured(locked_sandbox: SandboxServer) -> None:
    with pytest.raises(GrafanaUnauthorizedError):
        GrafanaApi.from_url(locked_sandbox.url, credential="glsa_wrong").alertingprovisioning.get_alertrules_all()
    assert requests.get(f"{locked_sandbox.url}/api/folders", timeout=5).status_code == 401
    assert (
        GrafanaApi.from_url(locked_sandbox.url, credential="glsa_right").alertingprovisioning.get_alertrules_all() == []
    )


def test_client_errors_name_the_call_not_the_token(locked_sandbox: SandboxServer) -> None:
    client = GrafanaClient(locked_sandbox.url, "glsa_wrong")
    with pytest.raises(GrafanaApiError) as exc:
        client.list_rules()
    assert exc.value.status == 401 and "list alert rules" in str(exc.value) and "glsa_wrong" not in str(exc.value)


def test_rule_field_table_matches_what_the_sandbox_fills_in(grafana: GrafanaApi) -> None:
    from reconciler.grafana.kinds import GrafanaAlertRuleKind

    table = GrafanaAlertRuleKind.fields
    body = rule(uid="t1")
    del body["for"]
    created = grafana.alertingprovisioning.create_alertrule(body)
    for field_rule in table.rules:
        if field_rule.has_default and field_rule.path.startswith("data.*.model."):
            _, _, key = field_rule.path.rpartition(".")
            assert all(q["model"][key] == field_rule.server_default for q in created["data"]), field_rule.path
    assert created["for"] == table.default("for")
    for field_rule in (r for r in table.rules if r.server_owned):
        assert field_rule.path in created, field_rule.path
