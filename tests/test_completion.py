"""`reconciler completion bash|zsh|fish` prints a script that completes commands and options,
through click's completion protocol (the script calls `reconciler` back with
`_RECONCILER_COMPLETE` set), as `kubectl completion` and `databricks completion` do."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from reconciler.cli import cli


@pytest.mark.parametrize(("shell", "marker"), [("bash", "complete -o"), ("zsh", "compdef"), ("fish", "complete")])
def test_each_shell_gets_its_script(shell: str, marker: str) -> None:
    result = CliRunner().invoke(cli, ["completion", shell])
    assert result.exit_code == 0, result.output
    assert "_RECONCILER_COMPLETE" in result.output and marker in result.output


def test_an_unknown_shell_is_a_usage_error_exit_1() -> None:
    result = CliRunner().invoke(cli, ["completion", "tcsh"])
    assert result.exit_code == 1


def _complete(words: str) -> list[str]:
    """Ask the installed `reconciler` what bash would offer after `words`, the way the script does."""
    exe = shutil.which("reconciler") or os.path.join(os.path.dirname(sys.executable), "reconciler")
    env = {
        **os.environ,
        "_RECONCILER_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    }
    out = subprocess.run([exe], env=env, capture_output=True, text=True, timeout=60, check=True).stdout
    return [line.split(",", 1)[1] for line in out.splitlines() if "," in line]


def test_a_command_prefix_completes_to_the_command() -> None:
    assert _complete("reconciler pl") == ["plan"]


def test_options_of_a_command_complete() -> None:
    assert "--allow-destructive" in _complete("reconciler apply --allow")
