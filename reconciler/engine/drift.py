"""The drift workflow: a read-only plan, summarised as what changed behind git's back."""

from __future__ import annotations

from pathlib import Path

from reconciler.plan.drift import DriftReport, drift_report

from .plan import run_plan


def run_drift(specs_dir: Path, target: str | None) -> DriftReport:
    """What drifted in `target` from `specs_dir`; touches nothing live."""
    return drift_report(run_plan(specs_dir, target, strict=False))
