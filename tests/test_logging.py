"""`--verbose` / `--debug` / `RECONCILER_LOG`: the HTTP calls and SQL statements made, on stderr,
secrets redacted."""

from __future__ import annotations

import pytest
from grafana_helpers import TOKEN, GrafanaProject, folder_doc
from helpers import Project, policy, run

from reconciler.logs import redact


def test_verbose_shows_sql_statements(project: Project) -> None:
    project.write("p.yaml", policy("a", ["w1"]))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    result = run("--verbose", "plan", project.root)
    assert result.exit_code == 0, result.output
    assert "sqlalchemy.engine" in result.stderr and "SELECT" in result.stderr and "query_sla_policies" in result.stderr
    quiet = run("plan", project.root)
    assert "sqlalchemy" not in quiet.stderr  # off by default


def test_debug_shows_http_calls_without_the_token(gp: GrafanaProject, monkeypatch: pytest.MonkeyPatch) -> None:
    gp.write("folders.yaml", folder_doc())
    monkeypatch.setenv("RECONCILER_LOG", "debug")
    result = gp.cli("plan")
    assert result.exit_code == 0, result.output
    assert '"GET /api/folders' in result.stderr, result.stderr[-2000:]
    assert TOKEN not in result.stderr and TOKEN not in result.stdout


def test_bad_log_level_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_LOG", "loud")
    result = run("fields", "SlaPolicy")
    assert result.exit_code == 1 and "RECONCILER_LOG='loud'" in result.stderr


def test_redaction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "canary-0123456789")
    text = redact(
        "headers {'Authorization': 'Bearer abc.def-123456'} url https://user:hunter22@example.com/x token canary-0123456789"
    )
    assert "abc.def-123456" not in text and "hunter22" not in text and "canary-0123456789" not in text
    assert "https://user:(redacted)@example.com/x" in text
