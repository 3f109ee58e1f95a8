"""Terminal view of a plan, Terraform-like: `+` create, `~` update, `-/+` replace, `-` delete.

Destructive operations are red, bold and flagged DESTRUCTIVE with their reasons and data-loss
warnings, so they cannot be scrolled past; colour only when writing to a terminal (rich decides,
and honours NO_COLOR), and no escape sequences at all with `--no-color`.
"""

from __future__ import annotations

from typing import IO

from rich.console import Console
from rich.markup import escape

from .model import Action, Plan
from .values import SYMBOLS, rewritten, show, summary_line

_STYLE = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.REPLACE: "bold red", Action.DELETE: "bold red"}


def console_for(stream: IO[str] | None = None, color: bool | None = None) -> Console:
    """A console for `stream`: colour forced on (True), off (False) or decided by rich (None).

    Off means no escape sequences at all, not just no colours: rich's `no_color` still writes
    bold and dim, which `--no-color` users (log files, screen readers) do not want. Without a
    colour system and treated as no terminal (FORCE_COLOR ignored), rich writes plain text.
    """
    if color is False:
        return Console(
            file=stream,
            highlight=False,
            soft_wrap=True,
            color_system=None,
            force_terminal=False,
            legacy_windows=False,
            no_color=True,
            emoji=False,
        )
    return Console(
        file=stream,
        highlight=False,
        soft_wrap=True,
        force_terminal=color if color else None,
        no_color=False if color else None,  # None: rich honours NO_COLOR; --color overrides it
        emoji=False,
    )


def render_text(plan: Plan, console: Console, title: str = "plan", allow_destructive: bool = False) -> None:
    out = console.print
    out(f"[bold]reconciler {title}[/] · target [bold]{escape(plan.target)}[/] · {summary_line(plan.summary)}")
    for note in plan.notes:
        out(f"[cyan]note:[/] {escape(note)}")
    out("")
    for op in plan.operations:
        style = _STYLE[op.action]
        flag = "  [bold white on red] DESTRUCTIVE [/]" if op.destructive else ""
        where = f"  [dim]({escape(op.source)})[/]" if op.source else ""
        out(f"  [{style}]{SYMBOLS[op.action.value]} {op.action.value} {escape(op.address)}[/]{flag}{where}")
        out(f"      [dim]key {escape(op.key)}[/]")
        for reason in op.reasons:
            out(f"      [{style}]reason:[/] {escape(reason)}")
        for change in op.changes:
            if op.action is Action.CREATE:
                out(f"      [green]+ {escape(change.path)}:[/] {escape(show(change.after, limit=1_000))}")
            elif op.action is Action.DELETE:
                out(f"      [red]- {escape(change.path)}:[/] {escape(show(change.before, limit=1_000))}")
            else:
                out(
                    f"      [yellow]~ {escape(change.path)}:[/] {escape(show(change.before))} [bold]->[/] {escape(show(change.after))}"
                )
        if op.after:
            out(f"      [dim]after:[/] {escape(', '.join(op.after))}")
        for number, call in enumerate(op.calls, 1):
            out(f"      [cyan]call {number}:[/] {escape(call.line())}")
            if call.rewrites:
                out(f"        [dim]rewrites:[/] {escape(rewritten(call))}")
        for warning in op.warnings:
            out(
                f"      [bold red]! {escape(warning)}[/]"
                if op.destructive
                else f"      [bold yellow]! {escape(warning)}[/]"
            )
        out("")
    if plan.unmanaged:
        out("[bold]Unmanaged[/] (live, not owned by reconciler: shown, never changed or deleted):")
        for item in plan.unmanaged:
            claim = f"  [red]claimed by {escape(item.declared_by)}[/]" if item.declared_by else ""
            out(f"  [dim]? {escape(item.kind)} {escape(item.key)}[/] {escape(item.description)}{claim}")
        out("")
    if not plan.has_changes:
        out("[green]No changes.[/] The live state matches the specs.")
        return
    destructive = plan.destructive_operations
    if destructive:
        consent = (
            "allowed by --allow-destructive" if allow_destructive else "apply refuses them without --allow-destructive"
        )
        out(f"[bold red]{len(destructive)} destructive operation(s)[/]: {consent}.")
