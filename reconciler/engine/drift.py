"""The drift workflow: a read-only plan, summarised as what changed behind git's back, each
drifted object with its cause (changed outside reconciler, or a spec change not applied yet)."""

from __future__ import annotations

from pathlib import Path

from reconciler.kinds.kind_registry import KINDS
from reconciler.last_applied import OUT_OF_BAND, causes
from reconciler.plan.drift import DriftReport, drift_report
from reconciler.selection import Selection
from reconciler.specs.cli_variables import NO_VARIABLES, CommandLineVariables

from .session import Session


def run_drift(
    specs_dir: Path,
    target: str | None,
    only_out_of_band: bool = False,
    selection: Selection | None = None,
    variables: CommandLineVariables = NO_VARIABLES,
    parallelism: int | None = None,
) -> DriftReport:
    """What drifted in `target` from `specs_dir`; touches nothing live. `only_out_of_band` keeps
    only objects changed outside reconciler (what a scheduled job alerts on)."""
    with Session(specs_dir, target, selection, variables, parallelism) as session:
        plan, live = session.plan(strict=False)
        report = drift_report(plan)
        causes(report.entries, live.objects, session.specs.resources, {k.name: k.fields for k in KINDS.values()})
    if only_out_of_band:
        report.entries = [e for e in report.entries if e.cause == OUT_OF_BAND]
    return report
