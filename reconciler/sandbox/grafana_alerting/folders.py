"""Folders: list, create, get, update (version check), move, counts, delete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from .http import GrafanaApi
from .http import json_response as _json
from .store import ApiError, _bad_request_data, _check_folder_uid, _expect, _message, _now, _subtree, generate_short_uid


def blueprint(grafana: GrafanaApi) -> Blueprint:
    bp = Blueprint("grafana_folders", __name__)
    state = grafana.state
    store = grafana.store
    api = grafana.api
    body = grafana.body

    # --- folders -------------------------------------------------------------------------------
    @bp.get("/api/folders")
    @api
    def list_folders() -> Any:
        parent = request.args.get("parentUid") or None
        limit = int(request.args.get("limit") or 1000)
        page = max(int(request.args.get("page") or 1), 1)
        with state.connect() as conn:
            if parent is None:
                rows = conn.execute(
                    "SELECT * FROM grafana_folders WHERE parent_uid IS NULL ORDER BY title, id"
                ).fetchall()
            else:
                store.require_folder(conn, parent)
                rows = conn.execute(
                    "SELECT * FROM grafana_folders WHERE parent_uid = ? ORDER BY title, id", (parent,)
                ).fetchall()
        hits = []
        for row in rows[(page - 1) * limit : page * limit]:
            hit = {"id": row["id"], "uid": row["uid"], "title": row["title"]}
            if row["parent_uid"]:
                hit["parentUid"] = row["parent_uid"]
            hits.append(hit)
        return _json(hits)

    @bp.post("/api/folders")
    @api
    def create_folder() -> Any:
        payload = body()
        if not isinstance(payload, dict):
            raise _bad_request_data()
        title = _expect(payload.get("title"), str) or ""
        uid = _expect(payload.get("uid"), str) or ""
        parent = _expect(payload.get("parentUid"), str) or None
        if not title.strip():
            raise _message(400, "folder title cannot be empty")
        if uid:
            _check_folder_uid(uid)
        else:
            uid = generate_short_uid()
        with state.connect() as conn:
            if store.folder(conn, uid) is not None:
                raise _message(409, "a folder/dashboard with the same uid already exists")
            if parent is not None:
                store.require_folder(conn, parent)
            now = _now()
            conn.execute(
                "INSERT INTO grafana_folders (uid, title, parent_uid, version, created, updated) VALUES (?, ?, ?, 1, ?, ?)",
                (uid, title, parent, now, now),
            )
            return _json(store.folder_json(conn, store.folder(conn, uid)))  # type: ignore[arg-type]

    @bp.get("/api/folders/<uid>")
    @api
    def get_folder(uid: str) -> Any:
        with state.connect() as conn:
            return _json(store.folder_json(conn, store.require_folder(conn, uid)))

    @bp.put("/api/folders/<uid>")
    @api
    def update_folder(uid: str) -> Any:
        payload = body()
        if not isinstance(payload, dict):
            raise _bad_request_data()
        with state.connect() as conn:
            folder = store.require_folder(conn, uid)
            if not payload.get("overwrite") and payload.get("version", 0) != folder["version"]:
                raise ApiError(
                    412, {"status": "version-mismatch", "message": "the folder has been changed by someone else"}
                )
            title = _expect(payload.get("title"), str)
            if title is not None and not title.strip():
                raise _message(400, "folder title cannot be empty")
            conn.execute(
                "UPDATE grafana_folders SET title = ?, version = version + 1, updated = ? WHERE uid = ?",
                (title if title is not None else folder["title"], _now(), uid),
            )
            return _json(store.folder_json(conn, store.folder(conn, uid)))  # type: ignore[arg-type]

    @bp.post("/api/folders/<uid>/move")
    @api
    def move_folder(uid: str) -> Any:
        payload = body()
        if not isinstance(payload, dict):
            raise _bad_request_data()
        parent = _expect(payload.get("parentUid"), str) or None
        with state.connect() as conn:
            store.require_folder(conn, uid)
            ancestor = parent
            while ancestor is not None:
                if ancestor == uid:
                    raise _message(400, "folder cannot be parent of itself")
                ancestor = store.require_folder(conn, ancestor)["parent_uid"]
            conn.execute(
                "UPDATE grafana_folders SET parent_uid = ?, version = version + 1, updated = ? WHERE uid = ?",
                (parent, _now(), uid),
            )
            return _json(store.folder_json(conn, store.folder(conn, uid)))  # type: ignore[arg-type]

    @bp.get("/api/folders/<uid>/counts")
    @api
    def folder_counts(uid: str) -> Any:
        # GetFolderDescendantCounts (Grafana 10.1+): what deleting the folder would take with it.
        with state.connect() as conn:
            store.require_folder(conn, uid)
            subtree = _subtree(conn, uid)
            marks = ",".join("?" for _ in subtree)
            dashboards = conn.execute(
                f"SELECT COUNT(*) FROM grafana_dashboards WHERE folder_uid IN ({marks})", tuple(subtree)
            ).fetchone()[0]
            rules = len(store.rules(conn, f"folder_uid IN ({marks})", tuple(subtree)))
        return _json({"folder": len(subtree) - 1, "dashboard": dashboards, "librarypanel": 0, "alertrule": rules})

    @bp.post("/sandbox/grafana/dashboards")
    def add_dashboard() -> Any:
        """Test control: a dashboard saved in a folder (the sandbox stores nothing else of it)."""
        payload = request.get_json(force=True) or {}
        with state.connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO grafana_dashboards (uid, folder_uid, title) VALUES (?, ?, ?)",
                (str(payload["uid"]), str(payload["folderUid"]), str(payload.get("title") or payload["uid"])),
            )
        return _json({"uid": payload["uid"]})

    @bp.delete("/api/folders/<uid>")
    @api
    def delete_folder(uid: str) -> Any:
        force = request.args.get("forceDeleteRules", "false").lower() == "true"
        with state.connect() as conn:
            folder = store.require_folder(conn, uid)
            subtree = _subtree(conn, uid)
            marks = ",".join("?" for _ in subtree)
            rules = store.rules(conn, f"folder_uid IN ({marks})", tuple(subtree))
            if rules and not force:
                raise _message(400, "folder contains alert rules")
            for rule in rules:
                store.delete(conn, rule["uid"])
            # Like Grafana, the folder's dashboards (and its subfolders') go with it.
            conn.execute(f"DELETE FROM grafana_dashboards WHERE folder_uid IN ({marks})", tuple(subtree))
            conn.execute(f"DELETE FROM grafana_folders WHERE uid IN ({marks})", tuple(subtree))
        return _json({"title": folder["title"], "message": f"Folder {folder['title']} deleted", "id": folder["id"]})

    return bp
