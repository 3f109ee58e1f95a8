"""Emulator of the Unity Catalog table and schema lookups (Databricks REST API 2.1).

Follows the `/api/2.1/unity-catalog/...` paths as databricks-sdk **0.162.0** calls them
(`w.tables.get / exists / list / list_summaries`, `w.schemas.get / list`, `w.catalogs.get /
list`), with response shapes from that SDK's `databricks/sdk/service/catalog.py` dataclasses
(`TableInfo`, `ColumnInfo`, `SchemaInfo`, `CatalogInfo`, `TableSummary`, `TableExistsResponse`,
`ListTablesResponse`, `ListSchemasResponse`, `ListCatalogsResponse`, `ListTableSummariesResponse`).

Lists paginate as Unity Catalog does: without `max_results` everything comes at once; with
`max_results=0` (what the SDK sends) the service picks the page size (`settings.extra
["uc_page_size"]`, default 50); pages carry an opaque `next_page_token` until the last. Catalogs
are those of the seeded schemas and tables.

Why it exists: reconciler checks at plan time that a monitored table exists and which columns it
has, and the monitor emulator validates column references the way the service does. Tables are
declared in a seed (`SandboxSettings.seed_document()`: an embedded target's `sandbox_seed`, a
`--seed` file, else `seed.yaml` next to this module)
and are read-only through the API, as far as reconciler is concerned. Metric tables that monitors
produce are added by the monitor emulator through `put_table`.

Error answers (404 for a missing object; the SDK raises `databricks.sdk.errors.NotFound`):
- unknown catalog: `CATALOG_DOES_NOT_EXIST`, "Catalog 'c' does not exist."
- unknown table: `TABLE_DOES_NOT_EXIST`, "Table 'c.s.t' does not exist."
- unknown schema: `SCHEMA_DOES_NOT_EXIST`, "Schema 'c.s' does not exist."
- a name that is not three-part: 400 `INVALID_PARAMETER_VALUE`.
Names are case-insensitive and stored lower-case, as Unity Catalog does.

Test control (not part of the real API): `PUT /sandbox/databricks/tables/{full_name}` with
`{"columns": [{"name", "type", "nullable"?}], "comment"?}` adds or replaces a table,
`DELETE /sandbox/databricks/tables/{full_name}` drops one.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid
from typing import Any

from flask import Flask, jsonify, request

from . import dbx_http
from .dbx_http import fail, invalid
from .settings import SandboxSettings
from .state import SandboxState

METASTORE_ID = "5f1c7a1e-0000-4000-8000-00000000a11c"
OWNER = "sandbox-user@example.com"
# Page size when a client asks the service to choose (`max_results=0`, what the SDK sends).
DEFAULT_PAGE_SIZE = 50

DDL = """
CREATE TABLE IF NOT EXISTS dbx_uc_schemas (
    full_name TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dbx_uc_tables (
    full_name TEXT PRIMARY KEY,
    origin TEXT NOT NULL,          -- seed | control | monitor
    doc TEXT NOT NULL              -- TableInfo JSON as the API returns it
);
"""

# SQL type keyword -> (ColumnTypeName, Spark JSON type name)
_SIMPLE_TYPES: dict[str, tuple[str, str]] = {
    "bigint": ("LONG", "long"),
    "long": ("LONG", "long"),
    "int": ("INT", "integer"),
    "integer": ("INT", "integer"),
    "smallint": ("SHORT", "short"),
    "short": ("SHORT", "short"),
    "tinyint": ("BYTE", "byte"),
    "byte": ("BYTE", "byte"),
    "double": ("DOUBLE", "double"),
    "float": ("FLOAT", "float"),
    "real": ("FLOAT", "float"),
    "string": ("STRING", "string"),
    "varchar": ("STRING", "string"),
    "char": ("CHAR", "string"),
    "boolean": ("BOOLEAN", "boolean"),
    "binary": ("BINARY", "binary"),
    "date": ("DATE", "date"),
    "timestamp": ("TIMESTAMP", "timestamp"),
    "timestamp_ntz": ("TIMESTAMP_NTZ", "timestamp_ntz"),
    "variant": ("VARIANT", "variant"),
    "interval": ("INTERVAL", "interval"),
}
_COMPLEX_TYPES = {"array": "ARRAY", "map": "MAP", "struct": "STRUCT"}
_DECIMAL = re.compile(r"^decimal\s*(?:\(\s*(\d+)\s*,\s*(\d+)\s*\))?$")


def normalise_name(name: str) -> str:
    return name.strip().lower()


def split_name(full_name: str, parts: int = 3) -> list[str]:
    pieces = full_name.split(".")
    if len(pieces) != parts or not all(pieces):
        kind = "table" if parts == 3 else "schema"
        shape = "catalog.schema.table" if parts == 3 else "catalog.schema"
        invalid(f"Invalid {kind} name '{full_name}': expected the form {shape}.")
    return pieces


def column_info(name: str, type_text: str, position: int, nullable: bool = True) -> dict[str, Any]:
    """ColumnInfo as Unity Catalog returns it for a column declared as `type_text`."""
    text = type_text.strip().lower()
    info: dict[str, Any] = {"name": name, "type_text": text, "position": position, "nullable": nullable}
    decimal = _DECIMAL.match(text)
    if decimal:
        precision, scale = int(decimal.group(1) or 10), int(decimal.group(2) or 0)
        info.update(type_name="DECIMAL", type_precision=precision, type_scale=scale)
        spark_type: Any = f"decimal({precision},{scale})"
        info["type_text"] = spark_type
    elif text in _SIMPLE_TYPES:
        info["type_name"], spark_type = _SIMPLE_TYPES[text]
        info["type_precision"], info["type_scale"] = 0, 0
    else:
        head = re.split(r"[<(\s]", text, maxsplit=1)[0]
        if head not in _COMPLEX_TYPES:
            raise ValueError(f"unsupported column type {type_text!r} for column {name!r}")
        info["type_name"] = _COMPLEX_TYPES[head]
        info["type_precision"], info["type_scale"] = 0, 0
        spark_type = text  # complex types keep their text; enough for type_json consumers here
    info["type_json"] = json.dumps(
        {"name": name, "type": spark_type, "nullable": nullable, "metadata": {}}, separators=(",", ":")
    )
    return info


def table_info(full_name: str, columns: list[dict[str, Any]], comment: str | None = None) -> dict[str, Any]:
    """TableInfo for a managed Delta table; `columns` items are `{name, type, nullable?}`."""
    catalog, schema, name = full_name.split(".")
    now = int(time.time() * 1000)
    table_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-table:{full_name}"))
    doc: dict[str, Any] = {
        "name": name,
        "catalog_name": catalog,
        "schema_name": schema,
        "full_name": full_name,
        "table_type": "MANAGED",
        "data_source_format": "DELTA",
        "columns": [
            column_info(c["name"], str(c["type"]), i, bool(c.get("nullable", True))) for i, c in enumerate(columns)
        ],
        "storage_location": f"s3://sandbox-metastore/{METASTORE_ID}/tables/{table_id}",
        "owner": OWNER,
        "created_at": now,
        "created_by": OWNER,
        "updated_at": now,
        "updated_by": OWNER,
        "table_id": table_id,
        "metastore_id": METASTORE_ID,
        "properties": {"delta.enableChangeDataFeed": "true"},
    }
    if comment:
        doc["comment"] = comment
    return doc


# ---- state access (used by the monitor emulator and by tests) ------------------------------------


def get_table(conn: sqlite3.Connection, full_name: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT doc FROM dbx_uc_tables WHERE full_name = ?", (normalise_name(full_name),)).fetchone()
    return None if row is None else json.loads(row["doc"])


def put_table(
    conn: sqlite3.Connection,
    full_name: str,
    columns: list[dict[str, Any]],
    origin: str,
    comment: str | None = None,
) -> dict[str, Any]:
    full_name = normalise_name(full_name)
    doc = table_info(full_name, columns, comment)
    previous = get_table(conn, full_name)
    if previous is not None and origin == "seed":
        doc["created_at"] = previous["created_at"]
    conn.execute(
        "INSERT OR REPLACE INTO dbx_uc_tables (full_name, origin, doc) VALUES (?, ?, ?)",
        (full_name, origin, json.dumps(doc, sort_keys=True)),
    )
    return doc


def drop_table(conn: sqlite3.Connection, full_name: str) -> bool:
    cur = conn.execute("DELETE FROM dbx_uc_tables WHERE full_name = ?", (normalise_name(full_name),))
    return cur.rowcount > 0


def schema_exists(conn: sqlite3.Connection, full_name: str) -> bool:
    name = normalise_name(full_name)
    if conn.execute("SELECT 1 FROM dbx_uc_schemas WHERE full_name = ?", (name,)).fetchone():
        return True
    return (
        conn.execute(
            "SELECT 1 FROM dbx_uc_tables WHERE full_name LIKE ? ESCAPE '\\'",
            (name.replace("_", "\\_").replace("%", "\\%") + ".%",),
        ).fetchone()
        is not None
    )


def require_table(conn: sqlite3.Connection, full_name: str) -> dict[str, Any]:
    """The table's TableInfo, or the 404 the service answers for it (schema first, then table)."""
    catalog, schema, _ = split_name(normalise_name(full_name))
    if not schema_exists(conn, f"{catalog}.{schema}"):
        fail(404, "SCHEMA_DOES_NOT_EXIST", f"Schema '{catalog}.{schema}' does not exist.")
    doc = get_table(conn, full_name)
    if doc is None:
        fail(404, "TABLE_DOES_NOT_EXIST", f"Table '{normalise_name(full_name)}' does not exist.")
    return doc


def load_seed(state: SandboxState, seed: dict[str, Any]) -> None:
    with state.connect() as conn:
        for schema in seed.get("schemas", []) or []:
            name = normalise_name(schema)
            conn.execute(
                "INSERT OR IGNORE INTO dbx_uc_schemas (full_name, doc) VALUES (?, ?)",
                (name, json.dumps(_schema_info(name), sort_keys=True)),
            )
        for table in seed.get("tables", []) or []:
            put_table(conn, table["full_name"], table.get("columns", []), "seed", table.get("comment"))


def _schema_info(full_name: str) -> dict[str, Any]:
    catalog, name = full_name.split(".")
    now = int(time.time() * 1000)
    return {
        "name": name,
        "catalog_name": catalog,
        "full_name": full_name,
        "catalog_type": "MANAGED_CATALOG",
        "owner": OWNER,
        "created_at": now,
        "created_by": OWNER,
        "updated_at": now,
        "updated_by": OWNER,
        "metastore_id": METASTORE_ID,
        "schema_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-schema:{full_name}")),
    }


def all_schemas(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """SchemaInfo of every schema: the seeded ones and those holding a table, by full name."""
    docs = {
        row["full_name"]: json.loads(row["doc"]) for row in conn.execute("SELECT full_name, doc FROM dbx_uc_schemas")
    }
    for row in conn.execute("SELECT full_name FROM dbx_uc_tables"):
        schema = row["full_name"].rsplit(".", 1)[0]
        docs.setdefault(schema, _schema_info(schema))
    return [docs[name] for name in sorted(docs)]


def catalog_names(conn: sqlite3.Connection) -> list[str]:
    return sorted({info["catalog_name"] for info in all_schemas(conn)})


def require_catalog(conn: sqlite3.Connection, name: str) -> None:
    if name not in catalog_names(conn):
        fail(404, "CATALOG_DOES_NOT_EXIST", f"Catalog '{name}' does not exist.")


def require_schema(conn: sqlite3.Connection, full_name: str) -> dict[str, Any]:
    """The schema's SchemaInfo, or the 404 the service answers (catalog first, then schema)."""
    catalog, _ = split_name(full_name, parts=2)
    require_catalog(conn, catalog)
    for info in all_schemas(conn):
        if info["full_name"] == full_name:
            return info
    fail(404, "SCHEMA_DOES_NOT_EXIST", f"Schema '{full_name}' does not exist.")


def _catalog_info(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "full_name": name,
        "catalog_type": "MANAGED_CATALOG",
        "isolation_mode": "OPEN",
        "securable_type": "CATALOG",
        "owner": OWNER,
        "created_at": 0,
        "created_by": OWNER,
        "updated_at": 0,
        "updated_by": OWNER,
        "metastore_id": METASTORE_ID,
        "storage_root": f"s3://sandbox-metastore/{METASTORE_ID}/catalogs/{name}",
    }


def _like(pattern: str) -> re.Pattern[str]:
    """A SQL LIKE pattern (`%`, `_`) as a case-insensitive regex, as the summaries API takes it."""
    parts = ("." if ch == "_" else ".*" if ch == "%" else re.escape(ch) for ch in pattern.lower())
    return re.compile("^" + "".join(parts) + "$")


# ---- routes ---------------------------------------------------------------------------------------


def register(app: Flask, state: SandboxState, settings: SandboxSettings) -> None:
    state.init_schema(DDL)
    load_seed(state, settings.seed_document())
    dbx_http.install(app, settings, ("/api/2.1/unity-catalog/",))

    @app.get("/api/2.1/unity-catalog/tables/<full_name>")
    def uc_get_table(full_name: str):  # type: ignore[no-untyped-def]
        with state.connect() as conn:
            return jsonify(require_table(conn, full_name))

    @app.get("/api/2.1/unity-catalog/tables/<full_name>/exists")
    def uc_table_exists(full_name: str):  # type: ignore[no-untyped-def]
        split_name(normalise_name(full_name))
        with state.connect() as conn:
            return jsonify({"table_exists": get_table(conn, full_name) is not None})

    page_size = int(settings.extra.get("uc_page_size", DEFAULT_PAGE_SIZE))  # type: ignore[call-overload]

    def page(items: list[Any]) -> tuple[list[Any], str | None]:
        return dbx_http.paginate(items, dbx_http.int_arg("max_results"), request.args.get("page_token"), page_size)

    @app.get("/api/2.1/unity-catalog/tables")
    def uc_list_tables():  # type: ignore[no-untyped-def]
        catalog = request.args.get("catalog_name")
        schema = request.args.get("schema_name")
        if not catalog or not schema:
            invalid("Missing required field: catalog_name and schema_name.")
        prefix = normalise_name(f"{catalog}.{schema}")
        with state.connect() as conn:
            require_schema(conn, prefix)
            rows = conn.execute("SELECT full_name, doc FROM dbx_uc_tables ORDER BY full_name").fetchall()
        omit_columns = request.args.get("omit_columns") == "true"
        tables = []
        for row in rows:
            if row["full_name"].rsplit(".", 1)[0] != prefix:
                continue
            doc = json.loads(row["doc"])
            if omit_columns:
                doc.pop("columns", None)
            if request.args.get("omit_properties") == "true":
                doc.pop("properties", None)
            tables.append(doc)
        return dbx_http.listing("tables", tables, page(tables))

    @app.get("/api/2.1/unity-catalog/table-summaries")
    def uc_list_table_summaries():  # type: ignore[no-untyped-def]
        catalog = request.args.get("catalog_name")
        if not catalog:
            invalid("Missing required field: catalog_name.")
        catalog = normalise_name(catalog)
        schema_like = _like(request.args.get("schema_name_pattern") or "%")
        table_like = _like(request.args.get("table_name_pattern") or "%")
        with state.connect() as conn:
            require_catalog(conn, catalog)
            rows = conn.execute("SELECT full_name FROM dbx_uc_tables ORDER BY full_name").fetchall()
        summaries = []
        for row in rows:
            cat, sch, tab = row["full_name"].split(".")
            if cat == catalog and schema_like.match(sch) and table_like.match(tab):
                summaries.append({"full_name": row["full_name"], "table_type": "MANAGED"})
        return dbx_http.listing("tables", summaries, page(summaries))

    @app.get("/api/2.1/unity-catalog/schemas")
    def uc_list_schemas():  # type: ignore[no-untyped-def]
        catalog = request.args.get("catalog_name")
        if not catalog:
            invalid("Missing required field: catalog_name.")
        catalog = normalise_name(catalog)
        with state.connect() as conn:
            require_catalog(conn, catalog)
            schemas = [info for info in all_schemas(conn) if info["catalog_name"] == catalog]
        return dbx_http.listing("schemas", schemas, page(schemas))

    @app.get("/api/2.1/unity-catalog/catalogs")
    def uc_list_catalogs():  # type: ignore[no-untyped-def]
        with state.connect() as conn:
            catalogs = [_catalog_info(name) for name in catalog_names(conn)]
        return dbx_http.listing("catalogs", catalogs, page(catalogs))

    @app.get("/api/2.1/unity-catalog/catalogs/<name>")
    def uc_get_catalog(name: str):  # type: ignore[no-untyped-def]
        with state.connect() as conn:
            require_catalog(conn, normalise_name(name))
        return jsonify(_catalog_info(normalise_name(name)))

    @app.get("/api/2.1/unity-catalog/schemas/<full_name>")
    def uc_get_schema(full_name: str):  # type: ignore[no-untyped-def]
        name = normalise_name(full_name)
        with state.connect() as conn:
            return jsonify(require_schema(conn, name))

    # ---- test control ----
    @app.put("/sandbox/databricks/tables/<full_name>")
    def sandbox_put_table(full_name: str):  # type: ignore[no-untyped-def]
        body = dbx_http.json_body()
        split_name(normalise_name(full_name))
        with state.connect() as conn:
            try:
                doc = put_table(conn, full_name, body.get("columns", []), "control", body.get("comment"))
            except ValueError as exc:
                invalid(str(exc))
        return jsonify(doc)

    @app.delete("/sandbox/databricks/tables/<full_name>")
    def sandbox_drop_table(full_name: str):  # type: ignore[no-untyped-def]
        with state.connect() as conn:
            if not drop_table(conn, full_name):
                fail(404, "TABLE_DOES_NOT_EXIST", f"Table '{normalise_name(full_name)}' does not exist.")
        return jsonify({})
