"""The SQL engine behind the sandbox's SQL warehouse: Databricks SQL run on DuckDB.

Why a real engine: the statement emulator must accept or reject what a warehouse would, bind
parameters the way a warehouse does and return the rows a table really holds, so the tests
exercise the store's SQL rather than a pattern-matcher's idea of it. Statements are parsed in
the Databricks dialect by sqlglot, rewritten where DuckDB differs (below), generated in the
DuckDB dialect and executed on one DuckDB database file per sandbox state.

Mapping, deliberately:
- Unity Catalog names. `catalog.schema.table` becomes DuckDB schema `"catalog.schema"`, table
  `table`, in the one database file (Unity Catalog names cannot contain dots, so this is
  unambiguous). One- and two-part names take the statement's `catalog` / `schema` (default
  `main` / `default`). Catalog `main` with schema `main.default` exists from the start;
  `CREATE CATALOG` and `CREATE SCHEMA` add more. `TABLE_OR_VIEW_NOT_FOUND`,
  `SCHEMA_NOT_FOUND` and `CATALOG_NOT_FOUND` come back with Databricks' wording.
- Named parameters. `:name` is bound as DuckDB prepared parameter `$name`, wrapped in
  `CAST(... AS <type>)` with the parameter's declared type (STRING when none), which is how a
  warehouse types a parameter marker: the engine casts the string value. Values are never put
  into SQL text. A marker without a parameter fails with `UNBOUND_SQL_PARAMETER`; positional
  `?` markers fail (the Statement Execution API does not support them either).
- `CREATE TABLE`: `USING DELTA`, `TBLPROPERTIES`, `LOCATION`, `PARTITIONED BY` and
  `CLUSTER BY` are dropped (DuckDB has no table formats, storage locations or clustering); the
  table `COMMENT` and column comments are kept (DuckDB `COMMENT ON`), and
  `GENERATED ALWAYS|BY DEFAULT AS IDENTITY` becomes a column default drawn from a sequence.
- Built-in functions: `sql_builtins` maps the Databricks built-ins DuckDB treats differently
  (`range`, `explode`, `inline`, `from_json`, `unix_timestamp`, ...) and lists what is covered; an
  unknown function fails with Databricks' `[UNRESOLVED_ROUTINE]`.
- `ALTER TABLE t ADD COLUMNS (a T, b U)` becomes one `ADD COLUMN` per column, in one transaction
  (DuckDB adds one column per statement).
- DML results have Delta's shape: MERGE returns `num_affected_rows, num_updated_rows,
  num_deleted_rows, num_inserted_rows`, UPDATE/DELETE `num_affected_rows`, INSERT
  `num_affected_rows, num_inserted_rows`; DDL returns no columns.
- Anything sqlglot cannot render for DuckDB fails the statement (nothing is silently dropped
  beyond the list above); so do statements sqlglot only knows as opaque commands (SHOW, ...).
- Session time zone is UTC. Values are rendered as a warehouse's JSON_ARRAY format renders
  them: every value a string (complex types as JSON text), NULL as null.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import re
import threading
import weakref
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError, TokenError

from . import sql_builtins
from .sql_errors import StatementFailed

# sqlglot logs a WARNING for every construct it falls back on; the engine turns those cases into
# explicit decisions or failed statements, so the log lines would only be noise in CLI output.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

DEFAULT_CATALOG = "main"
DEFAULT_SCHEMA = "default"
_META_SCHEMA = "__sandbox__"
_DROPPED_PROPERTIES = (
    exp.FileFormatProperty,
    exp.LocationProperty,
    exp.PartitionedByProperty,
    exp.ClusterProperty,
    exp.Property,  # TBLPROPERTIES ('k' = 'v')
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

# Databricks ColumnInfoTypeName per sqlglot type (what a warehouse reports in manifest.schema).
# Keyed by sqlglot's type enum (`DataType.Type`, an alias whose static type differs across sqlglot releases).
_TYPE_NAMES: dict[object, str] = {
    exp.DataType.Type.TEXT: "STRING",
    exp.DataType.Type.VARCHAR: "STRING",
    exp.DataType.Type.CHAR: "STRING",
    exp.DataType.Type.UUID: "STRING",
    exp.DataType.Type.JSON: "STRING",
    exp.DataType.Type.BOOLEAN: "BOOLEAN",
    exp.DataType.Type.TINYINT: "BYTE",
    exp.DataType.Type.SMALLINT: "SHORT",
    exp.DataType.Type.INT: "INT",
    exp.DataType.Type.BIGINT: "LONG",
    exp.DataType.Type.FLOAT: "FLOAT",
    exp.DataType.Type.DOUBLE: "DOUBLE",
    exp.DataType.Type.DECIMAL: "DECIMAL",
    exp.DataType.Type.DATE: "DATE",
    exp.DataType.Type.TIMESTAMP: "TIMESTAMP",
    exp.DataType.Type.TIMESTAMPTZ: "TIMESTAMP",
    exp.DataType.Type.TIMESTAMPNTZ: "TIMESTAMP",
    exp.DataType.Type.VARBINARY: "BINARY",
    exp.DataType.Type.BINARY: "BINARY",
    exp.DataType.Type.ARRAY: "ARRAY",
    exp.DataType.Type.MAP: "MAP",
    exp.DataType.Type.STRUCT: "STRUCT",
    exp.DataType.Type.INTERVAL: "INTERVAL",
}


@dataclass
class StatementResult:
    """Columns (manifest.schema.columns entries) and rows (JSON_ARRAY strings)."""

    columns: list[dict[str, Any]] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)


@dataclass(frozen=True)
class _Name:
    catalog: str
    schema: str
    table: str

    @property
    def quoted(self) -> str:
        return f"`{self.catalog}`.`{self.schema}`.`{self.table}`"


@dataclass
class _Prepared:
    sql: str
    binds: dict[str, str | None]
    tables: list[_Name]
    kind: str  # select | merge | insert | update | delete | ddl
    pre: list[str] = field(default_factory=list)  # run first, same transaction (sequences)
    post: list[str] = field(default_factory=list)  # run after, same transaction (comments)
    created: _Name | None = None  # CREATE TABLE target (post runs only when it is new)
    create_if_not_exists: bool = False


def _duck_schema(catalog: str, schema: str) -> str:
    return f"{catalog}.{schema}"


def _sql_literal(text: str) -> str:
    # Only for comments the statement itself carried as literals (DuckDB's COMMENT ON takes no
    # parameters); rendered by sqlglot, which escapes quotes.
    return exp.Literal.string(text).sql("duckdb")


class SqlEngine:
    """One DuckDB database; statements are serialised (a warehouse with one slot is enough for
    the sandbox, and DuckDB connections are not safe for concurrent use)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn: duckdb.DuckDBPyConnection | None = None

    # -- connection ---------------------------------------------------------------------------
    def _connect(self) -> duckdb.DuckDBPyConnection:
        if self._conn is None:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = duckdb.connect(self.path)
            conn.execute("SET TimeZone = 'UTC'")
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{_META_SCHEMA}"')
            conn.execute(f'CREATE TABLE IF NOT EXISTS "{_META_SCHEMA}".catalogs (name VARCHAR PRIMARY KEY)')
            conn.execute(f'INSERT OR IGNORE INTO "{_META_SCHEMA}".catalogs VALUES ($c)', {"c": DEFAULT_CATALOG})
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{_duck_schema(DEFAULT_CATALOG, DEFAULT_SCHEMA)}"')
            self._conn = conn
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- public -------------------------------------------------------------------------------
    def execute(
        self,
        statement: str,
        parameters: list[dict[str, Any]] | None = None,
        catalog: str | None = None,
        schema: str | None = None,
        row_limit: int | None = None,
    ) -> StatementResult:
        """Run one Databricks SQL statement; raises StatementFailed like a warehouse's FAILED."""
        catalog = catalog or DEFAULT_CATALOG
        schema = schema or DEFAULT_SCHEMA
        ast = self._parse(statement)
        with self._lock:
            conn = self._connect()
            if isinstance(ast, exp.Command):
                return self._command(conn, ast)
            prepared = self._prepare(conn, ast, parameters or [], catalog, schema)
            return self._run(conn, prepared, row_limit)

    # -- parsing and rewriting ----------------------------------------------------------------
    @staticmethod
    def _parse(statement: str) -> exp.Expression:
        try:
            # Every statement node is an `Expression` (newer sqlglot releases type parse() more loosely).
            parsed = [e for e in sqlglot.parse(statement, read="databricks") if isinstance(e, exp.Expression)]
        except TokenError as exc:
            raise StatementFailed(
                f"[PARSE_SYNTAX_ERROR] Syntax error: {_ANSI.sub('', str(exc))}. SQLSTATE: 42601", sql_state="42601"
            ) from None
        except ParseError as exc:
            detail = exc.errors[0] if exc.errors else {}
            near = _ANSI.sub("", str(detail.get("highlight") or "")).strip()
            where = f" (line {detail.get('line')}, pos {detail.get('col')})" if detail else ""
            raise StatementFailed(
                f"[PARSE_SYNTAX_ERROR] Syntax error at or near '{near}'. SQLSTATE: 42601{where}", sql_state="42601"
            ) from None
        if not parsed:
            raise StatementFailed(
                "[PARSE_EMPTY_STATEMENT] Syntax error, unexpected empty statement. SQLSTATE: 42617", sql_state="42617"
            )
        if len(parsed) > 1:
            raise StatementFailed(
                "[PARSE_SYNTAX_ERROR] Syntax error at or near ';': the Statement Execution API runs exactly one "
                "statement per request. SQLSTATE: 42601",
                sql_state="42601",
            )
        return parsed[0]

    def _prepare(
        self,
        conn: duckdb.DuckDBPyConnection,
        ast: exp.Expression,
        parameters: list[dict[str, Any]],
        catalog: str,
        schema: str,
    ) -> _Prepared:
        binds = self._bind_parameters(ast, parameters)
        sql_builtins.rewrite(ast)
        self._unqualify_set_targets(ast)
        prepared = _Prepared(sql="", binds=binds, tables=[], kind=self._kind(ast))

        if isinstance(ast, exp.Create) and (ast.args.get("kind") or "").upper() == "SCHEMA":
            self._prepare_create_schema(conn, ast, catalog)
        else:
            prepared.tables = self._map_tables(ast, catalog, schema)
            if isinstance(ast, exp.Create) and (ast.args.get("kind") or "").upper() == "TABLE" and prepared.tables:
                self._prepare_create_table(conn, ast, prepared)
        try:
            # ALTER TABLE ... ADD COLUMNS (a T, b U): DuckDB adds one column per ALTER, so all but the
            # last run first in the same transaction (all or nothing, like the warehouse).
            *first, ast = self._split_add_columns(ast)
            prepared.pre += [alter.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE) for alter in first]
            prepared.sql = ast.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
        except SqlglotError as exc:
            raise StatementFailed(
                f"[UNSUPPORTED_FEATURE] The sandbox warehouse (DuckDB) cannot run this statement: {exc}"
            ) from None
        if prepared.kind == "merge":
            prepared.sql += " RETURNING merge_action"
        return prepared

    @staticmethod
    def _split_add_columns(ast: exp.Expression) -> list[exp.Expression]:
        """`ALTER TABLE t ADD COLUMNS (c1 T1, c2 T2)` (Databricks) as one `ADD COLUMN` per column."""
        actions = ast.args.get("actions") or [] if isinstance(ast, exp.Alter) else []
        if len(actions) != 1 or not isinstance(actions[0], exp.Schema):
            return [ast]
        columns = [c for c in actions[0].expressions if isinstance(c, exp.ColumnDef)]
        alters = []
        for column in columns:
            alter = ast.copy()
            alter.set("actions", [column.copy()])
            alters.append(alter)
        return alters or [ast]

    @staticmethod
    def _kind(ast: exp.Expression) -> str:
        for cls, name in ((exp.Merge, "merge"), (exp.Insert, "insert"), (exp.Update, "update"), (exp.Delete, "delete")):
            if isinstance(ast, cls):
                return name
        if isinstance(ast, (exp.Query, exp.Describe)):
            return "select"
        return "ddl"

    @staticmethod
    def _bind_parameters(ast: exp.Expression, parameters: list[dict[str, Any]]) -> dict[str, str | None]:
        given = {str(p.get("name")): p for p in parameters}
        binds: dict[str, str | None] = {}
        for marker in list(ast.find_all(exp.Placeholder)):
            name = marker.this
            if not name:
                raise StatementFailed(
                    "[UNSUPPORTED_FEATURE] Positional parameter markers (?) are not supported by the Statement "
                    "Execution API; use named markers (:name). SQLSTATE: 0A000",
                    sql_state="0A000",
                )
            name = str(name)
            if name not in given:
                raise StatementFailed(
                    f"[UNBOUND_SQL_PARAMETER] Found the unbound parameter: {name}. Please, fix `args` and provide a "
                    "mapping of the parameter to either a SQL literal or collection constructor functions such as "
                    "`map()`, `array()`, `struct()`. SQLSTATE: 42P02",
                    sql_state="42P02",
                )
            type_text = str(given[name].get("type") or "STRING")
            try:
                data_type = exp.DataType.build(type_text, dialect="databricks")
            except (SqlglotError, ValueError):
                raise StatementFailed(
                    f'[UNSUPPORTED_DATATYPE] Unsupported data type "{type_text}" of parameter {name}. SQLSTATE: 0A000',
                    sql_state="0A000",
                ) from None
            if data_type.is_type(*exp.DataType.NESTED_TYPES):
                raise StatementFailed(
                    f"[INVALID_PARAMETER_VALUE] Parameter {name}: complex types such as {type_text} cannot be "
                    "parameter types.",
                    error_code="INVALID_PARAMETER_VALUE",
                )
            value = given[name].get("value")
            binds[name] = None if value is None else str(value)
            marker.replace(exp.Cast(this=exp.Placeholder(this=name), to=data_type))
        return binds

    @staticmethod
    def _unqualify_set_targets(ast: exp.Expression) -> None:
        """`UPDATE SET t.col = ...` (Databricks allows the target's qualifier; DuckDB does not)."""
        for update in ast.find_all(exp.Update):
            for assignment in update.expressions:
                target = assignment.this if isinstance(assignment, exp.EQ) else None
                if isinstance(target, exp.Column) and target.table:
                    target.set("table", None)

    @staticmethod
    def _cte_names(ast: exp.Expression) -> set[str]:
        return {cte.alias_or_name for cte in ast.find_all(exp.CTE)}

    def _map_tables(self, ast: exp.Expression, catalog: str, schema: str) -> list[_Name]:
        ctes = self._cte_names(ast)
        names: list[_Name] = []
        for table in list(ast.find_all(exp.Table)):
            if not isinstance(table.this, exp.Identifier):
                continue  # table functions such as range(3)
            if not table.args.get("db") and table.name in ctes:
                continue
            name = _Name(table.catalog or catalog, table.db or schema, table.name)
            names.append(name)
            table.set("catalog", None)
            table.set("db", exp.to_identifier(_duck_schema(name.catalog, name.schema), quoted=True))
        return names

    def _catalog_exists(self, conn: duckdb.DuckDBPyConnection, name: str) -> bool:
        row = conn.execute(f'SELECT 1 FROM "{_META_SCHEMA}".catalogs WHERE name = $n', {"n": name}).fetchone()
        return row is not None

    def _prepare_create_schema(self, conn: duckdb.DuckDBPyConnection, ast: exp.Create, catalog: str) -> None:
        target = ast.this  # sqlglot reads `CREATE SCHEMA c.s` as Table(db=s, catalog=c)
        schema_name = target.db or target.name
        catalog_name = target.catalog or catalog
        if not self._catalog_exists(conn, catalog_name):
            raise _catalog_not_found(catalog_name)
        ast.set("this", exp.Table(db=exp.to_identifier(_duck_schema(catalog_name, schema_name), quoted=True)))
        properties = ast.args.get("properties")
        if properties is not None:
            properties.pop()  # schema COMMENT / LOCATION / DBPROPERTIES: not kept by the sandbox

    def _prepare_create_table(self, conn: duckdb.DuckDBPyConnection, ast: exp.Create, prepared: _Prepared) -> None:
        name = prepared.tables[0]
        prepared.created = name
        prepared.create_if_not_exists = bool(ast.args.get("exists"))
        duck_table = f'"{_duck_schema(name.catalog, name.schema)}"."{name.table}"'
        properties = ast.args.get("properties")
        if properties is not None:
            for prop in list(properties.expressions):
                if isinstance(prop, exp.SchemaCommentProperty):
                    prepared.post.append(f"COMMENT ON TABLE {duck_table} IS {_sql_literal(_literal_text(prop.this))}")
                    prop.pop()
                elif isinstance(prop, _DROPPED_PROPERTIES):
                    prop.pop()
            if not properties.expressions:
                properties.pop()
        schema_node = ast.this if isinstance(ast.this, exp.Schema) else None
        if schema_node is None:
            return
        for column in schema_node.expressions:
            if not isinstance(column, exp.ColumnDef):
                continue
            for constraint in list(column.constraints):
                kind = constraint.args.get("kind")
                if isinstance(kind, exp.CommentColumnConstraint):
                    prepared.post.append(
                        f'COMMENT ON COLUMN {duck_table}."{column.name}" IS {_sql_literal(_literal_text(kind.this))}'
                    )
                    constraint.pop()
                elif isinstance(kind, exp.GeneratedAsIdentityColumnConstraint):
                    sequence = f'"{_duck_schema(name.catalog, name.schema)}"."{name.table}__{column.name}__identity"'
                    start = kind.args.get("start")
                    step = kind.args.get("increment")
                    options = ""
                    if start is not None:
                        options += f" START {int(start.name)}"
                    if step is not None:
                        options += f" INCREMENT {int(step.name)}"
                    prepared.pre.append(f"CREATE SEQUENCE IF NOT EXISTS {sequence}{options}")
                    default = exp.DefaultColumnConstraint(this=exp.func("nextval", exp.Literal.string(sequence)))
                    constraint.set("kind", default)

    # -- execution ----------------------------------------------------------------------------
    def _table_exists(self, conn: duckdb.DuckDBPyConnection, name: _Name) -> bool:
        row = conn.execute(
            "SELECT 1 FROM duckdb_tables() WHERE schema_name = $s AND table_name = $t",
            {"s": _duck_schema(name.catalog, name.schema), "t": name.table},
        ).fetchone()
        return row is not None

    def _run(self, conn: duckdb.DuckDBPyConnection, prepared: _Prepared, row_limit: int | None) -> StatementResult:
        conn.execute("BEGIN TRANSACTION")
        try:
            existed = prepared.created is not None and self._table_exists(conn, prepared.created)
            for sql in prepared.pre:
                conn.execute(sql)
            cursor = conn.execute(prepared.sql, prepared.binds) if prepared.binds else conn.execute(prepared.sql)
            description = cursor.description or []
            rows = cursor.fetchall() if description else []
            if prepared.created is not None and not (existed and prepared.create_if_not_exists):
                for sql in prepared.post:
                    conn.execute(sql)
            conn.execute("COMMIT")
        except duckdb.Error as exc:
            try:
                conn.execute("ROLLBACK")
            except duckdb.Error:
                pass
            raise self._translate(conn, exc, prepared) from None
        return self._shape(prepared.kind, description, rows, row_limit)

    def _command(self, conn: duckdb.DuckDBPyConnection, ast: exp.Command) -> StatementResult:
        """Statements sqlglot keeps as opaque commands; only CREATE CATALOG is understood."""
        text = f"{ast.this} {ast.expression.name if isinstance(ast.expression, exp.Expression) else ast.expression}"
        match = re.fullmatch(
            r"\s*CREATE\s+CATALOG\s+(IF\s+NOT\s+EXISTS\s+)?`?([A-Za-z0-9_]+)`?\s*", text, re.IGNORECASE
        )
        if not match:
            raise StatementFailed(
                f"[UNSUPPORTED_FEATURE] The sandbox warehouse does not run `{ast.this} ...` statements. SQLSTATE: 0A000",
                sql_state="0A000",
            )
        name = match.group(2)
        if self._catalog_exists(conn, name):
            if match.group(1):
                return StatementResult()
            raise StatementFailed(
                f"[CATALOG_ALREADY_EXISTS] Cannot create catalog `{name}` because it already exists. SQLSTATE: 42000",
                sql_state="42000",
            )
        conn.execute(f'INSERT INTO "{_META_SCHEMA}".catalogs VALUES ($n)', {"n": name})
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{_duck_schema(name, DEFAULT_SCHEMA)}"')
        return StatementResult()

    def _translate(self, conn: duckdb.DuckDBPyConnection, exc: duckdb.Error, prepared: _Prepared) -> StatementFailed:
        message = str(exc)
        if isinstance(exc, duckdb.CatalogException):
            missing_schema = re.search(r'Schema with name "?([^"!]+?)"? does not exist', message)
            if missing_schema and prepared.kind == "ddl":
                catalog, _, schema = missing_schema.group(1).partition(".")
                if not self._catalog_exists(conn, catalog):
                    return _catalog_not_found(catalog)
                return StatementFailed(
                    f"[SCHEMA_NOT_FOUND] The schema `{catalog}`.`{schema}` cannot be found. Verify the spelling "
                    "and correctness of the schema and catalog. If you did not qualify the name with a catalog, "
                    "verify the current_schema() output, or qualify the name with the correct catalog. To tolerate "
                    "the error on drop use DROP SCHEMA IF EXISTS. SQLSTATE: 42704",
                    sql_state="42704",
                )
            missing = re.search(r'Table with name "?([^"!]+?)"? does not exist', message)
            if missing or missing_schema:
                name = self._missing_table(conn, prepared, missing.group(1) if missing else None)
                shown = name.quoted if name else "`" + (missing.group(1) if missing else "?") + "`"
                return StatementFailed(
                    f"[TABLE_OR_VIEW_NOT_FOUND] The table or view {shown} cannot be found. Verify the spelling and "
                    "correctness of the schema and catalog. If you did not qualify the name with a schema, verify "
                    "the current_schema() output, or qualify the name with the correct schema and catalog. To "
                    "tolerate the error on drop use DROP VIEW IF EXISTS or DROP TABLE IF EXISTS. SQLSTATE: 42P01",
                    sql_state="42P01",
                )
        return sql_builtins.unresolved_routine(message) or StatementFailed(message)

    def _missing_table(self, conn: duckdb.DuckDBPyConnection, prepared: _Prepared, hint: str | None) -> _Name | None:
        for name in prepared.tables:
            if hint is None or hint.split(".")[-1] == name.table:
                if not self._table_exists(conn, name):
                    return name
        return None

    # -- results ------------------------------------------------------------------------------
    def _shape(
        self, kind: str, description: list[Any], rows: list[tuple[Any, ...]], row_limit: int | None
    ) -> StatementResult:
        if kind == "ddl":
            return StatementResult()
        if kind in ("merge", "insert", "update", "delete"):
            return self._dml_counts(kind, rows)
        columns = [_column_info(i, d[0], d[1]) for i, d in enumerate(description)]
        if row_limit is not None:
            rows = rows[:row_limit]
        return StatementResult(columns=columns, rows=[[render_value(v) for v in row] for row in rows])

    @staticmethod
    def _dml_counts(kind: str, rows: list[tuple[Any, ...]]) -> StatementResult:
        if kind == "merge":
            actions = [str(r[0]).upper() for r in rows]
            counts = {
                "num_affected_rows": len(actions),
                "num_updated_rows": actions.count("UPDATE"),
                "num_deleted_rows": actions.count("DELETE"),
                "num_inserted_rows": actions.count("INSERT"),
            }
        else:
            total = int(rows[0][0]) if rows else 0
            counts = {"num_affected_rows": total}
            if kind == "insert":
                counts["num_inserted_rows"] = total
        columns = [
            {"name": name, "type_name": "LONG", "type_text": "BIGINT", "position": i} for i, name in enumerate(counts)
        ]
        return StatementResult(columns=columns, rows=[[str(v) for v in counts.values()]])


def _literal_text(node: exp.Expression) -> str:
    """A string literal's text; Spark SQL reads adjacent literals ('a' 'b', 'it''s') as one."""
    if isinstance(node, exp.Literal):
        return str(node.this)
    if isinstance(node, (exp.Concat, exp.DPipe)):
        parts = node.expressions if isinstance(node, exp.Concat) else [node.this, node.expression]
        return "".join(_literal_text(p) for p in parts)
    raise StatementFailed(
        f"[PARSE_SYNTAX_ERROR] Expected a string literal, found {node.sql('databricks')}. SQLSTATE: 42601"
    )


def _catalog_not_found(name: str) -> StatementFailed:
    return StatementFailed(
        f"[CATALOG_NOT_FOUND] The catalog `{name}` cannot be found. Verify the spelling and correctness of the "
        "catalog. SQLSTATE: 42P08",
        sql_state="42P08",
    )


def _column_info(position: int, name: str, duck_type: Any) -> dict[str, Any]:
    text = str(duck_type)
    info: dict[str, Any] = {"name": name, "position": position}
    if text.strip('"').upper() == "NULL":
        info.update(type_name="NULL", type_text="VOID")
        return info
    try:
        data_type = exp.DataType.build(text, dialect="duckdb")
    except (SqlglotError, ValueError):
        info.update(type_name="USER_DEFINED_TYPE", type_text=text.upper())
        return info
    info["type_name"] = _TYPE_NAMES.get(data_type.this, "USER_DEFINED_TYPE")
    type_text = data_type.sql("databricks")
    info["type_text"] = type_text.replace(", ", ",") if data_type.this is exp.DataType.Type.DECIMAL else type_text
    if data_type.this is exp.DataType.Type.DECIMAL and data_type.expressions:
        info["type_precision"] = int(data_type.expressions[0].name)
        if len(data_type.expressions) > 1:
            info["type_scale"] = int(data_type.expressions[1].name)
    return info


def _json_value(value: Any) -> Any:
    """A nested value as JSON (complex types render as JSON text in JSON_ARRAY results)."""
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return render_value(value)


def render_value(value: Any) -> str | None:
    """One value in JSON_ARRAY format: always a string, NULL as None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            utc: dt.datetime = value.astimezone(dt.UTC).replace(tzinfo=None)
            return utc.isoformat(timespec="milliseconds") + "Z"
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(_json_value(value), separators=(",", ":"), ensure_ascii=False)
    return str(value)


# One engine per database file in this process, so several sandbox apps on the same state (e.g.
# successive CLI runs in one test) share a connection instead of fighting over DuckDB's lock. Weak
# values: an engine closes when the last app using it is gone.
_ENGINES: weakref.WeakValueDictionary[str, SqlEngine] = weakref.WeakValueDictionary()
_ENGINES_LOCK = threading.Lock()


def engine_for(state_path: str) -> SqlEngine:
    """The engine of a sandbox state: a DuckDB file next to the SQLite state file."""
    path = ":memory:" if state_path == ":memory:" else str(Path(state_path).with_suffix(".duckdb").resolve())
    with _ENGINES_LOCK:
        if path == ":memory:":
            return SqlEngine(path)
        engine = _ENGINES.get(path)
        if engine is None:
            engine = SqlEngine(path)
            _ENGINES[path] = engine
        return engine
