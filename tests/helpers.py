"""Test helpers: run the CLI in-process and write spec projects, alone or on a sandbox target."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from reconciler.cli import cli

REPO = Path(__file__).resolve().parent.parent


def run(*args: str | Path, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], input=input, catch_exceptions=False)


def inject_fault(server: Any, **fault: object) -> None:
    """Queue a targeted fault in the sandbox's injector (`POST /sandbox/faults`; see
    reconciler/sandbox/faults.py for the fields)."""
    import requests

    requests.post(server.url + "/sandbox/faults", json=fault, timeout=5).raise_for_status()


def ledger_entries(
    server: Any,
    kind: str = "QualityMonitor",
    path: str = "/Shared/.reconciler/test/ws/ledger.json",
    token: str = "dapi-test",
) -> dict[str, dict[str, Any]]:
    """The kind's entries in a monitor ledger in the sandbox workspace ({} when there is none),
    read over the Workspace API's export as any client would."""
    import requests

    answer = requests.get(
        server.url + "/api/2.0/workspace/export",
        params={"path": path, "direct_download": "true"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    if answer.status_code == 404:
        return {}
    answer.raise_for_status()
    return dict(json.loads(answer.content)["objects"].get(kind, {}))


def import_hints(output: str) -> list[str]:
    """The `reconciler import ...` commands an error message tells the user to run."""
    return re.findall(r"`(reconciler import [^`]*)`", output)


def run_printed(command: str) -> Result:
    """Run a command exactly as reconciler printed it, split the way a POSIX shell would."""
    program, *args = shlex.split(command)
    assert program == "reconciler", command
    return run(*args)


@dataclass
class Project:
    """A spec directory in a temp folder, on the built-in local target."""

    root: Path

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    def remove(self, name: str) -> None:
        (self.root / name).unlink()

    def cli(self, command: str, *args: str | Path, input: str | None = None) -> Result:
        return run(command, self.root, *args, input=input)

    def plan_json(self, *args: str) -> dict[str, Any]:
        result = self.cli("plan", "--format", "json", *args)
        assert result.exit_code in (0, 2), result.output
        return json.loads(result.stdout)

    @property
    def policy_db(self) -> Path:
        return self.root / ".reconciler" / "local" / "policies.db"

    def rows(self) -> list[dict[str, Any]]:
        if not self.policy_db.exists():
            return []
        with sqlite3.connect(self.policy_db) as conn:
            conn.row_factory = sqlite3.Row
            # The file may hold only the apply lock's table (an apply that changed nothing).
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'query_sla_policies'").fetchone():
                return []
            return [dict(r) for r in conn.execute("SELECT * FROM query_sla_policies ORDER BY policy_id")]

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> None:
        with sqlite3.connect(self.policy_db) as conn:
            conn.execute(statement, params)


def copy_examples(dest: Path) -> Path:
    target = dest / "specs"
    shutil.copytree(REPO / "specs", target, ignore=shutil.ignore_patterns(".reconciler"))
    return target


def policy(name: str, warehouses: list[str], sla: int = 300, mode: str | None = None, extra: str = "") -> str:
    lines = [
        "apiVersion: reconciler/v1",
        "kind: SlaPolicy",
        "metadata:",
        f"  name: {name}",
        "spec:",
        f"  warehouse_ids: {json.dumps(warehouses)}",
        f"  sla_seconds: {sla}",
    ]
    if mode:
        lines.append(f"  policy_mode: {mode}")
    if extra:
        lines += ["  " + line for line in textwrap.dedent(extra).strip().splitlines()]
    return "\n".join(lines) + "\n"


FAST_RETRIES = "{max_attempts: 4, initial_backoff_seconds: 0.01, max_backoff_seconds: 0.05}"
DATABRICKS_TOKEN = "dapi-test"


@dataclass
class SandboxTarget:
    """A spec project whose one target reaches a sandbox server through the real clients: what
    the retry, fault, kill, concurrency and secrets tests start from."""

    project: Project
    server: Any  # SandboxServer

    @property
    def env(self) -> dict[str, str]:
        """The environment of a CLI run in a process of its own: this one's (with the tokens),
        this checkout importable."""
        return {**os.environ, "PYTHONPATH": str(REPO)}

    def cli_process(self, *args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """`python -m reconciler ARGS` in its own process (real stdout/stderr, killable)."""
        return subprocess.run(
            [sys.executable, "-m", "reconciler", *map(str, args)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def start_sandbox_target(
    stack: ExitStack,
    project: Project,
    tmp_path: Path,
    monkeypatch: Any,
    *,
    name: str = "ws",
    databricks: str | None = "retry_timeout_seconds: 5",
    userinfo: str | None = None,
    profile: str | None = None,
    grafana: bool = False,
    policy_store: bool = False,
    retries: str | None = FAST_RETRIES,
    extra: str = "",
    tables: Sequence[str] = (),
    columns: Sequence[str] = ("id", "region"),
    faults: Any = None,
    sandbox_token: str | None = None,
    databricks_token: str | None = DATABRICKS_TOKEN,
    grafana_token: str | None = None,
) -> SandboxTarget:
    """Start a sandbox (closed with `stack`) and point the project's target `name` at it.

    `databricks`: the target's Databricks settings besides the host (None: no Databricks);
    `userinfo`: `user:password` put in the host URL; `profile`: host and token from a config
    profile of that name (DATABRICKS_CONFIG_FILE) instead; `grafana`: the Grafana URL too;
    `policy_store`: SLA policies in the sandbox's Databricks SQL table; `retries`: the target's
    retry bounds (fast by default); `extra`: more target settings, one a line; `tables`: Unity
    Catalog tables seeded with `columns` (id bigint, the others strings) and their schemas;
    `faults`: the injector's FaultSettings; the tokens are exported for the clients."""
    from grafana_helpers import TOKEN as GRAFANA_TOKEN
    from policy_stores import DBX_TABLE, DBX_WAREHOUSE, DatabricksTable

    from reconciler.sandbox import SandboxServer, SandboxSettings
    from reconciler.sandbox.faults import FaultSettings

    seed = None
    if tables:
        schemas = {t.rsplit(".", 1)[0] for t in tables} | {"main.monitoring", "main.sla_monitoring"}
        types = [{"name": c, "type": "bigint" if c == "id" else "string"} for c in columns]
        seed = tmp_path / f"{name}-seed.yaml"
        seed.write_text(
            yaml.safe_dump(
                {"schemas": sorted(schemas), "tables": [{"full_name": t, "columns": types} for t in tables]}
            ),
            encoding="utf-8",
        )
    settings = SandboxSettings(seed_path=seed, faults=faults or FaultSettings(), token=sandbox_token)
    server = stack.enter_context(SandboxServer(tmp_path / f"{name}-sandbox.db", settings))
    lines = ["project: test", f"default_target: {name}", "targets:", f"  {name}:"]
    if databricks is not None:
        more = ", " + databricks if databricks else ""
        if profile is not None:
            # The workspace and token from a Databricks config profile instead of the environment.
            config_file = tmp_path / f"{name}-databrickscfg"
            config_file.write_text(f"[{profile}]\nhost = {server.url}\ntoken = {databricks_token}\n", encoding="utf-8")
            monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(config_file))
            lines.append(f"    databricks: {{profile: {profile}{more}}}")
        else:
            host = server.url.replace("://", f"://{userinfo}@") if userinfo else server.url
            lines.append(f'    databricks: {{host: "{host}"{more}}}')
            if databricks_token is not None:
                monkeypatch.setenv("DATABRICKS_TOKEN", databricks_token)
    if grafana:
        lines.append(f"    grafana: {{url: {server.url}}}")
        monkeypatch.setenv("GRAFANA_TOKEN", grafana_token or GRAFANA_TOKEN)
    if policy_store:
        lines.append(f"    policy_store: {{type: databricks, table: {DBX_TABLE}, warehouse_id: {DBX_WAREHOUSE}}}")
        DatabricksTable(server).query("CREATE SCHEMA IF NOT EXISTS main.sla_monitoring")
    if retries is not None:
        lines.append(f"    retries: {retries}")
    lines += [f"    {line}" for line in textwrap.dedent(extra).strip().splitlines()]
    project.write("reconciler.yaml", "\n".join(lines) + "\n")
    return SandboxTarget(project, server)
