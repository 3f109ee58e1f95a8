"""The SQL policy store's target configuration: SQLAlchemy URLs, relative SQLite paths, the
`sqlite` shorthand, and passwords that never reach output."""

from __future__ import annotations

import sqlite3

import pytest
from helpers import Project, policy
from pg_server import ROLE_PASSWORD, PostgresServer
from policy_stores import postgres_project_file


def test_sql_store_on_a_sqlite_url_relative_to_the_specs(project: Project) -> None:
    project.write(
        "reconciler.yaml",
        "project: test\ntargets:\n  local:\n    embedded: true\n    policy_store:\n"
        "      type: sql\n      url: sqlite:///state/policies.sqlite\n      table: sla_policies\n",
    )
    project.write("p.yaml", policy("a", ["w1"], 60))
    assert project.cli("plan", "--detailed-exitcode").exit_code == 2
    assert not (project.root / "state").exists()  # a plan creates nothing, not even the file
    assert project.cli("apply", "--auto-approve").exit_code == 0
    with sqlite3.connect(project.root / "state" / "policies.sqlite") as conn:
        assert conn.execute("SELECT spec_name, sla_seconds FROM sla_policies").fetchall() == [("a", 60)]
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_sqlite_shorthand_keeps_working(project: Project) -> None:
    project.write(
        "reconciler.yaml",
        "project: test\ntargets:\n  local:\n    embedded: true\n    policy_store:\n      type: sqlite\n      path: db/p.db\n",
    )
    project.write("p.yaml", policy("a", ["w1"], 60))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert (project.root / "db" / "p.db").exists()


def test_a_bad_url_is_a_file_line_error(project: Project) -> None:
    project.write(
        "reconciler.yaml",
        "project: test\ntargets:\n  local:\n    policy_store:\n      type: sql\n      url: not a url\n",
    )
    result = project.cli("validate")
    assert result.exit_code == 1
    assert "reconciler.yaml:6: targets.local.policy_store.url: " in result.stderr, result.stderr


def test_the_password_never_appears_in_errors(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLA_DB_PASSWORD", "s3cret-pw")
    project.write(
        "reconciler.yaml",
        "project: test\ndefault_target: pg\ntargets:\n  pg:\n    policy_store:\n      type: sql\n"
        "      url: postgresql+psycopg://sla:${env:SLA_DB_PASSWORD}@127.0.0.1:1/monitoring\n"
        "      schema: sla\n      connect_timeout_seconds: 2\n",
    )
    project.write("p.yaml", policy("a", ["w1"], 60))
    result = project.cli("plan")
    assert result.exit_code == 1
    assert "s3cret-pw" not in result.output
    assert "postgresql+psycopg://sla:***@127.0.0.1:1/monitoring" in result.output, result.output


def test_password_env_names_a_variable_that_must_be_set(project: Project) -> None:
    project.write(
        "reconciler.yaml",
        "project: test\ndefault_target: pg\ntargets:\n  pg:\n    policy_store:\n      type: sql\n"
        "      url: postgresql+psycopg://sla@127.0.0.1:1/monitoring\n      password_env: NO_SUCH_PW_VAR\n",
    )
    project.write("p.yaml", policy("a", ["w1"], 60))
    result = project.cli("plan")
    assert result.exit_code == 1 and "NO_SUCH_PW_VAR" in result.output


def test_postgres_password_from_password_env_never_shown(
    project: Project, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = postgres_server.new_schema()
    monkeypatch.setenv("SLA_DB_PASSWORD", ROLE_PASSWORD)
    project.write(
        "reconciler.yaml",
        postgres_project_file(postgres_server, schema, "      password_env: SLA_DB_PASSWORD\n"),
    )
    project.write("p.yaml", policy("a", ["w1"], 60))
    applied = project.cli("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    with postgres_server.connect() as conn:
        assert conn.execute(f"SELECT spec_name FROM {schema}.query_sla_policies").fetchall() == [("a",)]
    assert ROLE_PASSWORD not in project.cli("plan", "--format", "json").output

    monkeypatch.setenv("SLA_DB_PASSWORD", "not-the-password")
    refused = project.cli("plan")
    assert refused.exit_code == 1 and "password authentication failed" in refused.output
    assert "not-the-password" not in refused.output
    assert postgres_server.url().replace("sla@", "sla:***@") in refused.output


def test_postgres_schema_must_exist_and_plan_creates_nothing(
    project: Project, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSWORD", ROLE_PASSWORD)
    project.write("reconciler.yaml", postgres_project_file(postgres_server, "no_such_schema"))
    project.write("p.yaml", policy("a", ["w1"], 60))
    plan = project.cli("plan", "--detailed-exitcode")
    assert plan.exit_code == 2 and "does not exist: apply will create it" in plan.output
    failed = project.cli("apply", "--auto-approve")
    assert failed.exit_code == 1 and 'schema "no_such_schema" does not exist' in failed.output, failed.output
