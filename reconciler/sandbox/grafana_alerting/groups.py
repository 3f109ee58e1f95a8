"""Rule groups: get, and the whole-group write (interval alone, or the rule list)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from .http import GrafanaApi
from .http import json_response as _json
from .store import _bad_request_data, _errutil, _expect, _replace_group, decode_rule, rule_json, validate_interval


def blueprint(grafana: GrafanaApi) -> Blueprint:
    bp = Blueprint("grafana_groups", __name__)
    state = grafana.state
    store = grafana.store
    api = grafana.api
    body = grafana.body
    provenance_of_request = grafana.provenance_of_request
    rule_fields = grafana.rule_fields

    # --- rule groups ---------------------------------------------------------------------------
    @bp.get("/api/v1/provisioning/folder/<folder_uid>/rule-groups/<group>")
    @api
    def get_group(folder_uid: str, group: str) -> Any:
        with state.connect() as conn:
            rules = store.rules(conn, "folder_uid = ? AND rule_group = ?", (folder_uid, group))
        if not rules:
            raise _errutil(404, "alerting.alert-rule.notFound", "Not found")
        return _json(
            {
                "title": group,
                "folderUid": folder_uid,
                "interval": rules[0]["interval"],
                "rules": [rule_json(r, with_provenance=False) for r in rules],
            }
        )

    @bp.put("/api/v1/provisioning/folder/<folder_uid>/rule-groups/<group>")
    @api
    def put_group(folder_uid: str, group: str) -> Any:
        payload = body()
        if not isinstance(payload, dict):
            raise _bad_request_data()
        interval = payload.get("interval", 0)
        if isinstance(interval, bool) or not isinstance(interval, int):
            raise _bad_request_data()
        submitted_raw = payload.get("rules")
        submitted = (
            None if submitted_raw is None else [decode_rule(r, rule_fields()) for r in _expect(submitted_raw, list)]
        )
        provenance = provenance_of_request()
        with state.connect() as conn:
            validate_interval(interval)
            _replace_group(conn, store, folder_uid, group, interval, submitted, provenance)
        echo = [
            rule_json({**r, "folderUID": folder_uid, "ruleGroup": group, "id": 0, "updated": None, "provenance": ""})
            for r in (submitted or [])
        ]
        return _json(
            {
                "title": group,
                "folderUid": folder_uid,
                "interval": interval,
                "rules": echo if submitted_raw is not None else None,
            }
        )

    return bp
