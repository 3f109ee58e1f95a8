"""Test helpers: run the CLI in-process and write spec projects."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sqlite3
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
