"""SLA policies in a table of a SQL database, through SQLAlchemy Core: PostgreSQL (psycopg 3),
the embedded SQLite file, and by SQLAlchemy's dialects MySQL/MariaDB and others.

One code path for every database (semantics shared with the Databricks store:
`policy_store.PolicyStoreProvider`): one engine per run; the whole table read with one SELECT;
an apply's creates and updates one parameterised multi-row upsert (`sql_policy_table.upsert_many`,
1,000 rows a statement; a row at a time where the dialect has none) and its deletes one DELETE,
all in one transaction, never overwriting a row another owner has; each adoption one statement
scoped to unowned rows. The table is created by the first write of an apply, never by a plan.

A table the SLA framework created itself, without reconciler's ownership columns, is read as is
(every row unmanaged) and reported by the plan; `apply --allow-migrate` adds the columns
(nullable, `ALTER TABLE ... ADD COLUMN`) before its first write.

Connection secrets: the URL's password (if any, e.g. from `${env:}`), `password_env`, or libpq's
own PGPASSWORD / ~/.pgpass / service file. Messages show the URL with the password masked and
SQLAlchemy is told to keep statement parameters out of its errors.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Table, create_engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, NoSuchModuleError, SQLAlchemyError

from reconciler import secrets
from reconciler.errors import ReconcilerError
from reconciler.plan.model import Migration
from reconciler.specs.project import SqlPolicyStore

from .policy_rows import COLUMNS, OWNERSHIP_COLUMNS
from .policy_store import PolicyStoreProvider
from .sql_policy_table import (
    BATCH_ROWS,
    FRAMEWORK_COLUMNS,
    add_column_sql,
    adopt_row,
    delete_many,
    delete_row,
    policy_table,
    select_rows,
    upsert,
    upsert_many,
)

if TYPE_CHECKING:
    from reconciler.kinds.base import Kind
    from reconciler.kinds.sla_policy import PolicyFacts, SlaPolicySpec
    from reconciler.providers.provider_target import ProviderTarget

DEFAULT_TABLE = "query_sla_policies"


class SqlStoreError(ReconcilerError):
    """A statement or connection the database refused; carries the database's own message."""


def store_url(target: ProviderTarget) -> tuple[URL, str, str | None, int]:
    """The target's policy store as (SQLAlchemy URL, table, schema, connect timeout): a `sql`
    store's URL (relative SQLite paths resolved against the spec directory, the password taken
    from `password_env` when set), or the SQLite file of a `sqlite` store / the embedded default."""
    store = target.config.policy_store
    if store is None or store.type == "sqlite":
        path = target.resolve_path(store.path) if store is not None and store.path else None
        return URL.create("sqlite", database=str(path or target.policy_db_path)), DEFAULT_TABLE, None, 30
    if not isinstance(store, SqlPolicyStore):
        raise ReconcilerError(f"target '{target.name}': policy_store type '{store.type}' is not a SQL store")
    secrets.remember_url_credentials(store.url)
    url = make_url(store.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        if not url.database.startswith("file:") and not Path(url.database).is_absolute():
            url = url.set(database=str(target.resolve_path(url.database)))
    if store.password_env:
        password = os.environ.get(store.password_env)
        if not password:
            raise ReconcilerError(
                f"target '{target.name}': policy_store.password_env names {store.password_env}, which is not set"
            )
        secrets.remember(password)
        url = url.set(password=password)
    return url, store.table, store.db_schema, store.connect_timeout_seconds


class SqlPolicyProvider(PolicyStoreProvider):
    backend = "sql"

    def __init__(self, kind: Kind[SlaPolicySpec, PolicyFacts], target: ProviderTarget) -> None:
        super().__init__(kind, target)
        self.url, table, schema, self.connect_timeout = store_url(target)
        self.table: Table = policy_table(table, schema)
        self.shown_url = self.url.render_as_string(hide_password=True)
        self._engine: Engine | None = None
        # What the last read found: None not read / no table; else the ownership columns missing.
        self._table_exists: bool | None = None
        self._missing: tuple[str, ...] = ()

    @property
    def table_name(self) -> str:
        return f"{self.table.schema}.{self.table.name}" if self.table.schema else self.table.name

    @property
    def where(self) -> str:
        return f"table {self.table_name} at {self.shown_url}"

    @property
    def engine(self) -> Engine:
        """The run's one engine (connection pool), created on first use."""
        if self._engine is None:
            backend = self.url.get_backend_name()
            connect_args: dict[str, Any] = {"timeout": self.connect_timeout} if backend == "sqlite" else {}
            if backend == "postgresql":
                connect_args["connect_timeout"] = self.connect_timeout
            try:
                self._engine = create_engine(self.url, hide_parameters=True, connect_args=connect_args)
            except (NoSuchModuleError, ImportError) as exc:
                extra = " (pip install 'reconciler[postgres]')" if backend == "postgresql" else ""
                raise SqlStoreError(f"no database driver for {self.shown_url}{extra}: {exc}") from None
        return self._engine

    @contextmanager
    def _errors(self, operation: str) -> Iterator[None]:
        """Database failures as one line naming the operation and the table, never the password
        or the statement's parameters."""
        try:
            yield
        except SQLAlchemyError as exc:
            detail = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
            raise SqlStoreError(f"{operation} {self.where}: {self._redact(detail)}") from None

    def _redact(self, detail: object) -> str:
        message = " ".join(str(detail).split())
        if self.url.password:
            message = message.replace(str(self.url.password), "***")
        return message

    def _sqlite_file_missing(self) -> bool:
        """An embedded SQLite file that does not exist yet holds no table; connecting would create
        the file, which a plan must not do."""
        if self.url.get_backend_name() != "sqlite" or not self.url.database or self.url.database == ":memory:":
            return False
        return not self.url.database.startswith("file:") and not Path(self.url.database).exists()

    def ensure_database_file(self) -> None:
        """Make the folder of an embedded SQLite file, so the first write (or the apply lock)
        can create the file; only apply calls this."""
        if self._sqlite_file_missing():
            Path(str(self.url.database)).parent.mkdir(parents=True, exist_ok=True)

    # -- reads ---------------------------------------------------------------------------------

    def _read_rows(self) -> list[dict[str, Any]]:
        self._missing = ()
        if self._sqlite_file_missing():
            self._table_exists = False
            return []
        with self._errors("connecting to"):
            conn = self.engine.connect()
        with conn:
            try:
                rows = conn.execute(select_rows(self.table)).mappings().all()
            except DBAPIError as exc:
                conn.rollback()
                return self._read_unusual_table(conn, exc)
            except SQLAlchemyError:
                with self._errors("reading"):
                    raise
        self._table_exists = True
        return [dict(row) for row in rows]

    def _present_columns(self, conn: Connection) -> set[str] | None:
        """The table's columns (None: no such table), by the dialect's inspector."""
        with self._errors("inspecting"):
            inspector = inspect(conn)
            if not inspector.has_table(self.table.name, schema=self.table.schema):
                return None
            return {str(c["name"]) for c in inspector.get_columns(self.table.name, schema=self.table.schema)}

    def _read_unusual_table(self, conn: Connection, failure: DBAPIError) -> list[dict[str, Any]]:
        """The one SELECT failed: no table yet (apply creates it), a framework table without the
        ownership columns (read what it has; every row unmanaged), or a real error (raised)."""
        present = self._present_columns(conn)
        if present is None:
            self._table_exists = False
            return []
        self._table_exists = True
        absent = [c for c in FRAMEWORK_COLUMNS if c not in present]
        if absent:
            raise SqlStoreError(
                f"{self.where} has no column(s) {', '.join(absent)}: not an SLA policy table "
                f"(expected {', '.join(COLUMNS)})"
            )
        self._missing = tuple(c for c in OWNERSHIP_COLUMNS if c not in present)
        if not self._missing:
            with self._errors("reading"):
                raise failure
        readable = tuple(c for c in COLUMNS if c in present)
        with self._errors("reading"):
            rows = conn.execute(select_rows(self.table, readable)).mappings().all()
        return [{**dict.fromkeys(self._missing), **dict(row)} for row in rows]

    def notes(self) -> list[str]:
        if self._table_exists is False:
            return [
                f"SlaPolicy {self.where} does not exist: apply will create it (CREATE TABLE; its schema must exist)"
            ]
        if self._missing:
            return [
                f"SlaPolicy {self.where} has no ownership column(s) {', '.join(self._missing)} (a table the SLA "
                "framework created): every row in it is unmanaged. apply adds them, nullable so the framework's "
                "jobs keep working, only with --allow-migrate: " + "; ".join(self._add_column_statements())
            ]
        return []

    def _add_column_statements(self) -> list[str]:
        return [add_column_sql(self.table, c, self.engine.dialect) for c in self._missing]

    def migrations(self) -> list[Migration]:
        if not self._missing:
            return []
        return [
            Migration(
                kind=self.kind.name,
                target=self.table_name,
                description=f"add reconciler's ownership column(s) {', '.join(self._missing)} (nullable)",
                statements=self._add_column_statements(),
            )
        ]

    def migrate(self, migration: Migration) -> None:
        """Add the ownership columns still missing (re-checked: a re-run after a partial or
        concurrent migration adds only what is left), in one transaction where the database has
        transactional DDL."""
        with self._errors("migrating"), self.engine.begin() as conn:
            present = self._present_columns(conn) or set()
            for column in OWNERSHIP_COLUMNS:
                if column not in present:
                    conn.execute(text(add_column_sql(self.table, column, self.engine.dialect)))
        self._missing = ()

    # -- writes --------------------------------------------------------------------------------

    def _ensure_table(self) -> None:
        """Create the table before the first write of an apply (a no-op when it exists)."""
        if self._table_exists:
            return
        self.ensure_database_file()
        with self._errors("creating"), self.engine.begin() as conn:
            self.table.create(conn, checkfirst=True)
        self._table_exists = True

    def _write(self, operation: str, statements: Sequence[Any]) -> int:
        """Run `statements` in one transaction; the number of rows they wrote."""
        with self._errors(operation), self.engine.begin() as conn:
            return self._count(conn, statements)

    def _upsert_rows(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        self._ensure_table()
        dialect = self.engine.dialect
        written: set[str] = set()
        with self._errors("writing policy rows in"), self.engine.begin() as conn:
            for start in range(0, len(rows), BATCH_ROWS):
                chunk = list(rows[start : start + BATCH_ROWS])
                many = upsert_many(self.table, chunk, dialect)
                if many is not None:
                    written.update(str(h) for h in conn.execute(many).scalars())
                    continue
                for row in chunk:  # no multi-row upsert here: one statement a row, same transaction
                    if self._count(conn, upsert(self.table, row, dialect)):
                        written.add(row["policy_hash"])
        return written

    def _delete_rows(self, policy_hashes: Sequence[str], owner: str) -> set[str]:
        dialect = self.engine.dialect
        deleted: set[str] = set()
        with self._errors("deleting policy rows from"), self.engine.begin() as conn:
            for start in range(0, len(policy_hashes), BATCH_ROWS):
                chunk = list(policy_hashes[start : start + BATCH_ROWS])
                if dialect.name in ("postgresql", "sqlite"):
                    deleted.update(
                        str(h) for h in conn.execute(delete_many(self.table, chunk, owner, dialect)).scalars()
                    )
                    continue
                for policy_hash in chunk:
                    if self._count(conn, [delete_row(self.table, policy_hash, owner)]):
                        deleted.add(policy_hash)
        return deleted

    def _count(self, conn: Connection, statements: Sequence[Any]) -> int:
        """The rows `statements` wrote (RETURNING rows, else the driver's count, which must be known)."""
        written = 0
        for statement in statements:
            result = conn.execute(statement)
            count = len(result.all()) if result.returns_rows else result.rowcount
            if count < 0:
                raise SqlStoreError(f"writing {self.where}: the driver did not report the rows written")
            written += count
        return written

    def _adopt_row(self, policy_hash: str, owner: str, name: str | None) -> int:
        return self._write("adopting policy row in", [adopt_row(self.table, policy_hash, owner, name)])

    def _missing_ownership_columns(self) -> tuple[str, ...]:
        with self._errors("inspecting"), self.engine.connect() as conn:
            present = self._present_columns(conn)
        return () if present is None else tuple(c for c in OWNERSHIP_COLUMNS if c not in present)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
