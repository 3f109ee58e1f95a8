"""Drift as Prometheus metrics: `drift --pushgateway URL` and `drift --textfile PATH`.

Why: a scheduled drift job that only fails is seen by whoever reads CI; as gauges, drift is
alerted on like anything else (the example specs hold a Grafana rule on them) and its history is
kept. Published with the official client (`prometheus-client`): its registry, exposition format,
Pushgateway protocol and atomic textfile writes.

Gauges (labels `target`, and `kind` / `status` per object count):
- `reconciler_drift_objects{kind, status}`: objects per drift status; every status of every kind
  checked is written, zeros included, so a series returns to 0 once the drift is applied;
- `reconciler_drift_last_success_timestamp_seconds`, `reconciler_drift_last_duration_seconds`;
- `reconciler_drift_check_failed`: 1 when the check itself failed (then the object gauges and the
  last success keep their previous values: a failed check says nothing about drift).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, pushadd_to_gateway, write_to_textfile
from prometheus_client.parser import text_string_to_metric_families

JOB = "reconciler_drift"
# `drifted` splits by cause: out_of_band (changed outside reconciler), pending (spec not applied
# yet), drifted (no record of the last apply to tell).
STATUSES = ("in_sync", "out_of_band", "pending", "drifted", "missing", "undeclared", "unmanaged")


def status_of(entry: Any) -> str:
    cause = getattr(entry, "cause", None)
    if entry.status == "drifted" and cause in ("out_of_band", "pending"):
        return str(cause)
    return str(entry.status)


def _gauges(registry: CollectorRegistry) -> dict[str, Gauge]:
    return {
        "objects": Gauge(
            "reconciler_drift_objects",
            "Objects per kind and drift status",
            ["target", "kind", "status"],
            registry=registry,
        ),
        "success": Gauge(
            "reconciler_drift_last_success_timestamp_seconds",
            "Unix time of the last successful drift check",
            ["target"],
            registry=registry,
        ),
        "duration": Gauge(
            "reconciler_drift_last_duration_seconds",
            "Duration of the last successful drift check",
            ["target"],
            registry=registry,
        ),
        "failed": Gauge(
            "reconciler_drift_check_failed", "1 when the last drift check failed", ["target"], registry=registry
        ),
    }


def success_registry(report: Any, kinds: list[str], duration: float) -> CollectorRegistry:
    registry = CollectorRegistry()
    g = _gauges(registry)
    counts: dict[tuple[str, str], int] = {}
    for entry in report.entries:
        counts[(entry.kind, status_of(entry))] = counts.get((entry.kind, status_of(entry)), 0) + 1
    for kind in sorted(set(kinds) | {e.kind for e in report.entries}):
        for status in STATUSES:
            g["objects"].labels(report.target, kind, status).set(counts.get((kind, status), 0))
    g["success"].labels(report.target).set(time.time())
    g["duration"].labels(report.target).set(duration)
    g["failed"].labels(report.target).set(0)
    return registry


def failure_registry(target: str) -> CollectorRegistry:
    registry = CollectorRegistry()
    _gauges(registry)["failed"].labels(target).set(1)
    return registry


def publish(
    registry: CollectorRegistry, target: str, *, pushgateway: str | None, textfile: Path | None, replace: bool
) -> None:
    """Send the gauges. `replace` (a successful check) replaces the group's metrics; otherwise only
    the failure gauge is added and the last good values stay."""
    if pushgateway:
        grouping = {"target": target}
        if replace:
            push_to_gateway(pushgateway, job=JOB, registry=registry, grouping_key=grouping)
        else:
            pushadd_to_gateway(pushgateway, job=JOB, registry=registry, grouping_key=grouping)
    if textfile:
        if not replace and textfile.exists():
            registry = _merged(textfile, registry)
        textfile.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(textfile), registry)


class _Families:
    """A collector replaying metric families read back from a textfile."""

    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> list[Any]:
        return self.families


def _merged(textfile: Path, update: CollectorRegistry) -> CollectorRegistry:
    """The textfile's previous families with `update`'s families in their place."""
    new = {f.name: f for f in update.collect()}
    old = [f for f in text_string_to_metric_families(textfile.read_text()) if f.name not in new]
    registry = CollectorRegistry()
    registry.register(_Families(old + list(new.values())))
    return registry


def _target_name(specs_dir: Path, target: str | None) -> str:
    """The target a failed check was for, as well as it can be told without valid specs."""
    if target:
        return target
    try:
        import yaml

        project = yaml.safe_load((specs_dir / "reconciler.yaml").read_text(encoding="utf-8"))
        return str(project.get("default_target") or "local")
    except Exception:
        return "local"


def measured_drift(
    specs_dir: Path,
    target: str | None,
    only_out_of_band: bool,
    pushgateway: str | None,
    textfile: Path | None,
    selection: Any = None,
    variables: Any = None,
    parallelism: int | None = None,
) -> Any:
    """`reconciler drift`, publishing gauges when asked: of the report when the check succeeds,
    the failure gauge when it fails (the error is raised as before)."""
    from reconciler.engine.drift import run_drift
    from reconciler.errors import ReconcilerError
    from reconciler.specs.cli_variables import NO_VARIABLES

    if selection and (pushgateway or textfile):
        # The gauges describe the whole target: a partial check would replace them with a part.
        raise ReconcilerError("--pushgateway/--textfile publish the whole target's drift: drop --only/--label")
    started = time.monotonic()
    try:
        report = run_drift(
            specs_dir,
            target,
            only_out_of_band=only_out_of_band,
            selection=selection,
            variables=variables or NO_VARIABLES,
            parallelism=parallelism,
        )
    except Exception:
        if pushgateway or textfile:
            name = _target_name(specs_dir, target)
            publish(failure_registry(name), name, pushgateway=pushgateway, textfile=textfile, replace=False)
        raise
    if pushgateway or textfile:
        registry = success_registry(report, [], time.monotonic() - started)
        publish(registry, report.target, pushgateway=pushgateway, textfile=textfile, replace=True)
    return report
