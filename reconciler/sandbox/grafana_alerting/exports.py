"""Exports in Grafana's file-provisioning format (JSON or YAML)."""

from __future__ import annotations

from typing import Any

import yaml
from flask import Blueprint, Response, request

from .http import GrafanaApi
from .http import json_response as _json
from .store import ORG_ID, ApiError, GrafanaStore, _errutil, _message, export_rule, format_prom_duration


def blueprint(grafana: GrafanaApi) -> Blueprint:
    bp = Blueprint("grafana_exports", __name__)
    state = grafana.state
    store = grafana.store
    api = grafana.api

    # --- exports -------------------------------------------------------------------------------
    @bp.get("/api/v1/provisioning/alert-rules/export")
    @api
    def export_all() -> Any:
        uid = request.args.get("ruleUid")
        group = request.args.get("group")
        folders = request.args.getlist("folderUid")
        if uid:
            if group or folders:
                raise _message(400, "group and folder should not be specified when a single rule is requested")
            return export_one(uid=uid)
        if group:
            if len(folders) != 1 or not folders[0]:
                raise _message(
                    400, f"group name must be specified together with a single folder_uid parameter. Got {len(folders)}"
                )
            return export_group(folder_uid=folders[0], group=group)
        with state.connect() as conn:
            rules = store.rules(conn)
            if folders:
                rules = [r for r in rules if r["folderUID"] in folders]
            if not rules:
                raise ApiError(404)
            return _export(conn, store, rules)

    @bp.get("/api/v1/provisioning/alert-rules/<uid>/export")
    @api
    def export_one(uid: str) -> Any:
        with state.connect() as conn:
            rule = store.rule(conn, uid)
            if rule is None:
                raise _message(404, "could not find alert rule")
            return _export(conn, store, [rule])

    @bp.get("/api/v1/provisioning/folder/<folder_uid>/rule-groups/<group>/export")
    @api
    def export_group(folder_uid: str, group: str) -> Any:
        with state.connect() as conn:
            rules = store.rules(conn, "folder_uid = ? AND rule_group = ?", (folder_uid, group))
            if not rules:
                raise _errutil(404, "alerting.alert-rule.notFound", "Not found")
            return _export(conn, store, rules)

    return bp


def _export(conn: Any, store: GrafanaStore, rules: list[dict[str, Any]]) -> Any:
    """AlertingFileExport in the format the request asks for (yaml by default)."""
    fmt = "yaml"
    accept = request.headers.get("Accept", "")
    if "yaml" in accept:
        fmt = "yaml"
    if "json" in accept:
        fmt = "json"
    if request.args.get("format") in ("yaml", "json"):
        fmt = request.args["format"]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rule in rules:
        groups.setdefault((rule["folderUID"], rule["ruleGroup"]), []).append(rule)
    out_groups = []
    for (folder_uid, name), members in sorted(
        groups.items(), key=lambda kv: (store.folder_path(conn, kv[0][0]), kv[0][1])
    ):
        group: dict[str, Any] = {"orgId": ORG_ID, "name": name, "folder": store.folder_path(conn, folder_uid)}
        group["interval"] = format_prom_duration(members[0]["interval"] * 1000)
        group["rules"] = [export_rule(r, fmt) for r in members]
        out_groups.append(group)
    doc = {"apiVersion": 1, "groups": out_groups}
    if fmt == "json":
        return _json(doc)
    return Response(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), status=200, mimetype="text/yaml")
