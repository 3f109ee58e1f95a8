"""Emulator of the Databricks Workspace API 2.0 (files, notebooks and folders in the workspace tree).

Follows the calls databricks-sdk **0.162.0** makes (`databricks/sdk/service/workspace.py`
`WorkspaceAPI` and the `databricks/sdk/mixins/workspace.py` upload/download mixin):
- `POST /api/2.0/workspace/import`: `w.workspace.upload(...)` sends it as **multipart/form-data**
  (form fields `path`, `format`, `language`, `overwrite`="true", file part `content`);
  `w.workspace.import_(...)` sends JSON with base64 `content`. Both are accepted.
- `GET /api/2.0/workspace/export`: with `direct_download=true` (what `w.workspace.download` sends) the
  body is the object's raw bytes; without it, JSON `ExportResponse` `{content (base64), file_type}`.
- `GET /api/2.0/workspace/get-status` -> `ObjectInfo`; `GET /api/2.0/workspace/list` ->
  `{"objects": [ObjectInfo...]}`; `POST /api/2.0/workspace/mkdirs`; `POST /api/2.0/workspace/delete`.
- `GET /api/2.0/preview/scim/v2/Me` (`w.current_user.me()`): the sandbox's single user, whose home
  folder `/Users/<userName>` exists, so tools can default to per-user paths as bundles do.

Error answers, with the codes the SDK documents for these calls (its docstrings list them):
- missing path: 404 `RESOURCE_DOES_NOT_EXIST` "Path (/p) doesn't exist." (`ResourceDoesNotExist`);
- import into a missing folder: 404 `RESOURCE_DOES_NOT_EXIST` "The parent folder (/p) does not exist.";
- import onto an existing path without overwrite, or mkdirs over a file: 400
  `RESOURCE_ALREADY_EXISTS` "Path (/p) already exists." (`ResourceAlreadyExists`);
- delete of a non-empty folder without `recursive`: 400 `DIRECTORY_NOT_EMPTY`;
- format SOURCE without a language: 400 `INVALID_PARAMETER_VALUE` (the SDK's upload then adds its
  "Perhaps you forgot to specify the `format=ImportFormat.AUTO`" hint);
- more than 10 MB: 400 `MAX_NOTEBOOK_SIZE_EXCEEDED`.
Paths may carry the `/Workspace` prefix; it names the same tree. Formats DBC, HTML and R_MARKDOWN
are not emulated on import (400 saying so); exporting a folder answers a zip (DBC is a zip).
"""

from __future__ import annotations

import base64
import io
import posixpath
import sqlite3
import time
import zipfile
from typing import Any

from flask import Flask, Response, jsonify, request

from . import dbx_http
from .dbx_http import fail, invalid
from .settings import SandboxSettings
from .state import SandboxState

USER_NAME = "sandbox-user@example.com"
MAX_IMPORT_BYTES = 10 * 1024 * 1024
OBJECT_ID_BASE = 1_000_000_000_000_000

DDL = """
CREATE TABLE IF NOT EXISTS dbx_workspace_objects (
    object_id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    object_type TEXT NOT NULL,       -- DIRECTORY | FILE | NOTEBOOK
    language TEXT,
    content BLOB,
    created_at INTEGER NOT NULL,
    modified_at INTEGER NOT NULL
);
"""

_SEED_DIRS = ("/", "/Users", "/Shared", "/Repos", f"/Users/{USER_NAME}")
_NOTEBOOK_EXTENSIONS = {".py": "PYTHON", ".sql": "SQL", ".scala": "SCALA", ".r": "R", ".ipynb": "PYTHON"}
_NOTEBOOK_HEADERS = (
    b"# Databricks notebook source",
    b"-- Databricks notebook source",
    b"// Databricks notebook source",
)
_SOURCE_EXTENSION = {"PYTHON": "py", "SQL": "sql", "SCALA": "scala", "R": "r"}


def normalise_path(raw: Any) -> str:
    if not isinstance(raw, str) or not raw:
        invalid("Missing required field: path.")
    if not raw.startswith("/"):
        invalid(f"Path ({raw}) is not absolute. Paths must start with '/'.")
    path = posixpath.normpath(raw)
    if path == "/Workspace" or path.startswith("/Workspace/"):
        path = path[len("/Workspace") :] or "/"
    return path


def _now_ms() -> int:
    return int(time.time() * 1000)


def _get(conn: sqlite3.Connection, path: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute("SELECT * FROM dbx_workspace_objects WHERE path = ?", (path,)).fetchone()
    return row


def _require(conn: sqlite3.Connection, path: str) -> sqlite3.Row:
    row = _get(conn, path)
    if row is None:
        fail(404, "RESOURCE_DOES_NOT_EXIST", f"Path ({path}) doesn't exist.")
    return row


def _object_info(row: sqlite3.Row) -> dict[str, Any]:
    object_id = OBJECT_ID_BASE + row["object_id"]
    info: dict[str, Any] = {
        "object_type": row["object_type"],
        "path": row["path"],
        "object_id": object_id,
        "resource_id": str(object_id),
    }
    if row["object_type"] != "DIRECTORY":
        info["created_at"] = row["created_at"]
        info["modified_at"] = row["modified_at"]
    if row["object_type"] == "FILE":
        info["size"] = len(row["content"] or b"")
    if row["object_type"] == "NOTEBOOK":
        info["language"] = row["language"]
    return info


def _mkdirs(conn: sqlite3.Connection, path: str) -> None:
    parts = [p for p in path.split("/") if p]
    current = ""
    for part in ["", *parts]:
        current = posixpath.join(current, part) if current else "/"
        row = _get(conn, current)
        if row is None:
            now = _now_ms()
            conn.execute(
                "INSERT INTO dbx_workspace_objects (path, object_type, created_at, modified_at) VALUES (?, 'DIRECTORY', ?, ?)",
                (current, now, now),
            )
        elif row["object_type"] != "DIRECTORY":
            fail(400, "RESOURCE_ALREADY_EXISTS", f"Path ({current}) already exists.")


def _children(conn: sqlite3.Connection, path: str) -> list[sqlite3.Row]:
    prefix = "/" if path == "/" else path + "/"
    rows = conn.execute(
        "SELECT * FROM dbx_workspace_objects WHERE path LIKE ? ESCAPE '\\' AND path != '/' ORDER BY path",
        (prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",),
    ).fetchall()
    return rows


def _import(
    conn: sqlite3.Connection, path: str, content: bytes, fmt: str, language: str | None, overwrite: bool
) -> None:
    if len(content) > MAX_IMPORT_BYTES:
        fail(
            400,
            "MAX_NOTEBOOK_SIZE_EXCEEDED",
            f"File size imported is ({len(content)} bytes), exceeded max size ({MAX_IMPORT_BYTES} bytes)",
        )
    object_type, stored_path = "FILE", path
    if fmt == "SOURCE":
        if not language:
            invalid("The language field is required when format is SOURCE.")
        object_type = "NOTEBOOK"
    elif fmt == "JUPYTER":
        object_type, language = "NOTEBOOK", language or "PYTHON"
        stored_path = path[: -len(".ipynb")] if path.lower().endswith(".ipynb") else path
    elif fmt == "AUTO":
        root, ext = posixpath.splitext(path)
        if ext.lower() in _NOTEBOOK_EXTENSIONS and (
            content.lstrip().startswith(_NOTEBOOK_HEADERS) or ext.lower() == ".ipynb"
        ):
            object_type, stored_path = "NOTEBOOK", root
            language = _NOTEBOOK_EXTENSIONS[ext.lower()]
        else:
            language = None
    elif fmt == "RAW":
        language = None
    elif fmt in ("DBC", "HTML", "R_MARKDOWN"):
        invalid(f"Import format {fmt} is not supported by the sandbox.")
    else:
        invalid(f"Invalid format: {fmt}.")
    if language is not None and language not in _SOURCE_EXTENSION:
        invalid(f"Invalid language: {language}.")

    parent = posixpath.dirname(stored_path)
    parent_row = _get(conn, parent)
    if parent_row is None or parent_row["object_type"] != "DIRECTORY":
        fail(404, "RESOURCE_DOES_NOT_EXIST", f"The parent folder ({parent}) does not exist.")
    existing = _get(conn, stored_path)
    now = _now_ms()
    if existing is not None:
        if not overwrite or existing["object_type"] == "DIRECTORY":
            fail(400, "RESOURCE_ALREADY_EXISTS", f"Path ({stored_path}) already exists.")
        conn.execute(
            "UPDATE dbx_workspace_objects SET object_type = ?, language = ?, content = ?, modified_at = ? WHERE path = ?",
            (object_type, language, content, now, stored_path),
        )
        return
    conn.execute(
        "INSERT INTO dbx_workspace_objects (path, object_type, language, content, created_at, modified_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (stored_path, object_type, language, content, now, now),
    )


def _dbc_archive(conn: sqlite3.Connection, row: sqlite3.Row) -> bytes:
    buffer = io.BytesIO()
    base = row["path"]
    with zipfile.ZipFile(buffer, "w") as archive:
        for child in _children(conn, base):
            if child["object_type"] != "DIRECTORY":
                archive.writestr(posixpath.relpath(child["path"], base), child["content"] or b"")
    return buffer.getvalue()


def register(app: Flask, state: SandboxState, settings: SandboxSettings) -> None:
    state.init_schema(DDL)
    with state.connect() as conn:
        for path in _SEED_DIRS:
            _mkdirs(conn, path)
    dbx_http.install(app, settings, ("/api/2.0/workspace/", "/api/2.0/preview/scim/"))

    @app.post("/api/2.0/workspace/import")
    def workspace_import():  # type: ignore[no-untyped-def]
        if request.files or request.form:
            form = request.form
            path = normalise_path(form.get("path"))
            upload = request.files.get("content")
            content = upload.read() if upload is not None else form.get("content", "").encode()
            fmt = form.get("format", "SOURCE")
            language = form.get("language")
            overwrite = form.get("overwrite", "false").lower() == "true"
        else:
            body = dbx_http.json_body()
            path = normalise_path(body.get("path"))
            try:
                content = base64.b64decode(body.get("content", ""), validate=True)
            except (ValueError, TypeError):
                invalid("content must be base64-encoded.")
            fmt = body.get("format", "SOURCE")
            language = body.get("language")
            overwrite = bool(body.get("overwrite", False))
        with state.connect() as conn:
            _import(conn, path, content, fmt, language, overwrite)
        return jsonify({})

    @app.get("/api/2.0/workspace/export")
    def workspace_export():  # type: ignore[no-untyped-def]
        path = normalise_path(request.args.get("path"))
        direct = request.args.get("direct_download", "false").lower() == "true"
        with state.connect() as conn:
            row = _require(conn, path)
            if row["object_type"] == "DIRECTORY":
                content, file_type = _dbc_archive(conn, row), "dbc"
            else:
                content = bytes(row["content"] or b"")
                if row["object_type"] == "NOTEBOOK":
                    file_type = _SOURCE_EXTENSION.get(row["language"] or "", "")
                else:
                    file_type = posixpath.splitext(path)[1].lstrip(".")
        if direct:
            return Response(content, mimetype="application/octet-stream")
        return jsonify({"content": base64.b64encode(content).decode(), "file_type": file_type})

    @app.get("/api/2.0/workspace/get-status")
    def workspace_get_status():  # type: ignore[no-untyped-def]
        path = normalise_path(request.args.get("path"))
        with state.connect() as conn:
            return jsonify(_object_info(_require(conn, path)))

    @app.get("/api/2.0/workspace/list")
    def workspace_list():  # type: ignore[no-untyped-def]
        path = normalise_path(request.args.get("path"))
        with state.connect() as conn:
            row = _require(conn, path)
            if row["object_type"] != "DIRECTORY":
                return jsonify({"objects": [_object_info(row)]})
            depth = path.count("/") + (0 if path == "/" else 1)
            objects = [_object_info(c) for c in _children(conn, path) if c["path"].count("/") == depth]
        return jsonify({"objects": objects} if objects else {})

    @app.post("/api/2.0/workspace/mkdirs")
    def workspace_mkdirs():  # type: ignore[no-untyped-def]
        path = normalise_path(dbx_http.json_body().get("path"))
        with state.connect() as conn:
            _mkdirs(conn, path)
        return jsonify({})

    @app.post("/api/2.0/workspace/delete")
    def workspace_delete():  # type: ignore[no-untyped-def]
        body = dbx_http.json_body()
        path = normalise_path(body.get("path"))
        recursive = bool(body.get("recursive", False))
        with state.connect() as conn:
            row = _require(conn, path)
            if path == "/":
                invalid("Cannot delete the workspace root.")
            if row["object_type"] == "DIRECTORY":
                children = _children(conn, path)
                if children and not recursive:
                    fail(400, "DIRECTORY_NOT_EMPTY", f"Folder ({path}) is not empty.")
                for child in children:
                    conn.execute("DELETE FROM dbx_workspace_objects WHERE object_id = ?", (child["object_id"],))
            conn.execute("DELETE FROM dbx_workspace_objects WHERE object_id = ?", (row["object_id"],))
        return jsonify({})

    @app.get("/api/2.0/preview/scim/v2/Me")
    def scim_me():  # type: ignore[no-untyped-def]
        return jsonify(
            {
                "id": "4242424242424242",
                "userName": USER_NAME,
                "displayName": "Sandbox User",
                "active": True,
                "emails": [{"value": USER_NAME, "type": "work", "primary": True}],
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            }
        )
