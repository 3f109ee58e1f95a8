"""Markdown view of a plan for a pull-request comment.

Summary line first, then the destructive operations (CAUTION) and the operations that carry
warnings (WARNING, e.g. firing alerts an update resets), then per-object details, collapsible. GitHub rejects
comments over 65,536 characters, so every part of the comment (header, caution list, notes,
details, unmanaged list) is charged to one budget, long lists are capped, and whatever is left out
is counted in a closing note: a review must never silently miss an operation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from .model import Action, Operation, Plan
from .values import SYMBOLS, rewritten, show, summary_line

GITHUB_COMMENT_LIMIT = 65_536
_RESERVE = 600  # held back for the closing truncation note, which is always shorter
_CAUTION_LISTED = 20  # destructive operations named in the caution block; the rest are counted
_NOTES_LISTED = 20  # notes shown; the rest are counted, so notes cannot crowd out the operations
_NOTE_CHARS = 1_000  # longer notes are cut (with "…") for the same reason
_WARNING_CHARS = 400  # the banner quotes each warning this far; the details hold it whole


class CommentBudget:
    """The comment's lines so far and the characters still free for them.

    Each line costs its length plus the newline that joins it; the reserve for the closing note is
    taken off up front, so whatever `add` accepts can never push the comment over the limit.
    """

    def __init__(self, limit: int) -> None:
        self.lines: list[str] = []
        self.limit = limit
        self.left = limit - _RESERVE

    def add(self, text: str) -> bool:
        """Append `text` if it fits; otherwise add nothing and return False."""
        if len(text) + 1 > self.left:
            return False
        self.lines.append(text)
        self.left -= len(text) + 1
        return True

    def add_rows(self, heading: str, rows: list[str]) -> int:
        """`heading` and then as many of `rows` as fit; returns how many were added."""
        if not rows or not self.add(heading):
            return 0
        added = 0
        for row in rows:
            if not self.add(row):
                break
            added += 1
        self.add("")
        return added

    def text(self, omitted: Sequence[str] = (), full: str = "") -> str:
        """The comment; when anything was left out, closed by one note saying what (`omitted`) and
        where the whole is (`full`, e.g. "`reconciler plan --format json` for the full plan").
        The reserve held back from the start is what the note fits in."""
        lines = list(self.lines)
        if omitted:
            lines.append(
                f"> [!WARNING]\n> Truncated: {'; '.join(omitted)}, to stay under GitHub's {self.limit:,}-character "
                f"comment limit. Run {full}."
            )
        return "\n".join(lines).rstrip() + "\n"


def code_span(text: str) -> str:
    """`text` as a code span that shows it verbatim, also inside a GFM table cell.

    Backticks are kept (they carry meaning in SQL and PromQL): the fence is one backtick longer
    than the longest run inside, padded with a space when the text starts or ends with a backtick
    or a space (CommonMark strips exactly one such space on each side). `|` is written `\\|`,
    which GFM un-escapes even inside code spans, so it cannot split the table cell.
    """
    text = text.replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if not text or text.startswith(("`", " ")) or text.endswith(("`", " ")) else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(value: object) -> str:
    return code_span(show(value, limit=1_000))  # the comment's budget, not each cell, bounds the total


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
    if op.after:
        lines.append(f"- **After:** {', '.join(code_span(a) for a in op.after)}")
    if op.calls:
        lines += ["", "**API calls** (apply makes exactly these):", ""]
        for number, call in enumerate(op.calls, 1):
            lines.append(f"{number}. {code_span(f'{call.method} {call.path}')}: {call.detail()}")
            if call.rewrites:
                lines.append(f"   - rewrites: {rewritten(call)}")
    if op.changes:
        lines += ["", "| field | before | after |", "|---|---|---|"]
        for change in op.changes:
            before = "" if op.action is Action.CREATE else _cell(change.before)
            after = "" if op.action is Action.DELETE else _cell(change.after)
            lines.append(f"| {code_span(change.path)} | {before} | {after} |")
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def _caution(destructive: list[Operation], listed: int) -> str:
    """The alert block naming the first `listed` destructive operations and counting the rest."""
    names = [f"{op.action.value} `{op.address}`" for op in destructive[:listed]]
    if len(destructive) > listed:
        names.append(f"…and {len(destructive) - listed} more destructive operation(s)")
    return "\n".join(
        [
            "> [!CAUTION]",
            f"> {len(destructive)} destructive operation(s): "
            + ", ".join(names)
            + ". Apply needs `--allow-destructive`.",
            "",
        ]
    )


def _add_alert(budget: CommentBudget, ops: list[Operation], block: Callable[[list[Operation], int], str]) -> None:
    """An alert block (`block(ops, listed)`) naming as many of `ops` as fit, at most
    `_CAUTION_LISTED`; the count is always given. Nothing when `ops` is empty."""
    for listed in range(min(len(ops), _CAUTION_LISTED), -1, -1) if ops else ():
        if budget.add(block(ops, listed)):
            return


def _warning(warned: list[Operation], listed: int) -> str:
    """The alert block naming the first `listed` non-destructive operations that carry warnings
    (e.g. alert state reset on firing rules), each with its warnings, and counting the rest."""
    lines = ["> [!WARNING]", f"> {len(warned)} operation(s) carry warnings (details below):"]
    for op in warned[:listed]:
        lines.append(f"> - {op.action.value} {code_span(op.address)}:")
        for warning in op.warnings:
            text = warning if len(warning) <= _WARNING_CHARS else warning[: _WARNING_CHARS - 1] + "…"
            lines.append(f">   - {text}")
    if len(warned) > listed:
        lines.append(f"> - …and {len(warned) - listed} more")
    return "\n".join([*lines, ""])


def render_markdown(plan: Plan, limit: int = GITHUB_COMMENT_LIMIT, title: str = "plan") -> str:
    budget = CommentBudget(limit)
    budget.add(f"**reconciler {title}** for target `{plan.target}`: {summary_line(plan.summary)}\n")
    destructive = plan.destructive_operations
    _add_alert(budget, destructive, _caution)
    _add_alert(budget, [op for op in plan.operations if op.warnings and not op.destructive], _warning)
    if not plan.has_changes:
        budget.add("No changes. The live state matches the specs.\n")
    omitted: list[str] = []
    notes_shown = 0
    for note in plan.notes[:_NOTES_LISTED]:
        if len(note) > _NOTE_CHARS:
            note = note[: _NOTE_CHARS - 1] + "…"
        if not budget.add(f"> **Note:** {note}"):
            break
        notes_shown += 1
    if notes_shown < len(plan.notes):
        omitted.append(f"{len(plan.notes) - notes_shown} of {len(plan.notes)} note(s) are not shown")
    if notes_shown:
        budget.add("")

    ordered = destructive + [op for op in plan.operations if not op.destructive]
    for index, op in enumerate(ordered):
        heading = ""
        if index == 0 and destructive:
            heading = "### Destructive operations\n\n"
        elif index == len(destructive):
            heading = "### Other changes\n\n"
        if not budget.add(heading + _details(op)):
            omitted.insert(0, f"{len(ordered) - index} of {len(ordered)} operation(s) are not shown")
            break
    if plan.unmanaged:
        rows = [f"- {code_span(u.kind)} {code_span(u.key)}: {u.description}" for u in plan.unmanaged]
        listed = budget.add_rows("### Unmanaged (shown, never changed)\n", rows)
        if listed < len(rows):
            omitted.append(f"{len(rows) - listed} of {len(rows)} unmanaged object(s) are not listed")
    return budget.text(omitted, "`reconciler plan --format json` for the full plan")
