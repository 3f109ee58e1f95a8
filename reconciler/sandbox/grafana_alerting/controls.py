"""Test controls under /sandbox/grafana (never real Grafana paths)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, request

from .http import GrafanaApi
from .http import json_response as _json
from .store import ApiError, _now, decode_rule, presave_queries, rule_json


def blueprint(grafana: GrafanaApi) -> Blueprint:
    bp = Blueprint("grafana_controls", __name__)
    state = grafana.state
    store = grafana.store
    rule_fields = grafana.rule_fields

    # --- test controls (never real Grafana paths) ----------------------------------------------
    @bp.put("/sandbox/grafana/rules/<uid>/state")
    def set_rule_state(uid: str) -> Any:
        """Set a rule's alert instances: {"firing": 2, "pending": 1} or {"instances": [...]}."""
        payload = request.get_json(force=True) or {}
        instances = list(payload.get("instances") or [])
        for state_name, grafana_state in (("firing", "Alerting"), ("pending", "Pending")):
            for n in range(int(payload.get(state_name) or 0)):
                instances.append({"state": grafana_state, "labels": {"instance": f"{state_name}-{n + 1}"}})
        for item in instances:
            item["state"] = {"firing": "Alerting", "pending": "Pending"}.get(
                item.get("state", ""), item.get("state", "Normal")
            )
            item.setdefault("labels", {})
            item.setdefault("activeAt", _now())
            item.setdefault("value", "")
        with state.connect() as conn:
            if store.rule(conn, uid) is None:
                return _json({"message": "rule not found"}, 404)
            conn.execute(
                "INSERT OR REPLACE INTO grafana_rule_state (uid, instances) VALUES (?, ?)", (uid, json.dumps(instances))
            )
        return _json({"uid": uid, "instances": instances})

    @bp.patch("/sandbox/grafana/rules/<uid>")
    def edit_rule(uid: str) -> Any:
        """An edit made in Grafana's UI behind the tool's back: merge fields of a
        ProvisionedAlertRule into the stored rule (provenance and interval unchanged)."""
        patch = request.get_json(force=True) or {}
        with state.connect() as conn:
            existing = store.rule(conn, uid)
            if existing is None:
                return _json({"message": "rule not found"}, 404)
            merged = {**rule_json(existing), **patch}
            try:
                rule = decode_rule(merged, rule_fields())
                rule["uid"] = uid
                presave_queries(rule)
            except ApiError as exc:
                return _json(exc.body, exc.status)
            store.update(conn, existing, rule, existing["interval"], existing["provenance"], existing["group_index"])
            return _json(rule_json(store.rule(conn, uid)))  # type: ignore[arg-type]

    @bp.put("/sandbox/grafana/rules/<uid>/provenance")
    def set_provenance(uid: str) -> Any:
        """Mark a rule as provisioned from a file (`file`), the API (`api`) or the UI (``)."""
        provenance = str((request.get_json(force=True) or {}).get("provenance", ""))
        with state.connect() as conn:
            if store.rule(conn, uid) is None:
                return _json({"message": "rule not found"}, 404)
            conn.execute("UPDATE grafana_rules SET provenance = ? WHERE uid = ?", (provenance, uid))
        return _json({"uid": uid, "provenance": provenance})

    return bp
