"""Saved plans and approval, beyond the scenario suite both stores run (test_policy_store_scenarios)."""

from __future__ import annotations

import json

from helpers import Project, policy


def test_saved_plan_is_stale_when_specs_changed(project: Project, tmp_path) -> None:
    project.write("p.yaml", policy("a", ["wa"], 100))
    planfile = tmp_path / "plan.json"
    project.cli("plan", "--out", planfile)
    project.write("p.yaml", policy("a", ["wa"], 101))
    result = project.cli("apply", "--plan", planfile, "--auto-approve")
    assert result.exit_code == 1 and "specs changed" in result.stderr
    assert project.rows() == []


def test_a_plan_file_that_is_not_a_plan_is_rejected(project: Project, tmp_path) -> None:
    project.write("p.yaml", policy("a", ["wa"]))
    bogus = tmp_path / "bogus.json"
    bogus.write_text(json.dumps({"format_version": 99}))
    result = project.cli("apply", "--plan", bogus, "--auto-approve")
    assert result.exit_code == 1 and "not a reconciler plan" in result.stderr


def test_apply_without_a_terminal_needs_auto_approve(project: Project) -> None:
    project.write("p.yaml", policy("a", ["wa"]))
    result = project.cli("apply")
    assert result.exit_code == 1 and "--auto-approve" in result.stderr
    assert project.rows() == []
