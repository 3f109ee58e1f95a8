"""The applier: executes a plan's operations, in order, through the providers.

It refuses before touching anything when the plan is destructive without consent or (for a saved
plan) stale; once started, the first failure stops the run (operations in flight finish, none is
started after it) and the report says exactly which operations ran, which failed and which never
started. Re-running plan/apply converges because every provider write is idempotent and keyed by
identity.

Independent operations run concurrently, up to the run's parallelism (`--parallelism`): a run of
consecutive operations of one kind whose provider says its objects are independent of each other
(`Provider.parallel_writes`, e.g. one monitor per table), none touching a key another one in the
run touches. Everything else (a folder before its rules, the steps of a replace, another kind)
keeps the plan's order, and the report lists operations in plan order whatever finished first.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.concurrency import ordered_map
from reconciler.engine import LiveState, Session
from reconciler.engine.session import needed_migrations
from reconciler.errors import PlanError, StalePlanError
from reconciler.kinds.base import Resource
from reconciler.plan.model import Action, Migration, Operation, Plan
from reconciler.providers.base import NotAttempted

from .interrupts import Interrupts
from .progress import ApplyObserver, WaitProgress


class OpStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    NOT_STARTED = "not started"


@dataclass
class OpResult:
    operation: Operation
    status: OpStatus
    error: str | None = None


@dataclass
class MigrationResult:
    migration: Migration
    status: OpStatus
    error: str | None = None


@dataclass
class ApplyReport:
    results: list[OpResult] = field(default_factory=list)
    # The signal (SIGINT/SIGTERM) that stopped the apply before every operation had started.
    interrupted: str | None = None
    migrations: list[MigrationResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        statuses = [m.status for m in self.migrations] + [r.status for r in self.results]
        return all(status is OpStatus.SUCCEEDED for status in statuses)

    def count(self, status: OpStatus) -> int:
        return sum(1 for r in self.results if r.status is status)

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "interrupted": self.interrupted,
            "results": [
                {
                    "action": r.operation.action.value,
                    "kind": r.operation.kind,
                    "name": r.operation.name,
                    "key": r.operation.key,
                    "status": r.status.value,
                    "error": r.error,
                }
                for r in self.results
            ],
            "migrations": [
                {
                    "kind": m.migration.kind,
                    "target": m.migration.target,
                    "description": m.migration.description,
                    "status": m.status.value,
                    "error": m.error,
                }
                for m in self.migrations
            ],
        }


def check_destructive(plan: Plan, allow_destructive: bool) -> None:
    destructive = plan.destructive_operations
    if destructive and not allow_destructive:
        listing = "\n".join(f"  - {op.action.value} {op.address}: {'; '.join(op.reasons)}" for op in destructive)
        raise PlanError(
            f"the plan has {len(destructive)} destructive operation(s); nothing was applied. "
            f"Re-run with --allow-destructive to apply them:\n{listing}"
        )


def check_migrations(plan: Plan, allow_migrate: bool) -> None:
    """Refuse, before anything runs, a plan with schema changes the user did not allow."""
    if plan.migrations and not allow_migrate:
        listing = "\n".join(
            f"  - {m.address}: {m.description}\n" + "".join(f"      {s}\n" for s in m.statements)
            for m in plan.migrations
        )
        raise PlanError(
            f"the plan needs {len(plan.migrations)} schema migration(s) first; nothing was applied. "
            f"Re-run with --allow-migrate to run them:\n{listing.rstrip()}"
        )


def check_fresh(plan: Plan, session: Session, live: LiveState) -> None:
    """Refuse a saved plan whose specs or live objects changed since it was made."""
    problems: list[str] = []
    if plan.target != session.specs.target_name:
        problems.append(f"the plan was made for target '{plan.target}', not '{session.specs.target_name}'")
    endpoints = session.context.endpoint_fingerprints()
    for system in sorted(set(plan.endpoints) | set(endpoints) if plan.endpoints else ()):
        if plan.endpoints.get(system) != endpoints.get(system):
            problems.append(
                f"the plan was made against another {system.replace('_', ' ')} endpoint of target '{plan.target}' "
                "(its URL, host or store differs)"
            )
    if plan.specs_digest != session.digest:
        problems.append("the specs changed since the plan was made (specs digest differs)")
    for op in plan.operations:
        key = op.replaces_key or op.key
        obj = live.find(op.kind, key)
        now = obj.fingerprint if obj is not None else None
        if op.action is Action.CREATE:
            if obj is not None:
                problems.append(f"{op.address}: was absent when planned, now exists")
        elif now != op.live_fingerprint:
            state = "is gone" if obj is None else "changed"
            problems.append(f"{op.address}: the live object {state} since the plan was made")
        if op.action is Action.REPLACE and op.replaces_key and live.find(op.kind, op.key) is not None:
            problems.append(f"{op.address}: its new identity {op.key[:12]} now exists")
    planned = {(m.kind, m.target) for m in plan.migrations}
    for migration in needed_migrations(plan, live):
        if (migration.kind, migration.target) not in planned:
            problems.append(f"{migration.address} now needs a schema migration ({migration.description})")
    if problems:
        raise StalePlanError(
            "plan is stale; nothing was applied. Make a new plan.\n" + "\n".join(f"  - {p}" for p in problems)
        )


def execute(plan: Plan, session: Session, live: LiveState, observer: ApplyObserver | None = None) -> ApplyReport:
    """Run the plan's migrations, then its operations; `observer` hears each one start and end."""
    observer = observer or ApplyObserver()
    report = ApplyReport()
    failed = False
    with Interrupts().installed() as interrupts:
        # Schema changes first (the writes need them); one failing means no operation starts.
        for migration in plan.migrations:
            if failed or interrupts.received:
                report.migrations.append(MigrationResult(migration, OpStatus.NOT_STARTED))
                continue
            observer.started(migration)
            began = time.monotonic()
            try:
                session.provider(migration.kind).migrate(migration)
            except Exception as exc:
                failed = True
                done = MigrationResult(migration, OpStatus.FAILED, f"{type(exc).__name__}: {exc}")
            else:
                done = MigrationResult(migration, OpStatus.SUCCEEDED)
            report.migrations.append(done)
            observer.finished(migration, done, time.monotonic() - began)
        stop = threading.Event()
        if failed:
            stop.set()
        begun = _Begun(plan, session)

        def run_one(op: Operation) -> OpResult:
            if stop.is_set() or interrupts.received:
                return OpResult(op, OpStatus.NOT_STARTED)
            observer.started(op)
            began = time.monotonic()
            error: Exception | None = None
            try:
                begun.begin(op.kind)
                _run(op, session, live)
            except Exception as exc:  # the live system's own error, reported verbatim
                error = exc
            result = _result(op, error)
            if result.status is OpStatus.FAILED:
                stop.set()
            observer.finished(op, result, time.monotonic() - began)
            return result

        ops = plan.operations
        parallelism = session.context.parallelism
        index = 0
        try:
            while index < len(ops):
                batch = [] if stop.is_set() or interrupts.received else _batch(ops, index, session)
                if len(batch) > 1:
                    # Independent operations one provider writes together (a policy table's rows in
                    # one statement): each still started, reported and timed as itself.
                    index += len(batch)
                    if _run_batch(batch, session, live, report, observer):
                        stop.set()
                    continue
                # Else the operations that may run at the same time (one, or a run of them).
                run = _concurrent_run(ops, index, session, parallelism)
                index += len(run)
                position = {op.address: i for i, op in enumerate(run)}
                waits = [[position.get(a, -1) for a in op.after] for op in run]
                report.results.extend(ordered_map(run_one, run, waits, parallelism))
        finally:
            begun.finish(report)
        report.interrupted = interrupts.received
    return report


class _Begun:
    """The providers an apply has begun (`Provider.begin_apply`, once each, before the first of
    its operations runs), finished once every operation has run or the run stopped."""

    def __init__(self, plan: Plan, session: Session) -> None:
        self.plan = plan
        self.session = session
        self.kinds: list[str] = []
        self._failed: dict[str, Exception] = {}
        self._lock = threading.Lock()

    def begin(self, kind: str) -> None:
        with self._lock:
            if kind in self.kinds:
                return
            if kind in self._failed:
                raise self._failed[kind]
            ops = [op for op in self.plan.operations if op.kind == kind]
            provider = self.session.provider(kind)
            try:
                provider.begin_apply(self.session.request(provider), ops)
            except Exception as exc:
                self._failed[kind] = exc
                raise
            self.kinds.append(kind)

    def finish(self, report: ApplyReport) -> None:
        """Each begun provider's `finish_apply`; its failure (a write held back until now) fails
        the operations of that kind that had succeeded, with its error."""
        for kind in reversed(self.kinds):
            try:
                self.session.provider(kind).finish_apply()
            except Exception as exc:
                for result in report.results:
                    if result.operation.kind == kind and result.status is OpStatus.SUCCEEDED:
                        result.status = OpStatus.FAILED
                        result.error = f"{type(exc).__name__}: {exc}"


def _concurrent_run(operations: list[Operation], start: int, session: Session, parallelism: int) -> list[Operation]:
    """The operations from `start` on that may execute concurrently: consecutive operations of
    one kind whose provider writes its objects independently (`Provider.parallel_writes`), each
    touching keys no other of the run touches. At least the one at `start`. Within the run an
    operation still waits for those it names in `Operation.after` (decided at plan time)."""
    first = operations[start]
    run = [first]
    keys = {first.key, first.replaces_key or first.key}
    if parallelism <= 1 or not session.provider(first.kind).parallel_writes:
        return run
    for op in operations[start + 1 :]:
        touched = {op.key, op.replaces_key or op.key}
        if op.kind != first.kind or touched & keys:
            break
        run.append(op)
        keys |= touched
    return run


def _batch(ops: list[Operation], start: int, session: Session) -> list[Operation]:
    """The run of operations from `start` on that one provider may apply in one batch."""
    provider = session.provider(ops[start].kind)
    end = start
    while (
        end < len(ops)
        and end - start < provider.batch_limit
        and ops[end].kind == ops[start].kind
        and provider.batchable(ops[end])
    ):
        end += 1
    return ops[start:end]


def _run_batch(
    batch: list[Operation], session: Session, live: LiveState, report: ApplyReport, observer: ApplyObserver
) -> bool:
    """Apply a batch through its provider, one result per operation; whether any failed."""
    provider = session.provider(batch[0].kind)
    items: list[Any] = []
    outcomes: list[Exception | None] = []
    for op in batch:
        observer.started(op)
        try:
            items.append(_targets(op, session, live))
        except Exception as exc:
            items.append(None)
            outcomes.append(exc)
        else:
            outcomes.append(None)
    began = time.monotonic()
    todo = [item for item in items if item is not None and item[2] is not _GONE]
    done = iter(
        provider.apply_batch(session.request(provider), [(op, res, obj) for op, res, obj in todo]) if todo else []
    )
    failed = False
    for op, item, problem in zip(batch, items, outcomes):
        result = _result(op, problem if item is None else (None if item[2] is _GONE else next(done)))
        failed = failed or result.status is OpStatus.FAILED
        report.results.append(result)
        observer.finished(op, result, time.monotonic() - began)
    return failed


def _result(op: Operation, error: Exception | None) -> OpResult:
    if isinstance(error, NotAttempted):
        return OpResult(op, OpStatus.NOT_STARTED)
    if error is not None:
        return OpResult(op, OpStatus.FAILED, f"{type(error).__name__}: {error}")
    return OpResult(op, OpStatus.SUCCEEDED)


_GONE: Any = object()  # a delete whose object is already gone: the desired outcome, nothing to do


def _targets(op: Operation, session: Session, live: LiveState) -> tuple[Operation, Resource | None, Any]:
    """What `op` is applied to: (op, its spec, its live object); `_GONE` as the live object of a
    delete whose object no longer exists."""
    if op.action is Action.DELETE:
        obj = live.find(op.kind, op.key)
        return op, None, _GONE if obj is None else obj
    resource = session.resource(op.kind, op.name)
    if resource is None:
        raise PlanError(f"{op.address} is not declared in the specs")
    obj = live.find(op.kind, op.replaces_key or op.key)
    if op.action is Action.UPDATE and obj is None:
        raise PlanError(f"{op.address} no longer exists")
    return op, resource, obj


def _run(op: Operation, session: Session, live: LiveState) -> None:
    """Execute the calls the plan lists for `op` (`Operation.calls`), through its provider."""
    op, resource, obj = _targets(op, session, live)
    if obj is not _GONE:
        provider = session.provider(op.kind)
        provider.apply(session.request(provider), op, resource, obj)


def wait_ready(report: ApplyReport, session: Session, timeout: float, observer: ApplyObserver) -> None:
    """`apply --wait`: block until every object created, updated or replaced is usable, per the
    providers (e.g. a lakehouse monitor ACTIVE with its metric tables); raises on failure/timeout.
    `observer` hears each look's state (with elapsed time and the deadline) and each ready object."""
    by_kind: dict[str, list[Resource]] = {}
    for result in report.results:
        op = result.operation
        if result.status is not OpStatus.SUCCEEDED or op.action is Action.DELETE:
            continue
        resource = session.resource(op.kind, op.name)
        if resource is not None:
            by_kind.setdefault(op.kind, []).append(resource)
    deadline = time.monotonic() + timeout
    progress = WaitProgress(observer, timeout)
    for kind, resources in by_kind.items():
        session.provider(kind).wait_ready(resources, max(deadline - time.monotonic(), 0.0), progress)
