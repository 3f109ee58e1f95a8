"""Shared fixtures: a sandbox on 127.0.0.1 and an environment free of the developer's own
Databricks/Grafana settings."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from reconciler.sandbox import SandboxServer, SandboxSettings

if TYPE_CHECKING:
    from grafana_helpers import GrafanaProject
    from helpers import Project, SandboxTarget
    from pg_server import PostgresServer


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("DATABRICKS_", "GRAFANA_")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path / "sandbox.db", SandboxSettings()) as server:
        yield server


@pytest.fixture
def project(tmp_path: Path) -> Project:
    from helpers import Project

    root = tmp_path / "specs"
    root.mkdir()
    (root / "reconciler.yaml").write_text("project: test\n", encoding="utf-8")
    return Project(root)


@pytest.fixture
def sandbox_target(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., SandboxTarget]]:
    """The one set-up of the retry, fault, kill, concurrency and secrets tests: call it with the
    options of `helpers.start_sandbox_target` to get the project on a target reaching a fresh
    sandbox; the sandbox stops with the test."""
    from helpers import start_sandbox_target

    with ExitStack() as stack:
        yield functools.partial(start_sandbox_target, stack, project, tmp_path, monkeypatch)


@pytest.fixture
def grafana_sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    from grafana_helpers import TOKEN as GRAFANA_TOKEN

    with SandboxServer(tmp_path / "grafana.db", SandboxSettings(token=GRAFANA_TOKEN)) as server:
        yield server


@pytest.fixture
def gp(project: Project, grafana_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> GrafanaProject:
    from grafana_helpers import TOKEN as GRAFANA_TOKEN
    from grafana_helpers import GrafanaProject

    monkeypatch.setenv("GRAFANA_TOKEN", GRAFANA_TOKEN)
    project.write(
        "reconciler.yaml",
        f"project: test\ndefault_target: grafana\ntargets:\n  grafana:\n    grafana:\n      url: {grafana_sandbox.url}\n",
    )
    return GrafanaProject(project, grafana_sandbox)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole session (tests/pg_server.py). Skipped, with the
    reason in pytest's summary, only where no server can be installed; `.ci/run` installs one
    and sets RECONCILER_REQUIRE_POSTGRES=1, which turns a missing server into a failure."""
    from pg_server import PostgresServer, PostgresUnavailable, server_binaries

    try:
        import psycopg  # noqa: F401

        server = PostgresServer(server_binaries())
    except (ImportError, PostgresUnavailable) as exc:
        if os.environ.get("RECONCILER_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here (RECONCILER_REQUIRE_POSTGRES=1) but unavailable: {exc}")
        pytest.skip(f"PostgreSQL tests skipped: no PostgreSQL server or driver on this machine ({exc})")
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()
