"""`reconciler show PLANFILE` (like `terraform show`): a saved plan in the terminal, Markdown or
JSON, from the file alone; a missing, corrupt or other-version file is one clear error, exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import Project, policy, run


@pytest.fixture
def saved(project: Project, tmp_path: Path) -> Path:
    project.write("p.yaml", policy("a", ["w1"]) + "---\n" + policy("b", ["w2"], sla=600))
    out = tmp_path / "plan.json"
    assert project.cli("plan", "--out", str(out)).exit_code == 0
    return out


def test_show_prints_the_saved_plan_as_plan_did(project: Project, saved: Path) -> None:
    planned = project.cli("plan", "--no-color")
    shown = run("show", saved, "--no-color")
    assert shown.exit_code == 0, shown.output
    assert "\x1b[" not in shown.output
    first, *body = shown.output.splitlines()
    assert first.startswith("reconciler saved plan · target local · 2 to create")
    assert "+ create SlaPolicy/a" in shown.output and "+ create SlaPolicy/b" in shown.output
    # The same operations, field by field, as the plan printed when it was made.
    assert body == planned.output.splitlines()[1 : 1 + len(body)]


def test_show_json_is_the_plan_document_and_markdown_the_comment(saved: Path) -> None:
    as_json = run("show", saved, "--format", "json")
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout) == json.loads(saved.read_text())
    as_markdown = run("show", saved, "--format", "markdown")
    assert as_markdown.exit_code == 0
    assert as_markdown.stdout.startswith("**reconciler saved plan** for target `local`")
    assert "<code>SlaPolicy/a</code>" in as_markdown.stdout


def test_show_needs_no_specs_and_touches_nothing(project: Project, saved: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "copy.json"
    elsewhere.write_text(saved.read_text())
    state = project.root / ".reconciler"
    before = sorted(p.name for p in state.rglob("*")) if state.exists() else []
    assert run("show", elsewhere).exit_code == 0
    assert (sorted(p.name for p in state.rglob("*")) if state.exists() else []) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "plan file not found"),
        ("{not json", "not a reconciler plan: not JSON"),
        ("[1, 2]", "not a reconciler plan: a JSON list, not an object"),
        ('{"format_version": 1}', "not a reconciler plan: missing or malformed field"),
        ('{"format_version": 99, "target": "local"}', "unsupported plan format_version 99 (expected 1)"),
    ],
)
def test_a_missing_corrupt_or_other_version_file_is_one_clear_error(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_text(content)
    result = run("show", path)
    assert result.exit_code == 1
    assert message in result.stderr and str(path) in result.stderr
    assert "Traceback" not in result.output


def test_show_help_lists_its_exit_codes() -> None:
    result = run("show", "--help")
    assert result.exit_code == 0
    assert "Exit codes:" in result.output and "--no-color" in result.output
