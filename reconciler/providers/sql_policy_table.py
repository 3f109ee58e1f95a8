"""The `query_sla_policies` table as a SQLAlchemy Core `Table`, and the statements the SQL store runs.

Defined once here for every SQL database: SQLAlchemy renders the DDL, quotes the identifiers and
binds every value as a parameter for each dialect. Only the upsert differs by dialect:
`INSERT ... ON CONFLICT (policy_hash) DO UPDATE ... WHERE managed_by = :owner` on PostgreSQL and
SQLite, `INSERT ... ON DUPLICATE KEY UPDATE` with every assignment guarded by the owner on
MySQL/MariaDB, and elsewhere an UPDATE guarded by the owner followed, when it matched nothing, by
an INSERT of a row that does not exist yet (same transaction; the unique policy_hash makes a
racing insert fail rather than overwrite).

Column types follow the framework's table: lists are JSON text (what the framework's SQLite table
holds; hand-written comma-separated text is read too), `applied_at` a timestamp with time zone
(ISO-8601 text on SQLite, which has no such type).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Executable,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateColumn
from sqlalchemy.types import TypeDecorator, TypeEngine

from .policy_rows import COLUMNS, OWNERSHIP_COLUMNS, TABLE_COMMENT, decode_list

FRAMEWORK_COLUMNS = tuple(c for c in COLUMNS if c not in OWNERSHIP_COLUMNS)
WRITTEN = tuple(c for c in COLUMNS if c != "policy_id")


class JsonList(TypeDecorator[list[str]]):
    """A list of strings stored as JSON text; read back leniently (`policy_rows.decode_list`)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(list(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> list[str]:
        return decode_list(value)


class IsoTimestamp(TypeDecorator[str]):
    """A timestamp with time zone, exchanged as ISO-8601 text (TEXT on SQLite, which has no
    timestamp type; what the framework's SQLite table holds)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(Text() if dialect.name == "sqlite" else DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name == "sqlite":
            return value
        return datetime.fromisoformat(value) if isinstance(value, str) else value

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if isinstance(value, datetime):
            stamp = value if value.tzinfo else value.replace(tzinfo=UTC)
            return stamp.astimezone(UTC).isoformat()
        return None if value is None else str(value)


def policy_table(name: str, schema: str | None = None) -> Table:
    """The table, bound to its own MetaData (one per store: the name and schema come from the target)."""
    return Table(
        name,
        MetaData(),
        # INTEGER PRIMARY KEY on SQLite (the rowid, AUTOINCREMENT), BIGSERIAL/identity elsewhere.
        Column("policy_id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
        Column("policy_hash", String(255), nullable=False, unique=True),
        Column("warehouse_ids", JsonList(), nullable=False),
        Column("sla_seconds", Integer(), nullable=False),
        Column("query_statuses", JsonList(), nullable=False),
        Column("policy_mode", String(32), nullable=False),
        Column("managed_by", String(255), nullable=True),
        Column("spec_name", String(255), nullable=True),
        Column("prevent_destroy", Boolean(create_constraint=False), nullable=True),
        Column("applied_at", IsoTimestamp(), nullable=True),
        Column("applied_digest", String(80), nullable=True),
        schema=schema,
        comment=TABLE_COMMENT,
        sqlite_autoincrement=True,
    )


def select_rows(table: Table, columns: tuple[str, ...] = COLUMNS) -> Executable:
    """The one read: the whole table (it is small, one row per warehouse set)."""
    return select(*(table.c[c] for c in columns)).order_by(table.c.policy_id)


#: Rows per batched statement: 11 parameters a row stays below SQLite's 32,766 and PostgreSQL's
#: 65,535 bound parameters.
BATCH_ROWS = 1000


def upsert_many(table: Table, rows: list[dict[str, Any]], dialect: Dialect) -> Executable | None:
    """One INSERT ... ON CONFLICT DO UPDATE of many rows that RETURNs the policy_hash of each row
    written (a row another owner has is left alone, and not returned); None on dialects without
    it (the rows are then written one `upsert` at a time, in the same transaction)."""
    if dialect.name not in ("postgresql", "sqlite"):
        return None
    dialect_insert: Any
    if dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = dialect_insert(table).values([{c: row[c] for c in WRITTEN} for row in rows])
    upserted: Executable = stmt.on_conflict_do_update(
        index_elements=[table.c.policy_hash],
        set_={c: stmt.excluded[c] for c in WRITTEN if c != "policy_hash"},
        # The row's own owner (the one being written) must be the one it has.
        where=table.c.managed_by == stmt.excluded.managed_by,
    ).returning(table.c.policy_hash)
    return upserted


def delete_many(table: Table, policy_hashes: list[str], owner: str, dialect: Dialect) -> Executable:
    """One DELETE of the owner's rows among `policy_hashes` (RETURNING them where the dialect can)."""
    stmt = delete(table).where(and_(table.c.policy_hash.in_(policy_hashes), table.c.managed_by == owner))
    return stmt.returning(table.c.policy_hash) if dialect.name in ("postgresql", "sqlite") else stmt


def upsert(table: Table, values: dict[str, Any], dialect: Dialect) -> list[Executable]:
    """The statements of one create/update; the rows they touch are the rows written (0: the row
    exists and another owner has it). More than one statement only on dialects without an upsert."""
    row = {c: values[c] for c in WRITTEN}
    owner = row["managed_by"]
    if dialect.name in ("postgresql", "sqlite"):
        dialect_insert: Any
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        stmt = dialect_insert(table).values(**row)
        # RETURNING counts the rows written exactly (drivers report -1 for some INSERTs).
        return [
            stmt.on_conflict_do_update(
                index_elements=[table.c.policy_hash],
                set_={c: stmt.excluded[c] for c in WRITTEN if c != "policy_hash"},
                where=table.c.managed_by == owner,
            ).returning(table.c.policy_hash)
        ]
    if dialect.name in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        stmt = mysql_insert(table).values(**row)
        # Every assignment keeps the old value unless the row is ours; managed_by goes last, so the
        # guard reads the row's original owner in each one (MySQL assigns left to right).
        guarded = [c for c in WRITTEN if c not in ("policy_hash", "managed_by")] + ["managed_by"]
        return [
            stmt.on_duplicate_key_update(
                [(c, func.if_(table.c.managed_by == owner, stmt.inserted[c], table.c[c])) for c in guarded]
            )
        ]
    return [
        update(table)
        .where(and_(table.c.policy_hash == row["policy_hash"], table.c.managed_by == owner))
        .values(**{c: v for c, v in row.items() if c != "policy_hash"}),
        insert(table).from_select(
            list(WRITTEN),
            select(*(literal(row[c], table.c[c].type) for c in WRITTEN)).where(
                ~select(table.c.policy_id).where(table.c.policy_hash == row["policy_hash"]).exists()
            ),
        ),
    ]


def delete_row(table: Table, policy_hash: str, owner: str) -> Executable:
    return delete(table).where(and_(table.c.policy_hash == policy_hash, table.c.managed_by == owner))


def adopt_row(table: Table, policy_hash: str, owner: str, name: str | None) -> Executable:
    return (
        update(table)
        .where(and_(table.c.policy_hash == policy_hash, table.c.managed_by.is_(None)))
        .values(
            managed_by=owner,
            spec_name=func.coalesce(literal(name, String()), table.c.spec_name, table.c.policy_hash),
        )
    )


def add_column_sql(table: Table, column: str, dialect: Dialect) -> str:
    """`ALTER TABLE <table> ADD COLUMN <column> <type>` in the dialect (identifiers quoted by it).
    SQLAlchemy Core has no ALTER construct; the column's definition is its own DDL compiler's."""
    preparer = dialect.identifier_preparer
    definition = CreateColumn(table.c[column]).compile(dialect=dialect)
    return f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {definition}"
