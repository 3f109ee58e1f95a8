"""The apply workflow: plan (or load a saved plan and check it is still fresh), gate destructive
operations, get the caller's consent, execute, and optionally wait until what changed is ready.

The caller takes part through `ApplyHooks` — it shows the plan before consenting, reports the
results before a long `--wait` — so the workflow decides *what* happens and in which order, and
the caller only *how* it is shown and asked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

from reconciler.apply.applier import (
    ApplyReport,
    check_destructive,
    check_fresh,
    check_migrations,
    execute,
    wait_ready,
)
from reconciler.apply.lock import LockInfo, LockStore, lock_errors, lock_store_for, target_lock
from reconciler.apply.progress import ApplyObserver, duration_text
from reconciler.errors import ReconcilerError, StalePlanError
from reconciler.plan.model import Plan
from reconciler.plan.plan_file import load_plan_file
from reconciler.selection import Selection
from reconciler.specs.cli_variables import NO_VARIABLES, Assignment, CommandLineVariables

from .session import LiveState, Session


def _nothing(*_: object) -> None:
    return None


def _refuse(_: Plan) -> bool:
    return False


@dataclass(frozen=True)
class ApplyOptions:
    """What to apply and how far to go."""

    plan_file: Path | None = None  # apply exactly this saved plan (refused if stale)
    allow_destructive: bool = False
    allow_migrate: bool = False  # run the plan's schema migrations (e.g. add ownership columns)
    wait: bool = False
    wait_timeout: float = 1800.0
    lock: bool = True  # hold the target's live-side lock (reconciler.apply.lock)
    lock_timeout: float = 0.0  # seconds to wait for it when another apply holds it
    selection: Selection | None = None  # --only/--label: plan and apply only these objects
    variables: CommandLineVariables = NO_VARIABLES  # --var / --var-file, in command-line order
    parallelism: int | None = None  # requests in flight at once (None: RECONCILER_PARALLELISM, else 10)


@dataclass(frozen=True)
class ApplyHooks:
    """The caller's part in an apply, called in this order (each only when it applies):
    `planned` with the plan that would be applied; `confirm` (false cancels, nothing changed);
    `applied` with the report. `progress` hears, while it runs, each operation start and end,
    each look of `--wait` and of a wait for the target's lock (reconciler.apply.progress).
    `notice` gets lines about the run itself (waiting for the target's lock, no place to hold one)."""

    planned: Callable[[Plan], None] = _nothing
    confirm: Callable[[Plan], bool] = _refuse
    applied: Callable[[Plan, ApplyReport], None] = _nothing
    progress: ApplyObserver = field(default_factory=ApplyObserver)
    notice: Callable[[str], None] = _nothing


@dataclass
class ApplyOutcome:
    plan: Plan
    report: ApplyReport | None = None  # None: nothing to change, or cancelled
    cancelled: bool = False
    waited: bool = False  # every changed object reported ready
    wait_error: str | None = None  # `--wait` saw a failure or timed out (the apply itself went through)

    @property
    def ok(self) -> bool:
        return (self.report is None or self.report.ok) and self.wait_error is None


def saved_variables(saved: Plan, plan_file: str, given: CommandLineVariables) -> CommandLineVariables:
    """The plan's `--var` values, then those `given` now (which win). A sensitive value is not in
    the file ("(sensitive)"): it must be given again, else the apply stops before reading anything."""
    from reconciler import secrets

    now = {a.name for a in given.assignments}
    missing = [name for name, value in saved.variables.items() if value == secrets.SENSITIVE and name not in now]
    if missing:
        names = ", ".join(missing)
        raise ReconcilerError(
            f"{plan_file}: the plan was made with sensitive variable(s) {names}, whose values a saved plan does not "
            f"keep: pass them again (--var-file FILE or --var {missing[0]}=VALUE)"
        )
    kept = tuple(
        Assignment(name, value, plan_file)
        for name, value in saved.variables.items()
        if value != secrets.SENSITIVE and name not in now
    )
    return replace(given, assignments=kept + given.assignments)


def _with_sensitive_values(saved: Plan, session: Session, live: LiveState) -> tuple[Plan, LiveState]:
    """A saved plan holds `(sensitive)` where a secret was (reconciler/secrets.py): apply then
    executes a fresh plan that shows exactly the saved one once redacted, with the real values."""
    from reconciler import secrets

    saved_json = saved.to_json()
    if secrets.SENSITIVE not in saved_json:
        return saved, live
    fresh, fresh_live = session.plan(live=live)
    fresh.specs_dir = saved.specs_dir  # where the specs are read from now is no difference
    if secrets.redact(fresh.to_json()) != secrets.redact(saved_json):
        raise StalePlanError(
            "plan is stale; nothing was applied. Make a new plan.\n"
            "  - the plan's sensitive values could not be matched to the specs' current values"
        )
    return fresh, fresh_live


def run_apply(
    specs_dir: Path, target: str | None, options: ApplyOptions = ApplyOptions(), hooks: ApplyHooks = ApplyHooks()
) -> ApplyOutcome:
    """Make `target`'s live state match `specs_dir` (see the module docstring for the steps).

    A saved plan carries its target and variables: `target` defaults to the plan's, and the
    plan's `--var` values are used unless given again."""
    saved = load_plan_file(options.plan_file) if options.plan_file is not None else None
    variables = options.variables
    if saved is not None:
        target = target or saved.target
        variables = saved_variables(saved, str(options.plan_file), variables)
    with (
        Session(specs_dir, target, options.selection, variables, options.parallelism) as session,
        _held_lock(session, options, hooks),
    ):
        if saved is not None:
            the_plan = saved
            live = session.read_live()
            check_fresh(the_plan, session, live)
            the_plan, live = _with_sensitive_values(the_plan, session, live)
        else:
            the_plan, live = session.plan()
        hooks.planned(the_plan)
        if not the_plan.has_changes:
            return ApplyOutcome(the_plan)
        check_destructive(the_plan, options.allow_destructive)
        check_migrations(the_plan, options.allow_migrate)
        if not hooks.confirm(the_plan):
            return ApplyOutcome(the_plan, cancelled=True)
        report = execute(the_plan, session, live, hooks.progress)
        hooks.applied(the_plan, report)
        outcome = ApplyOutcome(the_plan, report)
        if options.wait and report.ok:
            try:
                wait_ready(report, session, options.wait_timeout, hooks.progress)
            except ReconcilerError as exc:
                outcome.wait_error = str(exc)
                return outcome
            outcome.waited = True
        return outcome


def _held_lock(session: Session, options: ApplyOptions, hooks: ApplyHooks) -> AbstractContextManager[object]:
    """The target's lock for the whole apply, taken before anything is read (as Terraform)."""
    if not options.lock:
        return nullcontext()
    store = lock_store_for(session)
    if store is None:
        hooks.notice(
            f"note: target '{session.context.name}' has no policy store or Databricks workspace to hold a lock; "
            "concurrent applies to it are not coordinated"
        )
        return nullcontext()
    return _lock_reported(session, store, options.lock_timeout, hooks)


@contextmanager
def _lock_reported(session: Session, store: LockStore, timeout: float, hooks: ApplyHooks) -> Iterator[LockInfo]:
    """`target_lock`, with a wait for a busy lock told to `hooks` as it begins and as it ends,
    so the progress reporter's heartbeats cover it ("still waiting for the lock of ...")."""
    subject = f"the lock of target '{session.context.name}'"
    began = time.monotonic()
    waited = taken = False

    def on_wait(holder: LockInfo) -> None:
        nonlocal waited
        waited = True
        hooks.notice(f"waiting up to {timeout:g}s for {holder.describe()}")
        hooks.progress.waiting(subject, f"held by {holder.user}@{holder.host} (lock {holder.id})", 0.0, timeout)

    lease = session.context.config.lock.lease_seconds
    try:
        with target_lock(store, session.context.name, timeout, on_wait, lease_seconds=lease) as held:
            taken = True
            if waited:
                hooks.progress.ready(subject, f"taken after {duration_text(time.monotonic() - began)}")
            yield held
    finally:
        if waited and not taken:
            hooks.progress.ready(subject, "not taken")


def force_unlock(specs_dir: Path, target: str | None, lock_id: str) -> LockInfo:
    """Remove the target's lock `lock_id` (`reconciler force-unlock`); the removed lock."""
    with Session(specs_dir, target) as session:
        store = lock_store_for(session)
        if store is None:
            raise ReconcilerError(
                f"target '{session.context.name}' holds no lock (no policy store or Databricks workspace)"
            )
        with lock_errors(store, "removing"):
            removed = store.release(lock_id)
            current = store.current() if removed is None else None
        if removed is None:
            held = f"; the current one is {current.describe()}" if current else "; the target is not locked"
            raise ReconcilerError(f"no lock {lock_id} on target '{session.context.name}'{held}")
        return removed


__all__ = ["ApplyHooks", "ApplyOptions", "ApplyOutcome", "force_unlock", "load_plan_file", "run_apply"]
