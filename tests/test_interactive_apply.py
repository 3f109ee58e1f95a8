"""An interactive apply (stdin is a terminal) asks before changing anything."""

from __future__ import annotations

import os
import subprocess
import sys

from helpers import Project, policy


def _apply_in_terminal(project: Project, answer: str) -> subprocess.CompletedProcess[str]:
    master, slave = os.openpty()
    try:
        os.write(master, answer.encode() + b"\n")
        return subprocess.run(
            [sys.executable, "-m", "reconciler", "apply", str(project.root), "--no-color"],
            stdin=slave,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.close(master)
        os.close(slave)


def test_anything_but_yes_cancels(project: Project) -> None:
    project.write("p.yaml", policy("a", ["wa"]))
    result = _apply_in_terminal(project, "no")
    assert result.returncode == 1 and "cancelled" in result.stderr
    assert project.rows() == []


def test_yes_applies(project: Project) -> None:
    project.write("p.yaml", policy("a", ["wa"]))
    result = _apply_in_terminal(project, "yes")
    assert result.returncode == 0, result.stderr
    assert "Apply complete" in result.stdout
    assert [r["spec_name"] for r in project.rows()] == ["a"]
