"""The apply report as Markdown, for the pull-request comment a CI job posts after merge.

It is the reviewed plan's counterpart: the same comment budget and code spans as the plan's
renderer (`reconciler.plan.render_markdown`), so the two comments read alike and neither can
exceed GitHub's limit. Every operation is listed as ok / FAILED / not started: a reader of the
comment must see what went through and what did not without opening the job's log.
"""

from __future__ import annotations

from reconciler.plan.model import Plan
from reconciler.plan.render_markdown import GITHUB_COMMENT_LIMIT, CommentBudget, code_span

from .applier import ApplyReport, OpStatus

_MARKS = {OpStatus.SUCCEEDED: "✅ ok", OpStatus.FAILED: "❌ FAILED", OpStatus.NOT_STARTED: "⏸️ not started"}
_ERROR_CHARS = 500  # an error is cut this far in its cell; `apply --format json` has it whole


def _error_cell(error: str | None) -> str:
    if not error:
        return ""
    one_line = " ".join(error.split())
    if len(one_line) > _ERROR_CHARS:
        one_line = one_line[: _ERROR_CHARS - 1] + "…"
    return code_span(one_line)


def _headline(report: ApplyReport, wait_error: str | None) -> str:
    done, failed, pending = (report.count(s) for s in (OpStatus.SUCCEEDED, OpStatus.FAILED, OpStatus.NOT_STARTED))
    counts = f"{done} ok, {failed} FAILED, {pending} not started"
    if report.interrupted:
        return (
            f"> [!CAUTION]\n> Apply INTERRUPTED by {report.interrupted}: {counts}. Re-run `reconciler apply` "
            "to finish: it re-plans from the live state and converges."
        )
    if not report.ok:
        return (
            f"> [!CAUTION]\n> Apply FAILED: {counts}. Fix the cause and re-run `reconciler apply`: "
            "it re-plans from the live state and converges."
        )
    if wait_error is not None:
        return f"> [!WARNING]\n> The apply went through ({counts}), but `--wait` failed: {wait_error}"
    return f"Apply complete: {done} operation(s) succeeded."


def render_apply_markdown(
    plan: Plan,
    report: ApplyReport | None,
    wait_error: str | None = None,
    limit: int = GITHUB_COMMENT_LIMIT,
) -> str:
    """`report` is None when the plan had nothing to do (nothing was applied)."""
    budget = CommentBudget(limit)
    budget.add(f"**reconciler apply** for target `{plan.target}`\n")
    if report is None:
        budget.add("No changes. The live state matches the specs.")
        return budget.text()
    budget.add(_headline(report, wait_error) + "\n")
    rows = [
        f"| {_MARKS[m.status]} | migrate | {code_span(m.migration.address)} | {_error_cell(m.error)} |"
        for m in report.migrations
    ] + [
        f"| {_MARKS[r.status]} | {r.operation.action.value} | {code_span(r.operation.address)} | {_error_cell(r.error)} |"
        for r in report.results
    ]
    listed = budget.add_rows("| Result | Action | Object | Error |\n|---|---|---|---|", rows)
    omitted = [f"{len(rows) - listed} of {len(rows)} operation(s) are not listed"] if listed < len(rows) else []
    return budget.text(omitted, "`reconciler apply --format json` for all of them")
