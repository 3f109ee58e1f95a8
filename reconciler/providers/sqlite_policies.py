"""SLA policies in an embedded SQLite file: the default store of the `local` target.

Every write is one parameterised statement in its own transaction, keyed by policy_hash; the
upsert only ever touches rows this project manages, so an unmanaged row can never be
overwritten even if a plan were wrong.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any, Sequence

from reconciler.errors import ReconcilerError
from reconciler.kinds.base import LiveObject, Resource

from .base import Provider
from .policy_rows import COLUMNS, TABLE, row_to_live, row_values

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

_LIST_COLUMNS = ("warehouse_ids", "query_statuses")


class SqlitePolicyProvider(Provider):
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

    def read(self, desired: Sequence[Resource]) -> list[LiveObject]:
        # The table is small (one row per warehouse set): read it whole, unmanaged rows included.
        with closing(self._connect()) as conn:
            rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM {TABLE} ORDER BY policy_id").fetchall()
        return [row_to_live(self._decode(dict(r)), self.context.owner) for r in rows]

    @staticmethod
    def _decode(row: dict[str, Any]) -> dict[str, Any]:
        for col in _LIST_COLUMNS:
            try:
                row[col] = json.loads(row[col]) if row[col] else []
            except (TypeError, json.JSONDecodeError):
                # Hand-written rows may hold comma-separated text; read it as the framework would.
                row[col] = [p.strip() for p in str(row[col]).split(",") if p.strip()]
        return row

    def _write(self, sql: str, params: dict[str, Any]) -> int:
        with closing(self._connect()) as conn, conn:
            return conn.execute(sql, params).rowcount

    def create(self, resource: Resource) -> None:
        self._upsert(resource)

    def update(self, resource: Resource, live: LiveObject) -> None:
        self._upsert(resource)

    def _upsert(self, resource: Resource) -> None:
        values = row_values(resource, self.context.owner)
        for col in _LIST_COLUMNS:
            values[col] = json.dumps(values[col])
        cols = [c for c in COLUMNS if c != "policy_id"]
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "policy_hash")
        changed = self._write(
            f"INSERT INTO {TABLE} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)}) "
            f"ON CONFLICT(policy_hash) DO UPDATE SET {updates} WHERE {TABLE}.managed_by = :managed_by",
            values,
        )
        if changed == 0:
            raise ReconcilerError(
                f"policy row {resource.key} exists but is not managed by {self.context.owner}; not overwritten"
            )

    def delete(self, live: LiveObject) -> None:
        deleted = self._write(
            f"DELETE FROM {TABLE} WHERE policy_hash = :h AND managed_by = :owner",
            {"h": live.key, "owner": self.context.owner},
        )
        if deleted == 0:
            raise ReconcilerError(f"policy row {live.key} is gone or no longer managed by {self.context.owner}")

    def adopt(self, key: str, name: str | None = None) -> str:
        changed = self._write(
            f"UPDATE {TABLE} SET managed_by = :owner, spec_name = COALESCE(:name, spec_name, policy_hash) "
            f"WHERE policy_hash = :h AND managed_by IS NULL",
            {"owner": self.context.owner, "name": name, "h": key},
        )
        if changed == 0:
            raise ReconcilerError(f"no unmanaged policy row with policy_hash {key}")
        return key
