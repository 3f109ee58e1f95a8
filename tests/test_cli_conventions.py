"""CLI conventions CI jobs rely on: exit codes (usage errors are never 2, the "changes/drift"
code), closed output pipes, `--wait` outcomes in JSON, exit codes in every `--help`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from helpers import Project, policy, run
from test_quality_monitors import Monitors, monitor_doc

from reconciler.cli import cli
from reconciler.sandbox import SandboxServer, SandboxSettings

USAGE_ERRORS = [
    ["drift", "specs", "--nope"],
    ["plan", "--format", "xml"],
    ["apply", "--wait-timeout", "soon"],
    ["import", "SlaPolicy"],
    ["sandbox", "serve", "--port", "eighty"],
    ["sandbox", "nope"],
    ["nope"],
    ["--nope"],
]


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=[" ".join(a) for a in USAGE_ERRORS])
def test_usage_errors_exit_1_never_2(args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert "Error:" in result.stderr and "Traceback" not in result.output


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            out += _commands(command, prefix + (name,))
        else:
            out.append(prefix + (name,))
    return out


@pytest.mark.parametrize("command", _commands(cli), ids=lambda c: " ".join(c) or "reconciler")
def test_every_help_lists_the_exit_codes(command: tuple[str, ...]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    help_text = result.output.split("Exit codes:", 1)
    assert len(help_text) == 2, result.output
    assert "  0  " in help_text[1] and "  1  " in help_text[1] and "usage error" in help_text[1]


def test_drift_and_detailed_plan_help_document_code_2() -> None:
    assert "  2  drift found" in run("drift", "--help").output
    assert "  2  changes pending" in run("plan", "--help").output


def test_a_closed_output_pipe_is_not_an_error(project: Project) -> None:
    """`reconciler plan | head -1` under `set -o pipefail`: the reader went away; the command still
    finishes and exits with its own code (2 = changes pending here), saying nothing on stderr."""
    for i in range(50):
        project.write(f"p{i}.yaml", policy(f"p{i}", [f"wh-{i}"]))
    env = {**os.environ, "COLUMNS": "100"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "plan", str(project.root), "--detailed-exitcode"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before it wrote anything: every write meets a closed pipe
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 2, stderr
    assert stderr == ""
    shell = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"{sys.executable} -m reconciler plan {project.root} | head -1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert shell.returncode == 0 and shell.stderr == "", shell.stderr
    assert len(shell.stdout.splitlines()) == 1


def test_a_wait_that_times_out_is_not_ok_in_json(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SandboxServer(tmp_path / "ws.db", SandboxSettings(monitor_active_delay_seconds=60)) as server:
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-test")
        mon = Monitors(project, server)
        mon.write(monitor_doc())
        result = mon.cli("apply", "--auto-approve", "--wait", "--wait-timeout", "0.2", "--format", "json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["apply"]["ok"] is False
    assert report["apply"]["results"][0]["status"] == "succeeded"  # the apply itself went through
    assert report["apply"]["wait"]["ok"] is False and "timed out" in report["apply"]["wait"]["error"]
    assert "--wait failed: timed out" in result.stderr
