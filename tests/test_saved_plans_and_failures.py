"""Saved plans are applied exactly or refused as stale; failed applies say what ran."""

from __future__ import annotations

import json

from helpers import Project, policy


def test_saved_plan_is_applied_exactly(project: Project, tmp_path) -> None:
    project.write("p.yaml", policy("a", ["wa"]) + "---\n" + policy("b", ["wb"]))
    planfile = tmp_path / "plan.json"
    planned = project.cli("plan", "--out", planfile)
    assert planned.exit_code == 0 and planfile.exists()
    applied = project.cli("apply", "--plan", planfile, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert {r["spec_name"] for r in project.rows()} == {"a", "b"}


def test_saved_plan_is_stale_when_live_rows_changed(project: Project, tmp_path) -> None:
    project.write("p.yaml", policy("a", ["wa"], 100))
    project.cli("apply", "--auto-approve")
    project.write("p.yaml", policy("a", ["wa"], 200))
    planfile = tmp_path / "plan.json"
    project.cli("plan", "--out", planfile)

    project.sql("UPDATE query_sla_policies SET sla_seconds = 150")
    result = project.cli("apply", "--plan", planfile, "--auto-approve")
    assert result.exit_code == 1
    assert "plan is stale" in result.stderr and "SlaPolicy/a" in result.stderr
    assert project.rows()[0]["sla_seconds"] == 150


def test_saved_plan_is_stale_when_a_create_target_appeared(project: Project, tmp_path) -> None:
    project.write("p.yaml", policy("a", ["wa"]))
    planfile = tmp_path / "plan.json"
    project.cli("plan", "--out", planfile)
    project.cli("apply", "--auto-approve")
    result = project.cli("apply", "--plan", planfile, "--auto-approve")
    assert result.exit_code == 1 and "plan is stale" in result.stderr


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


def test_failed_apply_reports_each_operation_and_rerun_converges(project: Project) -> None:
    project.write("p.yaml", policy("seed", ["w0"]))
    project.cli("apply", "--auto-approve")
    # The live system rejects one write (a trigger stands in for a failing database).
    project.sql(
        "CREATE TRIGGER reject BEFORE INSERT ON query_sla_policies WHEN NEW.sla_seconds = 666 "
        "BEGIN SELECT RAISE(ABORT, 'disk quota exceeded'); END"
    )
    project.write("p.yaml", policy("seed", ["w0"]) + "---\n" + policy("a", ["w1"], 10) + "---\n" + policy("b", ["w2"], 666) + "---\n" + policy("c", ["w3"], 30))
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 1
    assert "[ok] create SlaPolicy/a" in result.stdout
    assert "[FAILED] create SlaPolicy/b" in result.stdout and "disk quota exceeded" in result.stdout
    assert "[not started] create SlaPolicy/c" in result.stdout
    assert "1 succeeded, 1 failed, 1 not started" in result.stderr
    assert {r["spec_name"] for r in project.rows()} == {"seed", "a"}

    project.sql("DROP TRIGGER reject")
    rerun = project.cli("apply", "--auto-approve")
    assert rerun.exit_code == 0, rerun.output
    assert "2 operation(s) succeeded" in rerun.stdout
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_apply_without_a_terminal_needs_auto_approve(project: Project) -> None:
    project.write("p.yaml", policy("a", ["wa"]))
    result = project.cli("apply")
    assert result.exit_code == 1 and "--auto-approve" in result.stderr
    assert project.rows() == []
