"""Drift: a read-only plan, reported per object as the question a drift job asks.

- drifted: live differs from its spec (edited behind git's back);
- missing: declared, absent live (deleted behind git's back, or never applied);
- undeclared: managed by reconciler, no spec declares it any more (a pending delete);
- unmanaged: live, not owned by reconciler (reported, not drift);
- in_sync.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape

from .model import Action, Change, Plan
from .render_markdown import GITHUB_COMMENT_LIMIT, CommentBudget, code_span
from .values import show

_STATUS = {Action.CREATE: "missing", Action.UPDATE: "drifted", Action.REPLACE: "drifted", Action.DELETE: "undeclared"}


@dataclass
class DriftEntry:
    kind: str
    name: str
    key: str
    status: str
    changes: list[Change] = field(default_factory=list)
    description: str = ""
    # For `drifted`: out_of_band | pending | unknown (see reconciler.last_applied).
    cause: str | None = None


# How reports name each cause of a `drifted` object.
CAUSE_WORDS = {
    "out_of_band": "changed outside reconciler",
    "pending": "spec changed, not applied yet",
    "unknown": "differs from the spec (no record of the last apply)",
}


@dataclass
class DriftReport:
    target: str
    entries: list[DriftEntry]
    notes: list[str]

    @property
    def drifted(self) -> bool:
        return any(e.status in ("drifted", "missing", "undeclared") for e in self.entries)

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for e in self.entries:
            counts[e.status] = counts.get(e.status, 0) + 1
        from reconciler.contracts import DRIFT_FORMAT_VERSION, tool

        return {
            "format_version": DRIFT_FORMAT_VERSION,
            "tool": tool(),
            "target": self.target,
            "drifted": self.drifted,
            "counts": counts,
            "objects": [asdict(e) for e in self.entries],
            "notes": self.notes,
        }


def drift_report(plan: Plan) -> DriftReport:
    entries = [DriftEntry(op.kind, op.name, op.key, _STATUS[op.action], list(op.changes)) for op in plan.operations]
    entries += [DriftEntry(u.kind, u.name, u.key, "in_sync") for u in plan.unchanged]
    entries += [DriftEntry(u.kind, "", u.key, "unmanaged", description=u.description) for u in plan.unmanaged]
    return DriftReport(plan.target, entries, list(plan.notes))


def render_drift_text(report: DriftReport, console: Console) -> None:
    out = console.print
    styles = {
        "drifted": "bold red",
        "missing": "bold red",
        "undeclared": "yellow",
        "unmanaged": "dim",
        "in_sync": "green",
    }
    out(f"[bold]reconciler drift[/] · target [bold]{escape(report.target)}[/]")
    for note in report.notes:
        out(f"[cyan]note:[/] {escape(note)}")
    for e in report.entries:
        label = f"{e.kind}/{e.name}" if e.name else f"{e.kind} {e.key}"
        out(
            f"  [{styles[e.status]}]{e.status:<10}[/] {escape(label)}"
            + (f"  [dim]{escape(e.description)}[/]" if e.description else "")
            + (f"  [bold]{escape(CAUSE_WORDS.get(e.cause, e.cause))}[/]" if e.cause else "")
        )
        if e.status == "drifted":
            for c in e.changes:
                out(f"             {escape(c.path)}: live {escape(show(c.before))}, spec {escape(show(c.after))}")
    out("")
    out("[bold red]Drift detected.[/]" if report.drifted else "[green]No drift.[/] The live state matches the specs.")


def render_drift_markdown(report: DriftReport, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    """The drift report as a Markdown table for an issue or PR comment: what drifted first, and
    capped like the plan comment, with what is left out counted."""
    budget = CommentBudget(limit)
    budget.add(
        f"**reconciler drift** for target `{report.target}`: "
        + ("drift detected" if report.drifted else "no drift")
        + "\n"
    )
    order = {"drifted": 0, "missing": 1, "undeclared": 2, "unmanaged": 3, "in_sync": 4}
    rows = []
    for e in sorted(report.entries, key=lambda e: order.get(e.status, 5)):
        label = f"{e.kind}/{e.name}" if e.name else f"{e.kind} {e.key}"
        if e.status == "drifted":
            details = "; ".join(
                f"{code_span(c.path)}: live {code_span(show(c.before))}, spec {code_span(show(c.after))}"
                for c in e.changes
            )
            if e.cause:
                details = f"**{CAUSE_WORDS.get(e.cause, e.cause)}**: {details}"
        else:
            details = e.description.replace("|", "\\|")
        rows.append(f"| {e.status} | {code_span(label)} | {details} |")
    listed = budget.add_rows("| status | object | details |\n|---|---|---|", rows)
    omitted = [f"{len(rows) - listed} of {len(rows)} object(s) are not listed"] if listed < len(rows) else []
    return budget.text(omitted, "`reconciler drift --format json` for the full report")
