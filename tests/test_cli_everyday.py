"""Everyday commands and their small promises: `fields` of an unknown kind, what `apply
--allow-destructive` says, the local target's state directory ignoring itself in git, and `plan`
writing nothing `apply` would not."""

from __future__ import annotations

from pathlib import Path

from helpers import Project, policy, run


def test_fields_of_an_unknown_kind_is_an_error() -> None:
    result = run("fields", "SlaPolicies")
    assert result.exit_code == 1
    assert "unknown kind 'SlaPolicies'" in result.stderr and "did you mean SlaPolicy?" in result.stderr
    shown = run("fields", "SlaPolicy")
    assert shown.exit_code == 0 and "### SlaPolicy" in shown.output and "### QualityMonitor" not in shown.output


def test_allow_destructive_given_is_not_told_to_pass_it(project: Project) -> None:
    project.write("p.yaml", policy("a", ["w1"]))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.remove("p.yaml")
    refused = project.cli("apply", "--auto-approve")
    assert refused.exit_code == 1 and "apply refuses them without --allow-destructive" in refused.output
    allowed = project.cli("apply", "--auto-approve", "--allow-destructive")
    assert allowed.exit_code == 0, allowed.output
    assert "without --allow-destructive" not in allowed.output
    assert "1 destructive operation(s): allowed by --allow-destructive" in allowed.output


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_local_state_is_git_ignored_and_plan_writes_nothing_apply_would_not(project: Project) -> None:
    project.write("p.yaml", policy("a", ["w1"]))
    before = _files(project.root)
    assert project.cli("plan").exit_code == 0
    after_plan = _files(project.root)
    assert project.cli("apply", "--auto-approve").exit_code == 0
    after_apply = _files(project.root)
    assert after_plan - before <= after_apply - before, (after_plan - before) - (after_apply - before)
    assert (project.root / ".reconciler" / ".gitignore").read_text().splitlines()[-1] == "*"
