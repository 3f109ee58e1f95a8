"""Alert rules, one at a time: list, get, create (201), update, delete (204)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from .http import GrafanaApi
from .http import json_response as _json
from .store import (
    DEFAULT_INTERVAL_SECONDS,
    ApiError,
    _ensure_namespace,
    _message,
    _provenance_mismatch,
    _stored_fields,
    decode_rule,
    generate_short_uid,
    presave_queries,
    rule_json,
    validate_rule,
    validate_uid,
)


def blueprint(grafana: GrafanaApi) -> Blueprint:
    bp = Blueprint("grafana_rules", __name__)
    state = grafana.state
    store = grafana.store
    api = grafana.api
    body = grafana.body
    provenance_of_request = grafana.provenance_of_request
    rule_fields = grafana.rule_fields

    # --- alert rules ---------------------------------------------------------------------------
    @bp.get("/api/v1/provisioning/alert-rules")
    @api
    def list_rules() -> Any:
        with state.connect() as conn:
            return _json([rule_json(r) for r in store.rules(conn)])

    @bp.get("/api/v1/provisioning/alert-rules/<uid>")
    @api
    def get_rule(uid: str) -> Any:
        with state.connect() as conn:
            rule = store.rule(conn, uid)
        if rule is None:
            raise ApiError(404)
        return _json(rule_json(rule))

    @bp.post("/api/v1/provisioning/alert-rules")
    @api
    def create_rule() -> Any:
        rule = decode_rule(body(), rule_fields())
        provenance = provenance_of_request()
        with state.connect() as conn:
            if not rule["uid"]:
                rule["uid"] = generate_short_uid()
            elif validate_uid(rule["uid"]):
                raise _message(
                    400, f"invalid alert rule\ncannot create rule with UID '{rule['uid']}': {validate_uid(rule['uid'])}"
                )
            _ensure_namespace(conn, store, rule["folderUID"])
            group = store.rules(conn, "folder_uid = ? AND rule_group = ?", (rule["folderUID"], rule["ruleGroup"]))
            interval = group[0]["interval"] if group else DEFAULT_INTERVAL_SECONDS
            presave_queries(rule)
            validate_rule(rule, interval)
            index = max((r["group_index"] for r in group), default=0) + 1
            created = store.insert(conn, rule, interval, provenance, index)
        return _json(rule_json(created), 201)

    @bp.put("/api/v1/provisioning/alert-rules/<uid>")
    @api
    def update_rule(uid: str) -> Any:
        rule = decode_rule(body(), rule_fields())
        rule["uid"] = uid
        provenance = provenance_of_request()
        with state.connect() as conn:
            _ensure_namespace(conn, store, rule["folderUID"])
            existing = store.rule(conn, uid)
            if existing is None:
                raise ApiError(404)
            if existing["provenance"] not in ("", provenance):
                raise _provenance_mismatch("update", provenance, existing["provenance"])
            presave_queries(rule)
            validate_rule(rule, existing["interval"])
            if _stored_fields(existing) != _stored_fields(rule):
                store.update(conn, existing, rule, existing["interval"], provenance, existing["group_index"])
            elif existing["provenance"] != provenance:
                store.set_provenance(conn, uid, provenance)
            updated = store.rule(conn, uid)
        return _json(rule_json(updated))  # type: ignore[arg-type]

    @bp.delete("/api/v1/provisioning/alert-rules/<uid>")
    @api
    def delete_rule(uid: str) -> Any:
        provenance = provenance_of_request()
        with state.connect() as conn:
            existing = store.rule(conn, uid)
            if existing is not None:
                if existing["provenance"] not in ("", provenance):
                    raise _provenance_mismatch("delete", provenance, existing["provenance"])
                store.delete(conn, uid)
        return Response(status=204)

    return bp
