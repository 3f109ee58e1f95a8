"""SLA policies in an embedded SQLite file: the default store of the `local` target.

Every write is one parameterised statement in its own transaction, keyed by policy_hash; the
upsert only ever touches rows this project manages, so an unmanaged row can never be
overwritten even if a plan were wrong. (Semantics shared with every store: `policy_store`.)
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from .policy_rows import COLUMNS, LIST_COLUMNS, TABLE
from .policy_store import PolicyStoreProvider

DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    policy_id INTEGER PRIMARY KEY AUTOINCREMENT,
    policy_hash TEXT NOT NULL UNIQUE,
    warehouse_ids TEXT NOT NULL,
    sla_seconds INTEGER NOT NULL,
    query_statuses TEXT NOT NULL,
    policy_mode TEXT NOT NULL,
    managed_by TEXT,
    spec_name TEXT,
    prevent_destroy INTEGER NOT NULL DEFAULT 0,
    applied_at TEXT
)
"""


class SqlitePolicyProvider(PolicyStoreProvider):
    backend = "sqlite"

    def __init__(self, kind: Any, context: Any) -> None:
        super().__init__(kind, context)
        store = context.config.policy_store
        if store is not None and store.path:
            self.path = context.resolve_path(store.path)
        else:
            self.path = context.state_dir / "policies.db"

    def _connect(self) -> sqlite3.Connection:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute(DDL)
        return conn

    def _read_rows(self) -> list[dict[str, Any]]:
        with closing(self._connect()) as conn:
            rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM {TABLE} ORDER BY policy_id").fetchall()
        return [dict(r) for r in rows]

    def _write(self, sql: str, params: dict[str, Any]) -> int:
        with closing(self._connect()) as conn, conn:
            return conn.execute(sql, params).rowcount

    def _upsert_row(self, values: dict[str, Any]) -> int:
        values = dict(values)
        for col in LIST_COLUMNS:
            values[col] = json.dumps(values[col])
        cols = [c for c in COLUMNS if c != "policy_id"]
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "policy_hash")
        return self._write(
            f"INSERT INTO {TABLE} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)}) "
            f"ON CONFLICT(policy_hash) DO UPDATE SET {updates} WHERE {TABLE}.managed_by = :managed_by",
            values,
        )

    def _delete_row(self, policy_hash: str, owner: str) -> int:
        return self._write(
            f"DELETE FROM {TABLE} WHERE policy_hash = :h AND managed_by = :owner", {"h": policy_hash, "owner": owner}
        )

    def _adopt_row(self, policy_hash: str, owner: str, name: str | None) -> int:
        return self._write(
            f"UPDATE {TABLE} SET managed_by = :owner, spec_name = COALESCE(:name, spec_name, policy_hash) "
            f"WHERE policy_hash = :h AND managed_by IS NULL",
            {"owner": owner, "name": name, "h": policy_hash},
        )
