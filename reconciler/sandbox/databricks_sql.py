"""Emulator of the Databricks SQL Statement Execution API (2.0), executing on DuckDB.

Follows the REST API `/api/2.0/sql/statements` as wrapped by databricks-sdk 0.162.0
(`databricks/sdk/service/sql.py`: `StatementExecutionAPI`, and the dataclasses
`StatementResponse`, `StatementStatus`, `ServiceError`, `ResultManifest`, `ResultSchema`,
`ColumnInfo`, `BaseChunkInfo`, `ResultData`):

- `POST /api/2.0/sql/statements` {statement, warehouse_id, catalog, schema, parameters
  [{name, value, type}], wait_timeout ("0s" or "5s".."50s", default "10s"), on_wait_timeout
  (CONTINUE | CANCEL), disposition (INLINE), format (JSON_ARRAY), row_limit}.
- `GET /api/2.0/sql/statements/{id}`: status; once SUCCEEDED also the manifest and chunk 0.
- `GET /api/2.0/sql/statements/{id}/result/chunks/{n}`: `ResultData` of chunk n.
- `POST /api/2.0/sql/statements/{id}/cancel`: `{}`; a PENDING/RUNNING statement ends CANCELED.

Statements really run (see `sql_engine`): an engine error ends the statement FAILED with the
engine's message in `status.error` (HTTP 200, like a warehouse); malformed requests get the
API's 4xx error bodies. Results larger than the chunk row limit come back in several chunks
(`next_chunk_index`, `next_chunk_internal_link`).

Time is simulated by polls, not seconds, so tests stay fast and deterministic: with
`running_polls = N` a statement answers PENDING/RUNNING to N `GET`s and runs (its side effects
happen) on the next one. A wait_timeout > 0 "elapses" at once for such a slow statement (then
`on_wait_timeout` applies); with no delay it returns the finished statement. `wait_timeout=0s`
always returns PENDING with the statement id. Sandbox limits: only INLINE + JSON_ARRAY; one
statement at a time; any warehouse id is accepted.

Test controls (under /sandbox/, never real API paths):
- `GET|POST /sandbox/sql/config` {"chunk_row_limit": int, "running_polls": int}: read / change.
  Defaults come from `SandboxSettings.extra` keys `sql_chunk_row_limit`, `sql_running_polls`.
- `POST /sandbox/sql/faults` {"statement_contains": str?, "parameter": {"name" (a glob),"value"}?,
  "message": str, "error_code": str?, "state": "FAILED"|"CANCELED"?, "times": int?}: matching
  statements end FAILED with that message (or CANCELED) instead of running (a warehouse-side
  failure); `DELETE` clears them.
- `GET /sandbox/sql/statements`: every statement received (text, parameters, state), oldest first.
"""

from __future__ import annotations

import fnmatch
import re
import threading
import uuid
from typing import Any

from flask import Flask, jsonify, request

from .settings import SandboxSettings
from .sql_engine import StatementResult, engine_for
from .sql_errors import StatementFailed
from .state import SandboxState

DDL = """
CREATE TABLE IF NOT EXISTS sql_statements (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    statement_id TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sql_config (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sql_faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc TEXT NOT NULL
);
"""

DEFAULT_CHUNK_ROW_LIMIT = 1000
DEFAULT_WAIT_TIMEOUT = "10s"
_WAIT = re.compile(r"^(\d+)s$")
_ACTIVE = ("PENDING", "RUNNING")


def _error(status: int, error_code: str, message: str):  # type: ignore[no-untyped-def]
    return jsonify({"error_code": error_code, "message": message}), status


class StatementStore:
    """Statements, their results and the warehouse knobs, in the sandbox's SQLite state."""

    def __init__(self, state: SandboxState, settings: SandboxSettings) -> None:
        self.state = state
        self.defaults = {
            "chunk_row_limit": int(str(settings.extra.get("sql_chunk_row_limit", DEFAULT_CHUNK_ROW_LIMIT))),
            "running_polls": int(str(settings.extra.get("sql_running_polls", 0))),
        }

    def config(self) -> dict[str, int]:
        with self.state.connect() as conn:
            stored = {r["key"]: int(r["value"]) for r in conn.execute("SELECT key, value FROM sql_config")}
        return {**self.defaults, **stored}

    def set_config(self, values: dict[str, Any]) -> dict[str, int]:
        with self.state.connect() as conn:
            for key, value in values.items():
                conn.execute(
                    "INSERT INTO sql_config (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, str(int(value))),
                )
        return self.config()

    def get(self, statement_id: str) -> dict[str, Any] | None:
        with self.state.connect() as conn:
            row = conn.execute("SELECT doc FROM sql_statements WHERE statement_id = ?", (statement_id,)).fetchone()
        return None if row is None else self.state.loads(row["doc"])

    def put(self, doc: dict[str, Any]) -> None:
        with self.state.connect() as conn:
            conn.execute(
                "INSERT INTO sql_statements (statement_id, doc) VALUES (?, ?) "
                "ON CONFLICT(statement_id) DO UPDATE SET doc = excluded.doc",
                (doc["statement_id"], self.state.dumps(doc)),
            )

    def all(self) -> list[dict[str, Any]]:
        with self.state.connect() as conn:
            rows = conn.execute("SELECT doc FROM sql_statements ORDER BY seq").fetchall()
        return [self.state.loads(r["doc"]) for r in rows]

    def add_fault(self, fault: dict[str, Any]) -> None:
        with self.state.connect() as conn:
            conn.execute("INSERT INTO sql_faults (doc) VALUES (?)", (self.state.dumps(fault),))

    def clear_faults(self) -> None:
        with self.state.connect() as conn:
            conn.execute("DELETE FROM sql_faults")

    def take_fault(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        """The first fault matching a statement (its use counted), if any."""
        with self.state.connect() as conn:
            for row in conn.execute("SELECT id, doc FROM sql_faults ORDER BY id").fetchall():
                fault: dict[str, Any] = self.state.loads(row["doc"])
                if not _fault_matches(fault, doc):
                    continue
                times = fault.get("times")
                if times is not None:
                    if int(times) <= 1:
                        conn.execute("DELETE FROM sql_faults WHERE id = ?", (row["id"],))
                    else:
                        fault["times"] = int(times) - 1
                        conn.execute("UPDATE sql_faults SET doc = ? WHERE id = ?", (self.state.dumps(fault), row["id"]))
                return fault
        return None


def _fault_matches(fault: dict[str, Any], doc: dict[str, Any]) -> bool:
    contains = fault.get("statement_contains")
    if contains and contains.lower() not in doc["statement"].lower():
        return False
    wanted = fault.get("parameter")
    if wanted:
        name = str(wanted.get("name"))
        return any(
            fnmatch.fnmatchcase(str(p.get("name")), name) and p.get("value") == wanted.get("value")
            for p in doc.get("parameters") or []
        )
    return True


def _chunks(result: StatementResult, chunk_rows: int) -> list[list[list[str | None]]]:
    rows = result.rows
    if not rows:
        return []
    return [rows[i : i + chunk_rows] for i in range(0, len(rows), chunk_rows)]


def _chunk_info(doc: dict[str, Any], index: int) -> dict[str, Any]:
    offsets = doc["chunk_offsets"]
    return {"chunk_index": index, "row_offset": offsets[index], "row_count": len(doc["chunks"][index])}


def result_data(doc: dict[str, Any], index: int) -> dict[str, Any]:
    """`ResultData` of one chunk: rows plus the link to the next chunk, when there is one."""
    data = _chunk_info(doc, index)
    data["data_array"] = doc["chunks"][index]
    if index + 1 < len(doc["chunks"]):
        data["next_chunk_index"] = index + 1
        data["next_chunk_internal_link"] = f"/api/2.0/sql/statements/{doc['statement_id']}/result/chunks/{index + 1}"
    return data


def statement_response(doc: dict[str, Any]) -> dict[str, Any]:
    """`StatementResponse` for the statement's current state."""
    status: dict[str, Any] = {"state": doc["state"]}
    if doc.get("error"):
        status["error"] = doc["error"]
    if doc.get("sql_state"):
        status["sql_state"] = doc["sql_state"]
    body: dict[str, Any] = {"statement_id": doc["statement_id"], "status": status}
    if doc["state"] != "SUCCEEDED":
        return body
    chunks = doc["chunks"]
    manifest: dict[str, Any] = {
        "format": "JSON_ARRAY",
        "schema": {"column_count": len(doc["columns"])},
        "total_chunk_count": len(chunks),
        "total_row_count": sum(len(c) for c in chunks),
        "truncated": bool(doc.get("truncated")),
    }
    if doc["columns"]:
        manifest["schema"]["columns"] = doc["columns"]
    if chunks:
        manifest["chunks"] = [_chunk_info(doc, i) for i in range(len(chunks))]
        body["result"] = result_data(doc, 0)
    body["manifest"] = manifest
    return body


def register(app: Flask, state: SandboxState, settings: SandboxSettings) -> None:
    state.init_schema(DDL)
    store = StatementStore(state, settings)
    engine = engine_for(state.path)
    # One statement changes state at a time: a poll that runs a statement must not race another
    # poll (or a cancel) of the same statement.
    lock = threading.RLock()

    def run(doc: dict[str, Any]) -> None:
        """Execute the statement now and record its terminal state."""
        fault = store.take_fault(doc)
        if fault is not None:
            if fault.get("state") == "CANCELED":
                doc["state"] = "CANCELED"  # cancelled by someone else (an admin, a warehouse stop)
                return
            doc.update(
                state="FAILED",
                error={"error_code": fault.get("error_code") or "BAD_REQUEST", "message": fault["message"]},
            )
            return
        row_limit = doc.get("row_limit")
        try:
            result = engine.execute(
                doc["statement"],
                doc.get("parameters"),
                doc.get("catalog"),
                doc.get("schema"),
                row_limit=None if row_limit is None else int(row_limit) + 1,
            )
        except StatementFailed as exc:
            doc.update(
                state="FAILED", error={"error_code": exc.error_code, "message": exc.message}, sql_state=exc.sql_state
            )
            return
        except Exception as exc:  # an engine bug must still end like a warehouse: FAILED, never a 500
            doc.update(
                state="FAILED",
                error={
                    "error_code": "INTERNAL_ERROR",
                    "message": f"[INTERNAL_ERROR] The sandbox warehouse could not run the statement: {exc}",
                },
            )
            return
        if row_limit is not None and len(result.rows) > int(row_limit):
            result.rows = result.rows[: int(row_limit)]
            doc["truncated"] = True
        chunks = _chunks(result, max(1, store.config()["chunk_row_limit"]))
        offsets, total = [], 0
        for chunk in chunks:
            offsets.append(total)
            total += len(chunk)
        doc.update(state="SUCCEEDED", columns=result.columns, chunks=chunks, chunk_offsets=offsets)

    def advance(doc: dict[str, Any]) -> None:
        """One poll of an unfinished statement: still running, or run it now."""
        if doc["state"] not in _ACTIVE:
            return
        if doc["polls_left"] > 0:
            doc["polls_left"] -= 1
            doc["state"] = "RUNNING"
            return
        run(doc)

    def authorised() -> bool:
        if settings.token is None:
            return True
        return request.headers.get("Authorization") == f"Bearer {settings.token}"

    @app.before_request
    def _auth():  # type: ignore[no-untyped-def]
        if request.path.startswith("/api/2.0/sql/statements") and not authorised():
            return _error(401, "UNAUTHENTICATED", "Credential was not sent or was of an unsupported type for this API.")
        return None

    @app.post("/api/2.0/sql/statements")
    def execute_statement():  # type: ignore[no-untyped-def]
        body = request.get_json(silent=True) or {}
        statement = body.get("statement")
        if not isinstance(statement, str) or not statement.strip():
            return _error(400, "INVALID_PARAMETER_VALUE", "statement is required")
        if not body.get("warehouse_id"):
            return _error(400, "INVALID_PARAMETER_VALUE", "warehouse_id is required")
        wait = _WAIT.match(str(body.get("wait_timeout") or DEFAULT_WAIT_TIMEOUT))
        wait_seconds = int(wait.group(1)) if wait else -1
        if wait_seconds != 0 and not 5 <= wait_seconds <= 50:
            return _error(
                400,
                "INVALID_PARAMETER_VALUE",
                "wait_timeout must be 0 seconds (disables wait), or between 5 seconds and 50 seconds.",
            )
        on_wait = body.get("on_wait_timeout") or "CONTINUE"
        if on_wait not in ("CONTINUE", "CANCEL"):
            return _error(400, "INVALID_PARAMETER_VALUE", f"on_wait_timeout must be CONTINUE or CANCEL, not {on_wait}")
        if (body.get("disposition") or "INLINE") != "INLINE" or (body.get("format") or "JSON_ARRAY") != "JSON_ARRAY":
            return _error(
                400,
                "INVALID_PARAMETER_VALUE",
                "the sandbox warehouse supports only disposition INLINE with format JSON_ARRAY",
            )
        parameters = body.get("parameters") or []
        if not isinstance(parameters, list) or any(not isinstance(p, dict) or not p.get("name") for p in parameters):
            return _error(400, "INVALID_PARAMETER_VALUE", "every parameter needs a name")
        doc: dict[str, Any] = {
            "statement_id": str(uuid.uuid4()),
            "statement": statement,
            "warehouse_id": body["warehouse_id"],
            "catalog": body.get("catalog"),
            "schema": body.get("schema"),
            "parameters": parameters,
            "row_limit": body.get("row_limit"),
            "state": "PENDING",
            "polls_left": store.config()["running_polls"],
        }
        with lock:
            if wait_seconds > 0:
                if doc["polls_left"] == 0:
                    run(doc)
                elif on_wait == "CANCEL":
                    doc["state"] = "CANCELED"
                else:
                    doc["state"] = "RUNNING"
            store.put(doc)
        return jsonify(statement_response(doc))

    @app.get("/api/2.0/sql/statements/<statement_id>")
    def get_statement(statement_id: str):  # type: ignore[no-untyped-def]
        with lock:
            doc = store.get(statement_id)
            if doc is None:
                return _error(404, "NOT_FOUND", f"Statement {statement_id} not found")
            advance(doc)
            store.put(doc)
        return jsonify(statement_response(doc))

    @app.get("/api/2.0/sql/statements/<statement_id>/result/chunks/<int:chunk_index>")
    def get_chunk(statement_id: str, chunk_index: int):  # type: ignore[no-untyped-def]
        doc = store.get(statement_id)
        if doc is None:
            return _error(404, "NOT_FOUND", f"Statement {statement_id} not found")
        if doc["state"] != "SUCCEEDED":
            return _error(400, "BAD_REQUEST", f"Statement {statement_id} is in state {doc['state']}; it has no result")
        if not 0 <= chunk_index < len(doc["chunks"]):
            return _error(400, "INVALID_PARAMETER_VALUE", f"chunk index {chunk_index} is out of range")
        return jsonify(result_data(doc, chunk_index))

    @app.post("/api/2.0/sql/statements/<statement_id>/cancel")
    def cancel_statement(statement_id: str):  # type: ignore[no-untyped-def]
        with lock:
            doc = store.get(statement_id)
            if doc is None:
                return _error(404, "NOT_FOUND", f"Statement {statement_id} not found")
            if doc["state"] in _ACTIVE:
                doc["state"] = "CANCELED"
                store.put(doc)
        return jsonify({})

    # -- test controls ------------------------------------------------------------------------
    @app.route("/sandbox/sql/config", methods=["GET", "POST"])
    def sql_config():  # type: ignore[no-untyped-def]
        if request.method == "POST":
            body = request.get_json(silent=True) or {}
            unknown = set(body) - {"chunk_row_limit", "running_polls"}
            if unknown:
                return _error(400, "INVALID_PARAMETER_VALUE", f"unknown settings: {sorted(unknown)}")
            return jsonify(store.set_config(body))
        return jsonify(store.config())

    @app.route("/sandbox/sql/faults", methods=["POST", "DELETE"])
    def sql_faults():  # type: ignore[no-untyped-def]
        if request.method == "DELETE":
            store.clear_faults()
            return jsonify({})
        body = request.get_json(silent=True) or {}
        if not body.get("message"):
            return _error(400, "INVALID_PARAMETER_VALUE", "a fault needs a message")
        store.add_fault(body)
        return jsonify({})

    @app.get("/sandbox/sql/statements")
    def sql_statements():  # type: ignore[no-untyped-def]
        keys = ("statement_id", "statement", "parameters", "catalog", "schema", "state", "error")
        return jsonify({"statements": [{k: d.get(k) for k in keys} for d in store.all()]})
