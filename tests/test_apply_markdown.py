"""`apply --format markdown`: the apply report as the pull-request comment a CI job posts after
merge. Every operation is listed as ok / FAILED / not started with its error; stdout is only the
comment (progress lines go to stderr), and it stays under GitHub's comment limit."""

from __future__ import annotations

import pytest
from helpers import Project
from test_apply_progress import POLICIES, failing_monitor_create

from reconciler.apply.applier import ApplyReport, OpResult, OpStatus
from reconciler.apply.render_markdown import render_apply_markdown
from reconciler.plan.model import Action, Operation, Plan
from reconciler.sandbox import SandboxServer


def test_a_successful_apply_lists_every_operation_as_ok(project: Project) -> None:
    project.write("policies.yaml", POLICIES)
    result = project.cli("apply", "--auto-approve", "--format", "markdown")
    assert result.exit_code == 0, result.output
    comment = result.stdout
    assert comment.startswith("**reconciler apply** for target `local`")
    assert "Apply complete: 3 operation(s) succeeded." in comment
    for name in ("p0", "p1", "p2"):
        assert f"| ✅ ok | create | `SlaPolicy/{name}` |  |" in comment
    assert "started" not in comment  # progress lines went to stderr
    assert "create SlaPolicy/p0: started" in result.stderr


def test_nothing_to_do_says_so(project: Project) -> None:
    project.write("policies.yaml", POLICIES)
    assert project.cli("apply", "--auto-approve").exit_code == 0
    result = project.cli("apply", "--auto-approve", "--format", "markdown")
    assert result.exit_code == 0, result.output
    assert "No changes. The live state matches the specs." in result.stdout


def test_a_failed_operation_is_failed_with_its_error_and_the_comment_says_how_to_finish(
    project: Project, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    mon = failing_monitor_create(project, sandbox, monkeypatch)
    result = mon.cli("apply", "--auto-approve", "--format", "markdown")
    assert result.exit_code == 1
    assert "> [!CAUTION]\n> Apply FAILED: 0 ok, 1 FAILED, 0 not started." in result.stdout
    assert "| ❌ FAILED | create | `QualityMonitor/orders` | `" in result.stdout


def _operation(i: int) -> Operation:
    return Operation(action=Action.CREATE, kind="SlaPolicy", name=f"p{i}", key=f"k{i}")


def test_not_started_operations_are_listed_and_a_long_report_is_cut_under_the_limit() -> None:
    ops = [_operation(i) for i in range(400)]
    plan = Plan(tool_version="0", target="prod", specs_digest="d", operations=ops)
    report = ApplyReport(
        results=[OpResult(ops[0], OpStatus.SUCCEEDED), OpResult(ops[1], OpStatus.FAILED, "boom | " + "x" * 900)]
        + [OpResult(op, OpStatus.NOT_STARTED) for op in ops[2:]],
        interrupted="SIGTERM",
    )
    comment = render_apply_markdown(plan, report, limit=8_000)
    assert len(comment) <= 8_000
    assert "Apply INTERRUPTED by SIGTERM: 1 ok, 1 FAILED, 398 not started." in comment
    assert "| ⏸️ not started | create | `SlaPolicy/p2` |  |" in comment
    failed_row = next(line for line in comment.splitlines() if "❌ FAILED" in line)
    assert "boom \\| x" in failed_row and failed_row.endswith("…` |")  # pipe escaped, error cut
    assert "operation(s) are not listed" in comment


def test_a_failed_wait_is_a_warning_even_when_every_operation_went_through() -> None:
    op = _operation(0)
    report = ApplyReport(results=[OpResult(op, OpStatus.SUCCEEDED)])
    comment = render_apply_markdown(
        Plan(tool_version="0", target="prod", specs_digest="d", operations=[op]),
        report,
        wait_error="timed out after 30m",
    )
    assert (
        "> [!WARNING]\n> The apply went through (1 ok, 0 FAILED, 0 not started), but `--wait` failed: timed out"
        in comment
    )
