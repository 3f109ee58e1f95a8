"""Markdown view of a plan for a pull-request comment.

Summary line first, destructive operations first, per-object details collapsible. GitHub rejects
comments over 65,536 characters, so the renderer stops adding details before that and says how
many operations it left out: a review must never silently miss an operation.
"""

from __future__ import annotations

from .model import Action, Operation, Plan
from .values import SYMBOLS, show, summary_line

GITHUB_COMMENT_LIMIT = 65_536
_RESERVE = 600  # room for the truncation note and the closing lines


def _cell(value: object) -> str:
    return "`" + show(value, limit=300).replace("|", "\\|").replace("`", "'") + "`"


def _details(op: Operation) -> str:
    heading = f"<code>{SYMBOLS[op.action.value]}</code> <b>{op.action.value}</b> <code>{op.address}</code>"
    if op.destructive:
        heading += " ⚠️ <b>destructive</b>"
    lines = ["<details>", f"<summary>{heading}</summary>", ""]
    if op.source:
        lines.append(f"Declared at `{op.source}` · key `{op.key}`")
    else:
        lines.append(f"Key `{op.key}`")
    lines.append("")
    for reason in op.reasons:
        lines.append(f"- **Reason:** {reason}")
    for warning in op.warnings:
        lines.append(f"- **Warning:** {warning}")
    if op.changes:
        lines += ["", "| field | before | after |", "|---|---|---|"]
        for change in op.changes:
            before = "" if op.action is Action.CREATE else _cell(change.before)
            after = "" if op.action is Action.DELETE else _cell(change.after)
            lines.append(f"| `{change.path}` | {before} | {after} |")
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def render_markdown(plan: Plan, limit: int = GITHUB_COMMENT_LIMIT, title: str = "plan") -> str:
    destructive = plan.destructive_operations
    head = [f"**reconciler {title}** for target `{plan.target}`: {summary_line(plan.summary)}", ""]
    if destructive:
        head += [
            "> [!CAUTION]",
            f"> {len(destructive)} destructive operation(s): "
            + ", ".join(f"{op.action.value} `{op.address}`" for op in destructive)
            + ". Apply needs `--allow-destructive`.",
            "",
        ]
    if not plan.has_changes:
        head += ["No changes. The live state matches the specs.", ""]
    for note in plan.notes:
        head.append(f"> **Note:** {note}")
    if plan.notes:
        head.append("")

    ordered = destructive + [op for op in plan.operations if not op.destructive]
    body: list[str] = []
    size = sum(len(s) + 1 for s in head)
    shown = 0
    for index, op in enumerate(ordered):
        if index == 0 and destructive:
            body.append("### Destructive operations\n")
        if index == len(destructive) and index < len(ordered):
            body.append("### Other changes\n")
        block = _details(op)
        if size + len(block) > limit - _RESERVE:
            break
        body.append(block)
        size += len(block) + 1
        shown += 1
    tail: list[str] = []
    if shown < len(ordered):
        missing = len(ordered) - shown
        tail.append(
            f"> [!WARNING]\n> Truncated: {missing} of {len(ordered)} operation(s) are not shown to stay under "
            f"GitHub's {limit:,}-character comment limit. Run `reconciler plan --format json` for the full plan."
        )
    elif plan.unmanaged:
        rows = [f"- `{u.kind}` `{u.key}`: {u.description}" for u in plan.unmanaged]
        block = "\n".join(["### Unmanaged (shown, never changed)", "", *rows, ""])
        if size + len(block) <= limit - _RESERVE:
            tail.append(block)
        else:
            tail.append(f"_{len(plan.unmanaged)} unmanaged object(s) not listed (comment limit)._")
    return "\n".join(head + body + tail).rstrip() + "\n"
