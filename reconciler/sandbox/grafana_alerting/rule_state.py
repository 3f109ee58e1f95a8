"""Evaluation state per rule (the Prometheus-style rules API)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from .http import GrafanaApi
from .http import json_response as _json
from .store import _message, _rule_state


def blueprint(grafana: GrafanaApi) -> Blueprint:
    bp = Blueprint("grafana_rule_state", __name__)
    state = grafana.state
    store = grafana.store
    settings = grafana.settings
    api = grafana.api

    # --- rule state ----------------------------------------------------------------------------
    @bp.get("/api/prometheus/grafana/api/v1/rules")
    @api
    def prometheus_rules() -> Any:
        refused = settings.extra.get("grafana_rule_state_status")
        if refused:  # a token without alert.rules:read on the state API (tests set this)
            raise _message(int(refused), "Permission denied")  # type: ignore[call-overload]
        with state.connect() as conn:
            rules = store.rules(conn)
            groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for rule in rules:
                groups.setdefault((rule["folderUID"], rule["ruleGroup"]), []).append(rule)
            out_groups = []
            grand: dict[str, int] = {}
            for (folder_uid, name), members in groups.items():
                totals: dict[str, int] = {}
                out_rules = []
                for rule in members:
                    out_rules.append(_rule_state(rule, store.instances(conn, rule["uid"]), totals))
                for key, count in totals.items():
                    grand[key] = grand.get(key, 0) + count
                out_groups.append(
                    {
                        "name": name,
                        "file": store.folder_path(conn, folder_uid),
                        "folderUid": folder_uid,
                        "rules": out_rules,
                        "totals": totals,
                        "interval": members[0]["interval"],
                        "lastEvaluation": "0001-01-01T00:00:00Z",
                        "evaluationTime": 0,
                    }
                )
        return _json({"status": "success", "data": {"groups": out_groups, "totals": grand}})

    return bp
