"""`reconciler ci`: the pieces a CI pipeline needs around plan and apply (examples/ci/ uses them).

Why in the tool and not in each pipeline's shell: the sticky pull-request comment must be found
again on every push (a hidden marker), must say what it was made from (commit, specs digest, tool
version) and how to apply exactly it; the merge job must apply exactly the reviewed plan or fail
loudly. Written once here, GitHub's and GitLab's pipelines stay a few lines of `gh` / `glab`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from reconciler.errors import ReconcilerError, StalePlanError
from reconciler.plan.model import Plan
from reconciler.plan.plan_file import load_plan_file as load_plan

MARKER_PREFIX = "<!-- reconciler-plan"


def _exit_codes(*codes: str) -> str:
    # The CLI's `--help` convention (reconciler.cli.exit_codes), kept here to avoid an import cycle.
    return "\b\nExit codes:\n" + "\n".join(codes)


_OK_OR_ERROR = _exit_codes("  0  success", "  1  error; or a usage error")


def marker(target: str) -> str:
    """The hidden line a plan comment starts with; one sticky comment per target."""
    return f"{MARKER_PREFIX} target={target} -->"


def _commit(explicit: str | None, where: Path) -> str:
    if explicit:
        return explicit
    for name in ("GITHUB_SHA", "CI_COMMIT_SHA"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def comment_body(plan: Plan, plan_file: str, specs_dir: str, commit: str) -> str:
    """The Markdown of the sticky comment: marker, plan, and what it was made from."""
    from reconciler.commands import command
    from reconciler.plan.render_markdown import GITHUB_COMMENT_LIMIT, render_markdown

    apply = command("apply", specs_dir, target=plan.target, options=("--plan", plan_file))
    footer = (
        "\n---\n"
        f"<sub>commit `{commit}` · specs digest `{plan.specs_digest}` · reconciler {plan.tool_version} "
        f"· target `{plan.target}`</sub>\n\n"
        f"Apply exactly this plan (the merge pipeline does, with the plan artifact):\n\n```sh\n{apply}\n```\n"
        "If the live state or the specs change first, the merge pipeline re-plans and fails when the result differs from this plan.\n"
    )
    head = marker(plan.target) + "\n"
    body = render_markdown(plan, limit=GITHUB_COMMENT_LIMIT - len(head) - len(footer) - 16)
    return head + body + footer


def _comments(text: str) -> list[dict[str, Any]]:
    """Comments from `gh api --paginate` (pages concatenated or slurped) or `glab api` (notes)."""
    decoder = json.JSONDecoder()
    items: list[dict[str, Any]] = []
    pos, text = 0, text.strip()
    while pos < len(text):
        value, end = decoder.raw_decode(text, pos)
        stack = [value]
        while stack:
            item = stack.pop(0)
            if isinstance(item, list):
                stack = list(item) + stack
            elif isinstance(item, dict):
                items.append(item)
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return items


@click.group(name="ci", epilog=_OK_OR_ERROR)
def ci() -> None:
    """Helpers for CI pipelines: the sticky plan comment and applying the reviewed plan."""


@ci.command(epilog=_OK_OR_ERROR)
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--specs-dir", default="specs", show_default=True, help="The spec directory, as the apply command names it."
)
@click.option("--commit", help="The commit planned (default: $GITHUB_SHA, $CI_COMMIT_SHA, else git HEAD).")
def comment(plan_file: Path, specs_dir: str, commit: str | None) -> None:
    """Print the pull-request comment for a saved plan: a hidden marker (to find and update the
    comment on the next push), the Markdown plan, the commit, specs digest, tool version and the
    exact apply command."""
    try:
        plan = load_plan(plan_file)
    except ReconcilerError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    click.echo(comment_body(plan, str(plan_file), specs_dir, _commit(commit, Path(specs_dir))), nl=False)


@ci.command(
    name="find-comment",
    epilog=_exit_codes("  0  success (the id printed, or nothing: no comment yet)", "  1  error; or a usage error"),
)
@click.argument("comments_file", type=click.File("r"))
@click.option("--target", "-t", default="local", show_default=True, help="The target whose plan comment to find.")
def find_comment(comments_file: Any, target: str) -> None:
    """Print the id of the plan comment (by its marker) in a JSON list of comments, as
    `gh api --paginate repos/O/R/issues/N/comments` or `glab api projects/:id/merge_requests/N/notes`
    return them; print nothing when there is none (then post a new one)."""
    wanted = marker(target)
    for item in _comments(comments_file.read()):
        if str(item.get("body", "")).startswith(wanted):
            click.echo(item["id"])
            return


@ci.command(
    name="apply-reviewed",
    epilog=_exit_codes(
        "  0  applied (the reviewed plan, or a re-plan making exactly its changes), or nothing to do",
        "  1  error: the re-plan differs from the reviewed plan (nothing applied), or the apply failed; or a usage error",
    ),
)
@click.argument("specs_dir", default="specs", type=click.Path(file_okay=False, path_type=Path))
@click.option("--plan", "plan_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--target", "-t", help="Target from reconciler.yaml.")
@click.option("--allow-destructive", is_flag=True, help="Allow the replaces and deletes the reviewed plan shows.")
def apply_reviewed(specs_dir: Path, plan_file: Path, target: str | None, allow_destructive: bool) -> None:
    """Apply the reviewed plan after merge: exactly it when it is still fresh; otherwise re-plan and
    apply only if the new plan makes the same changes, else fail (exit 1) naming the differences."""
    try:
        ok = _apply_reviewed(specs_dir, plan_file, target, allow_destructive)
    except ReconcilerError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    sys.exit(0 if ok else 1)


def _signature(plan: Plan) -> list[tuple[Any, ...]]:
    """What a reviewer approved: each operation and its field changes (not fingerprints)."""
    return [
        (
            op.action.value,
            op.kind,
            op.name,
            op.key,
            json.dumps([[c.path, c.before, c.after] for c in op.changes], sort_keys=True, default=str),
        )
        for op in plan.operations
    ]


def plan_differences(reviewed: Plan, new: Plan) -> list[str]:
    old_ops = {s[:4]: s for s in _signature(reviewed)}
    new_ops = {s[:4]: s for s in _signature(new)}
    out = []
    for ident, sig in new_ops.items():
        if ident not in old_ops:
            out.append(f"not in the reviewed plan: {ident[0]} {ident[1]}/{ident[2]}")
        elif old_ops[ident] != sig:
            out.append(f"changes differ from the reviewed plan: {ident[0]} {ident[1]}/{ident[2]}")
    for ident in old_ops:
        if ident not in new_ops:
            out.append(f"reviewed but no longer planned: {ident[0]} {ident[1]}/{ident[2]}")
    if reviewed.target != new.target:
        out.append(f"the reviewed plan is for target '{reviewed.target}', not '{new.target}'")
    return out


def _apply_reviewed(specs_dir: Path, plan_file: Path, target: str | None, allow_destructive: bool) -> bool:
    import tempfile

    from reconciler.apply.applier import ApplyReport, OpStatus
    from reconciler.engine.apply import ApplyHooks, ApplyOptions, run_apply
    from reconciler.engine.plan import run_plan

    marks = {OpStatus.SUCCEEDED: "ok", OpStatus.FAILED: "FAILED", OpStatus.NOT_STARTED: "not started"}

    def applied(_: Plan, report: ApplyReport) -> None:
        for r in report.results:
            line = f"  [{marks[r.status]}] {r.operation.action.value} {r.operation.address}"
            click.echo(line + (f": {r.error}" if r.error else ""))

    hooks = ApplyHooks(confirm=lambda _: True, applied=applied, notice=lambda line: click.echo(line, err=True))
    reviewed = load_plan(plan_file)
    try:
        outcome = run_apply(specs_dir, target, ApplyOptions(plan_file, allow_destructive), hooks)
        click.echo(f"Applied the reviewed plan ({plan_file}) exactly.")
    except StalePlanError as stale:
        click.echo(f"The reviewed plan is stale: {stale}\nRe-planning.")
        new = run_plan(specs_dir, target)
        differences = plan_differences(reviewed, new)
        if differences:
            raise ReconcilerError(
                "the new plan differs from the reviewed one; nothing was applied. Review a new plan "
                "(re-run the pull-request pipeline, or open a new pull request):\n"
                + "\n".join(f"  - {d}" for d in differences)
            ) from None
        click.echo("The new plan makes exactly the reviewed changes: applying it.")
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / "plan.json"
            fresh.write_text(new.to_json(), encoding="utf-8")
            outcome = run_apply(specs_dir, target, ApplyOptions(fresh, allow_destructive), hooks)
    if outcome.report is None:
        click.echo("No changes. The live state matches the specs.")
    elif outcome.ok:
        click.echo("Apply complete.")
    else:
        click.echo("Apply FAILED. Fix the cause and re-run: `reconciler apply` re-plans and converges.", err=True)
    return outcome.ok


__all__ = ["ci", "comment_body", "marker", "plan_differences"]
