"""The SQL store's statements per dialect (pure: compiled, not run). PostgreSQL and SQLite run
them for real in the scenario suite; MySQL/MariaDB and other dialects have no server here, so
their statement shapes are pinned by these tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import mssql, mysql, postgresql, sqlite

from reconciler.providers.sql_policy_table import WRITTEN, add_column_sql, policy_table, upsert

VALUES: dict[str, Any] = {
    "policy_hash": "h",
    "warehouse_ids": ["a"],
    "sla_seconds": 1,
    "query_statuses": ["FAILED"],
    "policy_mode": "ALL",
    "managed_by": "reconciler/test",
    "spec_name": "n",
    "prevent_destroy": False,
    "applied_at": "2026-01-01T00:00:00+00:00",
    "applied_digest": "sha256:0",  # the digest of what was applied (reconciler.last_applied)
}


def _sql(dialect: Any) -> list[str]:
    table = policy_table("query_sla_policies", "sla")
    return [str(s.compile(dialect=dialect)) for s in upsert(table, VALUES, dialect)]


def test_postgresql_and_sqlite_upsert_is_on_conflict_guarded_by_the_owner() -> None:
    for dialect in (postgresql.dialect(), sqlite.dialect()):
        (sql,) = _sql(dialect)
        assert "ON CONFLICT (policy_hash) DO UPDATE SET" in sql
        assert "WHERE sla.query_sla_policies.managed_by = " in sql and "RETURNING" in sql
        assert "reconciler/test" not in sql  # values are bound, never pasted


def test_mysql_upsert_guards_every_assignment_and_sets_the_owner_last() -> None:
    (sql,) = _sql(mysql.dialect())
    assert "ON DUPLICATE KEY UPDATE" in sql
    assignments = sql.split("ON DUPLICATE KEY UPDATE", 1)[1]
    # Every written column but the key (policy_hash) is one guarded assignment.
    assert assignments.count("if(sla.query_sla_policies.managed_by = %s") == len(WRITTEN) - 1 == 9
    assert assignments.strip().startswith("warehouse_ids")
    assert assignments.rfind(" managed_by = if(") > assignments.rfind(" applied_at = if(")  # the owner goes last


def test_other_dialects_update_then_insert_what_does_not_exist() -> None:
    update, insert = _sql(mssql.dialect())
    assert update.startswith("UPDATE sla.query_sla_policies SET") and "managed_by = :managed_by_1" in update
    assert insert.startswith("INSERT INTO sla.query_sla_policies") and "WHERE NOT (EXISTS (SELECT" in insert


def test_migration_adds_nullable_columns_in_each_dialect() -> None:
    table = policy_table("query_sla_policies", "sla")
    assert add_column_sql(table, "managed_by", postgresql.dialect()) == (
        "ALTER TABLE sla.query_sla_policies ADD COLUMN managed_by VARCHAR(255)"
    )
    assert add_column_sql(table, "applied_at", postgresql.dialect()).endswith("applied_at TIMESTAMP WITH TIME ZONE")
    assert add_column_sql(table, "applied_at", sqlite.dialect()).endswith("applied_at TEXT")
    assert "NOT NULL" not in add_column_sql(table, "prevent_destroy", mysql.dialect())
