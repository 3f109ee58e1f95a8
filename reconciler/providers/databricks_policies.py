"""SLA policies in a Unity Catalog (Delta) table, through a Databricks SQL warehouse.

Same semantics as the SQLite store (`policy_store.PolicyStoreProvider`): the whole table is read
with one SELECT (paged through its result chunks), an apply's creates and updates are one MERGE
of up to 1,000 rows keyed by policy_hash that leaves rows of other owners alone, its deletes one
DELETE by policy_hashes and owner. The table is created (CREATE TABLE IF NOT EXISTS ... USING DELTA) by the first write of
an apply, never by a plan; a plan against a missing table says it will be created. A table the
SLA framework created without reconciler's ownership columns is read as is (every row unmanaged)
and `apply --allow-migrate` adds them (ALTER TABLE ... ADD COLUMNS, nullable).

SQL text is built from constants and the table name only, and the table name is validated as a
three-part identifier and back-quoted (`reconciler.uc_names`). Every value travels as a named
parameter bound by the warehouse; lists as JSON text turned into ARRAY<STRING> by `from_json`
(the API takes no ARRAY-typed parameters).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from reconciler.errors import ReconcilerError
from reconciler.plan.model import Migration
from reconciler.specs.project import DatabricksPolicyStore
from reconciler.uc_names import quote_table_name

from .policy_rows import COLUMNS, LIST_COLUMNS, OWNERSHIP_COLUMNS, TABLE_COMMENT
from .policy_store import PolicyStoreProvider
from .sql_warehouse import Param, SqlWarehouse, StatementError

if TYPE_CHECKING:
    from .provider_target import ProviderTarget

# Delta column types; lists are ARRAY<STRING>. policy_id is an identity column, as in the
# framework's table, so rows written by hand get one too.
_COLUMN_TYPES = {
    "policy_id": "BIGINT GENERATED ALWAYS AS IDENTITY",
    "policy_hash": "STRING NOT NULL",
    "warehouse_ids": "ARRAY<STRING> NOT NULL",
    "sla_seconds": "INT NOT NULL",
    "query_statuses": "ARRAY<STRING> NOT NULL",
    "policy_mode": "STRING NOT NULL",
    "managed_by": "STRING",
    "spec_name": "STRING",
    "prevent_destroy": "BOOLEAN",
    "applied_at": "TIMESTAMP",
    "applied_digest": "STRING",
}
# Parameter types of the written columns (lists are STRING parameters holding JSON).
_PARAM_TYPES = {"sla_seconds": "INT", "prevent_destroy": "BOOLEAN", "applied_at": "TIMESTAMP"}
_WRITTEN = [c for c in COLUMNS if c != "policy_id"]
if "'" in TABLE_COMMENT or "\\" in TABLE_COMMENT:  # it is a constant literal in the DDL
    raise RuntimeError("TABLE_COMMENT must not contain quotes or backslashes")


#: Rows per MERGE: 11 named parameters a row keeps a statement's text and parameters near 1 MB.
BATCH_ROWS = 1000


def _source_expr(column: str, row: int) -> str:
    marker = f":{column}_{row}"
    return f"from_json({marker}, 'ARRAY<STRING>')" if column in LIST_COLUMNS else marker


def create_table_sql(table: str) -> str:
    columns = ",\n  ".join(f"{c} {_COLUMN_TYPES[c]}" for c in COLUMNS)
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {columns}\n) USING DELTA COMMENT '{TABLE_COMMENT}'"


def add_columns_sql(table: str, columns: tuple[str, ...]) -> str:
    """One `ALTER TABLE ... ADD COLUMNS` for reconciler's missing ownership columns (nullable)."""
    return f"ALTER TABLE {table} ADD COLUMNS ({', '.join(f'{c} {_COLUMN_TYPES[c]}' for c in columns)})"


def select_sql(table: str) -> str:
    return f"SELECT {', '.join(COLUMNS)} FROM {table} ORDER BY policy_id"


def merge_sql(table: str, rows: int = 1) -> str:
    """One MERGE of `rows` rows (their values the parameters `:<column>_<row>`), keyed by
    policy_hash; a row another owner has is left alone (and not counted as affected)."""
    source = " UNION ALL ".join(
        "SELECT " + ", ".join(f"{_source_expr(c, i)} AS {c}" for c in _WRITTEN) for i in range(rows)
    )
    updates = ", ".join(f"{c} = s.{c}" for c in _WRITTEN if c != "policy_hash")
    return (
        f"MERGE INTO {table} AS t USING ({source}) AS s ON t.policy_hash = s.policy_hash "
        f"WHEN MATCHED AND t.managed_by = s.managed_by THEN UPDATE SET {updates} "
        f"WHEN NOT MATCHED THEN INSERT ({', '.join(_WRITTEN)}) VALUES ({', '.join('s.' + c for c in _WRITTEN)})"
    )


def delete_sql(table: str, rows: int = 1) -> str:
    hashes = ", ".join(f":policy_hash_{i}" for i in range(rows))
    return f"DELETE FROM {table} WHERE managed_by = :owner AND policy_hash IN ({hashes})"


def adopt_sql(table: str) -> str:
    return (
        f"UPDATE {table} SET managed_by = :owner, spec_name = COALESCE(:name, spec_name, policy_hash) "
        "WHERE policy_hash = :policy_hash AND managed_by IS NULL"
    )


class DatabricksPolicyProvider(PolicyStoreProvider):
    backend = "databricks"
    live_system = "databricks"

    def __init__(self, kind: Any, target: ProviderTarget) -> None:
        super().__init__(kind, target)
        store = target.config.policy_store
        if not isinstance(store, DatabricksPolicyStore):
            raise ReconcilerError(f"target '{target.name}': its policy_store is not a Databricks table")
        self.store = store
        self.table = quote_table_name(self.store.table)
        self._warehouse: SqlWarehouse | None = None
        # None: not read yet; False: the last read found no table (apply creates it).
        self._table_exists: bool | None = None
        # Ownership columns the table lacks (a table the framework created), as of the last read.
        self._missing: tuple[str, ...] = ()

    @property
    def warehouse(self) -> SqlWarehouse:
        if self._warehouse is None:
            self._warehouse = SqlWarehouse(
                self.target.workspace_client(), self.store.warehouse_id, self.store.statement_timeout_seconds
            )
        return self._warehouse

    def _read_rows(self) -> list[dict[str, Any]]:
        self._missing = ()
        try:
            result = self.warehouse.run(select_sql(self.table))
        except StatementError as exc:
            if exc.table_not_found:
                self._table_exists = False
                return []
            return self._read_unusual_table(exc)
        self._table_exists = True
        return result.rows

    def _read_unusual_table(self, failure: StatementError) -> list[dict[str, Any]]:
        """The one SELECT failed on an existing table: if it lacks reconciler's ownership columns
        (a table the SLA framework created), read what it has (every row unmanaged)."""
        present = set(self.warehouse.run(f"SELECT * FROM {self.table} LIMIT 0").columns)
        self._table_exists = True
        missing = tuple(c for c in OWNERSHIP_COLUMNS if c not in present)
        absent = [c for c in COLUMNS if c not in present and c not in OWNERSHIP_COLUMNS]
        if absent or not missing:
            raise failure
        self._missing = missing
        readable = [c for c in COLUMNS if c in present]
        rows = self.warehouse.run(f"SELECT {', '.join(readable)} FROM {self.table} ORDER BY policy_id").rows
        return [{**dict.fromkeys(missing), **row} for row in rows]

    def notes(self) -> list[str]:
        if self._table_exists is False:
            return [
                f"SlaPolicy table {self.table} does not exist: apply will create it "
                f"(CREATE TABLE IF NOT EXISTS ... USING DELTA on warehouse {self.store.warehouse_id})"
            ]
        if self._missing:
            return [
                f"SlaPolicy table {self.table} has no ownership column(s) {', '.join(self._missing)} (a table the SLA "
                "framework created): every row in it is unmanaged. apply adds them, nullable so the framework's "
                f"jobs keep working, only with --allow-migrate: {add_columns_sql(self.table, self._missing)}"
            ]
        return []

    def migrations(self) -> list[Migration]:
        if not self._missing:
            return []
        return [
            Migration(
                kind=self.kind.name,
                target=self.table,
                description=f"add reconciler's ownership column(s) {', '.join(self._missing)} (nullable)",
                statements=[add_columns_sql(self.table, self._missing)],
            )
        ]

    def _missing_ownership_columns(self) -> tuple[str, ...]:
        present = set(self.warehouse.run(f"SELECT * FROM {self.table} LIMIT 0").columns)
        return tuple(c for c in OWNERSHIP_COLUMNS if c not in present)

    def migrate(self, migration: Migration) -> None:
        """Add the ownership columns still missing (re-checked, so a re-run adds only what is left)."""
        present = set(self.warehouse.run(f"SELECT * FROM {self.table} LIMIT 0").columns)
        missing = tuple(c for c in OWNERSHIP_COLUMNS if c not in present)
        if missing:
            self.warehouse.run(add_columns_sql(self.table, missing))
        self._missing = ()

    def _ensure_table(self) -> None:
        """Create the table before the first write of an apply (a no-op when it exists)."""
        if self._table_exists:
            return
        self.warehouse.run(create_table_sql(self.table))
        self._table_exists = True

    def _upsert_rows(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        self._ensure_table()
        written: set[str] = set()
        for start in range(0, len(rows), BATCH_ROWS):
            chunk = rows[start : start + BATCH_ROWS]
            params = [
                Param(f"{c}_{i}", row[c], _PARAM_TYPES.get(c, "STRING"))
                for i, row in enumerate(chunk)
                for c in _WRITTEN
            ]
            affected = self.warehouse.run(merge_sql(self.table, len(chunk)), params).first_int("num_affected_rows")
            hashes = {row["policy_hash"] for row in chunk}
            # Delta's MERGE returns counts, not rows: when fewer rows were written than sent, some
            # belong to another owner, and the table says which.
            written |= hashes if affected == len(hashes) else hashes & self._hashes(chunk[0]["managed_by"])
        return written

    def _delete_rows(self, policy_hashes: Sequence[str], owner: str) -> set[str]:
        deleted: set[str] = set()
        for start in range(0, len(policy_hashes), BATCH_ROWS):
            chunk = set(policy_hashes[start : start + BATCH_ROWS])
            params = [Param("owner", owner)] + [Param(f"policy_hash_{i}", h) for i, h in enumerate(sorted(chunk))]
            affected = self.warehouse.run(delete_sql(self.table, len(chunk)), params).first_int("num_affected_rows")
            deleted |= chunk if affected == len(chunk) else chunk - self._hashes()
        return deleted

    def _hashes(self, owner: str | None = None) -> set[str]:
        """The policy_hashes in the table now (of `owner`'s rows only, when given): read after a
        statement wrote fewer rows than it was sent."""
        rows = self._read_rows()
        return {str(r["policy_hash"]) for r in rows if owner is None or r.get("managed_by") == owner}

    def _adopt_row(self, policy_hash: str, owner: str, name: str | None) -> int:
        params = [Param("owner", owner), Param("name", name), Param("policy_hash", policy_hash)]
        return self.warehouse.run(adopt_sql(self.table), params).first_int("num_affected_rows")
