"""The SLA policy stores as test fixtures: the same scenario runs against each.

A `StoreProject` is a spec project whose default target keeps policies in one store; its
`store` reads rows back in one normalised shape (lists as lists, booleans as bools) and edits the
table behind the tool's back, each in the store's own way: SQLite through sqlite3, PostgreSQL
through psycopg on a real server (like a person at psql), Databricks through the sandbox's SQL
warehouse with the real SDK client (like a person in the SQL editor).
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.sql import StatementParameterListItem, StatementState
from helpers import Project

from reconciler.sandbox import SandboxServer

if TYPE_CHECKING:
    from pg_server import PostgresServer

LIST_COLUMNS = ("warehouse_ids", "query_statuses")
DBX_TABLE = "main.sla_monitoring.query_sla_policies"
DBX_WAREHOUSE = "sandbox-warehouse"
DBX_TOKEN = "dapi-scenario-token"


class PolicyTable(Protocol):
    name: str
    table: str
    target: str

    def rows(self) -> list[dict[str, Any]]: ...
    def execute(self, statement: str, **params: Any) -> None: ...
    def insert_row(
        self, policy_hash: str, warehouse_ids: list[str], sla_seconds: int, statuses: list[str], mode: str
    ) -> None: ...
    def exists(self) -> bool: ...
    def create_framework_table(self) -> None: ...
    def reject_writes(self, sla_seconds: int, message: str) -> None: ...
    def accept_writes(self) -> None: ...


def _normalise(row: dict[str, Any]) -> dict[str, Any]:
    for col in LIST_COLUMNS:
        if isinstance(row.get(col), str):
            row[col] = json.loads(row[col])
    if row.get("prevent_destroy") is not None:
        row["prevent_destroy"] = bool(row["prevent_destroy"])
    return row


class _Table:
    """What every store's table does the same way: the same statements, each store's types.

    A store says how it runs a statement (`query`, `{table}` and `:name` markers) and whether
    its table exists; the rows, a hand-written row and the framework's own table follow."""

    table: str
    #: How a JSON list parameter is put into a list column (Delta parses it into an ARRAY).
    list_value = "{}"
    #: The SLA framework's table: no ownership columns (id, text, list, int column types).
    framework_types = ("INTEGER PRIMARY KEY AUTOINCREMENT", "TEXT", "TEXT", "INTEGER")
    framework_unique = " UNIQUE"
    framework_suffix = ""

    def query(self, statement: str, **params: Any) -> list[dict[str, Any]]:
        raise NotImplementedError

    def exists(self) -> bool:
        raise NotImplementedError

    def rows(self) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM {table} ORDER BY policy_id") if self.exists() else []

    def execute(self, statement: str, **params: Any) -> None:
        self.query(statement, **params)

    def insert_row(
        self, policy_hash: str, warehouse_ids: list[str], sla_seconds: int, statuses: list[str], mode: str
    ) -> None:
        self.execute(
            "INSERT INTO {table} (policy_hash, warehouse_ids, sla_seconds, query_statuses, policy_mode) "
            f"VALUES (:h, {self.list_value.format(':w')}, :s, {self.list_value.format(':q')}, :m)",
            h=policy_hash,
            w=json.dumps(warehouse_ids),
            s=sla_seconds,
            q=json.dumps(statuses),
            m=mode,
        )

    def create_framework_table(self) -> None:
        """The table as the SLA framework creates it: no ownership columns."""
        ident, text, listed, number = self.framework_types
        self.execute(
            f"CREATE TABLE {{table}} (policy_id {ident}, policy_hash {text} NOT NULL{self.framework_unique}, "
            f"warehouse_ids {listed} NOT NULL, sla_seconds {number} NOT NULL, query_statuses {listed} NOT NULL, "
            f"policy_mode {text} NOT NULL){self.framework_suffix}"
        )


@dataclass
class SqliteTable(_Table):
    path: Path
    name: str = "sqlite"
    table: str = "query_sla_policies"
    target: str = "local"

    def query(self, statement: str, **params: Any) -> list[dict[str, Any]]:
        with sqlite3.connect(self.path) as conn:
            conn.row_factory = sqlite3.Row
            cursor = conn.execute(statement.format(table=self.table), params)
            return [_normalise(dict(r)) for r in cursor.fetchall()] if cursor.description else []

    def exists(self) -> bool:
        if not self.path.exists():
            return False
        return bool(self.query("SELECT 1 FROM sqlite_master WHERE name = :name", name=self.table))

    def create_framework_table(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        super().create_framework_table()

    def reject_writes(self, sla_seconds: int, message: str) -> None:
        # A trigger stands in for a database that refuses one write.
        self.execute(
            "CREATE TRIGGER reject BEFORE INSERT ON {table} WHEN NEW.sla_seconds = "
            + str(int(sla_seconds))
            + " BEGIN SELECT RAISE(ABORT, '"
            + message.replace("'", "''")
            + "'); END"
        )

    def accept_writes(self) -> None:
        self.execute("DROP TRIGGER reject")


@dataclass
class DatabricksTable(_Table):
    sandbox: SandboxServer
    name: str = "databricks"
    table: str = DBX_TABLE
    target: str = "dbx"
    client: WorkspaceClient = field(init=False)
    list_value = "from_json({}, 'ARRAY<STRING>')"
    framework_types = ("BIGINT GENERATED ALWAYS AS IDENTITY", "STRING", "ARRAY<STRING>", "INT")
    framework_unique = ""
    framework_suffix = " USING DELTA"

    def __post_init__(self) -> None:
        self.client = WorkspaceClient(host=self.sandbox.url, token="dapi-someone-in-the-sql-editor")

    def query(self, statement: str, **params: Any) -> list[dict[str, Any]]:
        items = [
            StatementParameterListItem(name=k, value=None if v is None else str(v), type=_type(v))
            for k, v in params.items()
        ]
        response = self.client.statement_execution.execute_statement(
            statement.format(table=self.table), DBX_WAREHOUSE, parameters=items or None, wait_timeout="10s"
        )
        assert response.status is not None
        if response.status.state != StatementState.SUCCEEDED:
            raise AssertionError(f"{statement}: {response.status.error}")
        schema = response.manifest.schema if response.manifest else None
        columns = (schema.columns or []) if schema else []
        data: list[list[Any]] = []
        chunk = response.result
        while chunk is not None:
            data += chunk.data_array or []
            if chunk.next_chunk_index is None:
                break
            chunk = self.client.statement_execution.get_statement_result_chunk_n(
                response.statement_id, chunk.next_chunk_index
            )
        rows = []
        for values in data:
            row = {}
            for column, value in zip(columns, values):
                kind = column.type_name.value if column.type_name else "STRING"
                if value is not None and kind in ("INT", "LONG"):
                    value = int(value)
                elif value is not None and kind == "BOOLEAN":
                    value = value == "true"
                row[column.name] = value
            rows.append(_normalise(row))
        return rows

    def exists(self) -> bool:
        response = self.client.statement_execution.execute_statement(
            f"SELECT 1 FROM {self.table} LIMIT 1", DBX_WAREHOUSE
        )
        return response.status is not None and response.status.state == StatementState.SUCCEEDED

    def reject_writes(self, sla_seconds: int, message: str) -> None:
        control(
            self.sandbox,
            "faults",
            {
                "statement_contains": "MERGE",
                "parameter": {"name": "sla_seconds_*", "value": str(sla_seconds)},  # any row of a MERGE
                "message": message,
            },
        )

    def accept_writes(self) -> None:
        control(self.sandbox, "faults", method="DELETE")


@dataclass
class PostgresTable(_Table):
    server: PostgresServer
    schema: str
    name: str = "postgresql"
    target: str = "pg"
    table: str = field(init=False)
    framework_types = ("BIGSERIAL PRIMARY KEY", "TEXT", "TEXT", "INTEGER")

    def __post_init__(self) -> None:
        self.table = f"{self.schema}.query_sla_policies"

    def query(self, statement: str, **params: Any) -> list[dict[str, Any]]:
        from psycopg.rows import dict_row

        sql = re.sub(r"(?<!:):([a-z_]+)", r"%(\1)s", statement.format(table=self.table))
        with self.server.connect() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql, params)
            return [_normalise(dict(r)) for r in cur.fetchall()] if cur.description else []

    def exists(self) -> bool:
        (row,) = self.query("SELECT to_regclass(:t) IS NOT NULL AS present", t=self.table)
        return bool(row["present"])

    def reject_writes(self, sla_seconds: int, message: str) -> None:
        # A trigger stands in for a database that refuses one write (the message is a literal:
        # RAISE takes no parameters).
        literal = message.replace("'", "''")
        self.execute(
            f"CREATE FUNCTION {self.schema}.reject() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.sla_seconds = {int(sla_seconds)} THEN RAISE EXCEPTION '{literal}'; END IF; RETURN NEW; END $$"
        )
        self.execute(
            f"CREATE TRIGGER reject BEFORE INSERT ON {{table}} FOR EACH ROW EXECUTE FUNCTION {self.schema}.reject()"
        )

    def accept_writes(self) -> None:
        self.execute(f"DROP FUNCTION {self.schema}.reject() CASCADE")


def postgres_project_file(server: PostgresServer, schema: str, extra: str = "") -> str:
    return (
        "project: test\n"
        "default_target: pg\n"
        "targets:\n"
        "  pg:\n"
        "    policy_store:\n"
        "      type: sql\n"
        f"      url: {server.url()}\n"
        f"      schema: {schema}\n" + extra
    )


def _type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "INT"
    return "STRING"


def control(
    sandbox: SandboxServer, path: str, body: dict[str, Any] | None = None, method: str = "POST"
) -> dict[str, Any]:
    reply = requests.request(method, f"{sandbox.url}/sandbox/sql/{path}", json=body, timeout=5)
    reply.raise_for_status()
    return reply.json()  # type: ignore[no-any-return]


def databricks_project_file(sandbox_url: str, table: str = DBX_TABLE, extra: str = "") -> str:
    return (
        "project: test\n"
        "default_target: dbx\n"
        "targets:\n"
        "  dbx:\n"
        "    databricks:\n"
        f"      host: {sandbox_url}\n"
        "      retry_timeout_seconds: 5\n"
        "    policy_store:\n"
        "      type: databricks\n"
        f"      table: {table}\n"
        f"      warehouse_id: {DBX_WAREHOUSE}\n" + extra
    )


@dataclass
class StoreProject(Project):
    """A spec project on one store; `rows()` / `sql()` read and edit that store."""

    store: PolicyTable = None  # type: ignore[assignment]

    def rows(self) -> list[dict[str, Any]]:
        return self.store.rows()

    def sql(self, statement: str, **params: Any) -> None:  # type: ignore[override]
        self.store.execute(statement, **params)


def make_store_project(
    store: str, tmp_path: Path, monkeypatch: Any, sandbox_factory: Any, postgres: Any = None
) -> StoreProject:
    """A project on `store` ("sqlite": the embedded default; "postgresql": a `sql` store on the
    session's real PostgreSQL server, a fresh schema per test, the password from PGPASSWORD as
    libpq reads it; "databricks": the sandbox's SQL warehouse, reached through the target's
    `databricks:` connection with a token from the environment, table in an existing schema).
    `postgres` is a callable returning the session's PostgresServer (only called for it)."""
    root = tmp_path / "specs"
    root.mkdir()
    if store == "sqlite":
        (root / "reconciler.yaml").write_text("project: test\n", encoding="utf-8")
        return StoreProject(root, store=SqliteTable(root / ".reconciler" / "local" / "policies.db"))
    if store == "postgresql":
        from pg_server import ROLE_PASSWORD

        server = postgres()
        schema = server.new_schema()
        monkeypatch.setenv("PGPASSWORD", ROLE_PASSWORD)
        (root / "reconciler.yaml").write_text(postgres_project_file(server, schema), encoding="utf-8")
        return StoreProject(root, store=PostgresTable(server, schema))
    sandbox = sandbox_factory()
    monkeypatch.setenv("DATABRICKS_TOKEN", DBX_TOKEN)
    (root / "reconciler.yaml").write_text(databricks_project_file(sandbox.url), encoding="utf-8")
    table = DatabricksTable(sandbox)
    table.query("CREATE SCHEMA IF NOT EXISTS main.sla_monitoring")
    return StoreProject(root, store=table)
