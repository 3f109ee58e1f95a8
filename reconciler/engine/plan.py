"""The plan workflow: load the specs, read the live state once, plan (`reconciler plan`)."""

from __future__ import annotations

from pathlib import Path

from reconciler.plan.model import Plan
from reconciler.selection import Selection
from reconciler.specs.cli_variables import NO_VARIABLES, CommandLineVariables

from .session import Session


def run_plan(
    specs_dir: Path,
    target: str | None,
    strict: bool = True,
    selection: Selection | None = None,
    variables: CommandLineVariables = NO_VARIABLES,
    parallelism: int | None = None,
) -> Plan:
    """The plan of `specs_dir` against `target`. `strict=False` (drift) keeps going where a plan
    for apply would refuse, so a report can still show what differs. `variables`: the command
    line's `--var` / `--var-file`. `parallelism`: reads in flight at once (None:
    RECONCILER_PARALLELISM, else 10)."""
    with Session(specs_dir, target, selection, variables, parallelism) as session:
        the_plan, _ = session.plan(strict=strict)
    return the_plan
