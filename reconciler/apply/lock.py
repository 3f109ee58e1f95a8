"""One apply at a time per target, with the lock held on the live side.

Why on the live side: two CI jobs (or a person and a job) applying to one target from different
machines share nothing but the live systems, and two applies interleaving their writes lose
updates (ledger entries, group writes). Like Terraform's state lock, the lock is taken by `apply`
only (plan and drift read), names its holder (user, host, pid, CI run URL), and carries a lease
that a heartbeat renews while the apply runs: a holder killed with SIGKILL stops renewing, and
its lock can be taken over once the lease has expired. `reconciler force-unlock ID` removes a
lock whose holder is known to be gone.

Where the lock lives, by what the target has:
- a SQL policy store (SQLite, the embedded default, PostgreSQL, ...): a row of
  `reconciler_locks` in the same database, taken with an INSERT and renewed/taken over with
  compare-and-swap UPDATEs on the lock id (`SqlLockStore`);
- otherwise a Databricks workspace: a lock file beside the monitor ledger, created with
  `overwrite=false` so only one creator wins (`WorkspaceLockStore`);
- otherwise (a Grafana-only target) there is no live place for it: the apply says so.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from reconciler.errors import ReconcilerError

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient
    from sqlalchemy import Engine

    from reconciler.engine.session import Session

DEFAULT_LEASE_SECONDS = 120.0
LOCK_TABLE = "reconciler_locks"


class LockBusy(ReconcilerError):
    """Another apply holds the target's lock."""


@dataclass(frozen=True)
class LockInfo:
    """Who holds a target's lock, and until when unless renewed."""

    id: str
    target: str
    user: str
    host: str
    pid: int
    started_at: float
    expires_at: float
    ci_run: str | None = None

    @property
    def expired(self) -> bool:
        return time.time() > self.expires_at

    def describe(self) -> str:
        started = datetime.fromtimestamp(self.started_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        who = f"{self.user}@{self.host} (pid {self.pid})"
        run = f", CI run {self.ci_run}" if self.ci_run else ""
        left = self.expires_at - time.time()
        lease = f"lease expires in {left:.0f}s" if left > 0 else "lease expired"
        return f"lock {self.id} held by {who}{run} since {started}; {lease}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> LockInfo:
        data = json.loads(text)
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def ci_run_url() -> str | None:
    """The CI run this process belongs to, when the CI says so (GitHub Actions, GitLab CI)."""
    env = os.environ
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        return f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    return env.get("CI_JOB_URL") or env.get("BUILD_URL") or None


def new_lock(target: str, lease_seconds: float) -> LockInfo:
    now = time.time()
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return LockInfo(
        id=uuid.uuid4().hex[:12],
        target=target,
        user=user,
        host=socket.gethostname(),
        pid=os.getpid(),
        started_at=now,
        expires_at=now + lease_seconds,
        ci_run=ci_run_url(),
    )


class LockStore(ABC):
    """A live place holding at most one lock per target."""

    where: str = ""

    @abstractmethod
    def try_acquire(self, lock: LockInfo) -> LockInfo | None:
        """Take the lock (or take over an expired one); None when taken, else the holder."""

    @abstractmethod
    def renew(self, lock: LockInfo) -> bool:
        """Extend the lease of a lock we hold; False when it is no longer ours."""

    @abstractmethod
    def release(self, lock_id: str) -> LockInfo | None:
        """Remove the lock with this id; the removed lock, or None when no such lock is held."""

    @abstractmethod
    def current(self) -> LockInfo | None: ...


class SqlLockStore(LockStore):
    """A row per target in `reconciler_locks`, in the policy store's database."""

    def __init__(self, engine: Engine, target: str, where: str) -> None:
        from sqlalchemy import Column, Float, MetaData, String, Table, Text

        self.engine = engine
        self.target = target
        self.where = where
        self.table = Table(
            LOCK_TABLE,
            MetaData(),
            Column("target", String(200), primary_key=True),
            Column("lock_id", String(64), nullable=False),
            Column("expires_at", Float, nullable=False),
            Column("info", Text, nullable=False),
        )

    def _row(self, conn: Any) -> LockInfo | None:
        from sqlalchemy import select

        row = conn.execute(select(self.table.c.info).where(self.table.c.target == self.target)).first()
        return LockInfo.from_json(row[0]) if row else None

    def try_acquire(self, lock: LockInfo) -> LockInfo | None:
        from sqlalchemy.exc import IntegrityError
        from sqlalchemy.schema import CreateTable

        # IF NOT EXISTS: two applies starting at once must not both try to create the table.
        with self.engine.begin() as conn:
            conn.execute(CreateTable(self.table, if_not_exists=True))
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    self.table.insert().values(
                        target=self.target, lock_id=lock.id, expires_at=lock.expires_at, info=lock.to_json()
                    )
                )
            return None
        except IntegrityError:
            pass
        with self.engine.begin() as conn:
            holder = self._row(conn)
            if holder is not None and holder.id == lock.id:
                return None  # our own insert, retried
            if holder is None or not holder.expired:
                return holder or lock  # gone meanwhile: report busy once, the caller tries again
            # Take over an expired lease: compare-and-swap on the holder's id, so two takers
            # cannot both win.
            taken = conn.execute(
                self.table.update()
                .where(self.table.c.target == self.target, self.table.c.lock_id == holder.id)
                .values(lock_id=lock.id, expires_at=lock.expires_at, info=lock.to_json())
            )
            return None if taken.rowcount == 1 else holder

    def renew(self, lock: LockInfo) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(
                self.table.update()
                .where(self.table.c.target == self.target, self.table.c.lock_id == lock.id)
                .values(expires_at=lock.expires_at, info=lock.to_json())
            )
        return bool(done.rowcount == 1)

    def release(self, lock_id: str) -> LockInfo | None:
        from sqlalchemy import inspect

        if not inspect(self.engine).has_table(LOCK_TABLE):
            return None
        with self.engine.begin() as conn:
            holder = self._row(conn)
            if holder is None or holder.id != lock_id:
                return None
            conn.execute(self.table.delete().where(self.table.c.target == self.target, self.table.c.lock_id == lock_id))
        return holder

    def current(self) -> LockInfo | None:
        from sqlalchemy import inspect

        if not inspect(self.engine).has_table(LOCK_TABLE):
            return None
        with self.engine.connect() as conn:
            return self._row(conn)


class WorkspaceLockStore(LockStore):
    """A lock file in the Databricks workspace, created with overwrite=false."""

    def __init__(self, client: WorkspaceClient, path: str) -> None:
        self.client = client
        self.path = path
        self.where = f"workspace file {path}"

    def _write(self, lock: LockInfo, overwrite: bool) -> None:
        import io

        from databricks.sdk.errors import NotFound
        from databricks.sdk.service.workspace import ImportFormat

        def upload() -> None:
            self.client.workspace.upload(
                self.path, io.BytesIO(lock.to_json().encode()), format=ImportFormat.AUTO, overwrite=overwrite
            )

        try:
            upload()
        except NotFound:  # "The parent folder (...) does not exist.": the first lock of a target
            self.client.workspace.mkdirs(self.path.rsplit("/", 1)[0])
            upload()

    def try_acquire(self, lock: LockInfo) -> LockInfo | None:
        from databricks.sdk.errors import ResourceAlreadyExists

        try:
            self._write(lock, overwrite=False)
            return None
        except ResourceAlreadyExists:
            pass
        holder = self.current()
        if holder is not None and holder.id == lock.id:
            return None  # our own create, retried after its answer was lost
        if holder is None or not holder.expired:
            return holder or lock
        # An expired lease: remove it if it is still the same holder's, then race to create.
        again = self.current()
        if again is not None and again.id == holder.id:
            self._delete()
        try:
            self._write(lock, overwrite=False)
            return None
        except ResourceAlreadyExists:
            return self.current() or holder

    def renew(self, lock: LockInfo) -> bool:
        holder = self.current()
        if holder is None or holder.id != lock.id:
            return False
        self._write(lock, overwrite=True)
        return True

    def _delete(self) -> None:
        from databricks.sdk.errors import NotFound

        try:
            self.client.workspace.delete(self.path)
        except NotFound:
            pass

    def release(self, lock_id: str) -> LockInfo | None:
        holder = self.current()
        if holder is None or holder.id != lock_id:
            return None
        self._delete()
        return holder

    def release_held(self, lock: LockInfo) -> None:
        """Release a lock we took and whose lease has not run out (so nobody can have taken it
        over): one delete, without reading it back first."""
        if lock.expired:
            self.release(lock.id)
        else:
            self._delete()

    def current(self) -> LockInfo | None:
        from databricks.sdk.errors import NotFound

        try:
            raw = self.client.workspace.download(self.path).read()
        except NotFound:
            return None
        try:
            return LockInfo.from_json(raw)
        except (ValueError, TypeError, KeyError):
            raise ReconcilerError(f"the lock file {self.path} is not a reconciler lock; remove it") from None


def lock_store_for(session: Session) -> LockStore | None:
    """Where this target's lock lives (see the module docstring), or None when nowhere."""
    from reconciler.providers.sql_policies import SqlPolicyProvider

    context = session.context
    try:
        policies = session.provider("SlaPolicy")
    except ReconcilerError:
        policies = None
    if isinstance(policies, SqlPolicyProvider) and policies.configured(session.request(policies)):
        # The policy store's own engine: one connection pool per run.
        policies.ensure_database_file()
        return SqlLockStore(policies.engine, context.name, f"table {LOCK_TABLE} beside {policies.where}")
    if context.has_databricks:
        settings = context.config.quality_monitors
        ledger = settings.ledger_path if settings and settings.ledger_path else None
        project = context.project
        folder = ledger.rsplit("/", 1)[0] if ledger else f"/Shared/.reconciler/{project}/{context.name}"
        return WorkspaceLockStore(context.workspace_client(), f"{folder}/apply.lock")
    return None


@contextmanager
def lock_errors(store: LockStore, action: str) -> Iterator[None]:
    """The store's failures (a refused token, an unreachable database) as one clear error."""
    from sqlalchemy.exc import SQLAlchemyError

    from reconciler.providers.databricks_errors import live_errors

    try:
        with live_errors(f"{action} the apply lock ({store.where})"):
            yield
    except SQLAlchemyError as exc:
        raise ReconcilerError(f"{action} the apply lock ({store.where}) failed: {type(exc).__name__}: {exc}") from exc


@contextmanager
def target_lock(
    store: LockStore,
    target: str,
    timeout: float,
    on_wait: Callable[[LockInfo], None],
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    poll_seconds: float = 1.0,
) -> Iterator[LockInfo]:
    """Hold the target's lock for the block: wait up to `timeout` seconds for a busy lock
    (calling `on_wait` with the holder once), then fail naming the holder. A heartbeat renews
    the lease every third of it while the block runs."""
    deadline = time.monotonic() + timeout
    told = False
    while True:
        lock = new_lock(target, lease_seconds)
        with lock_errors(store, "taking"):
            holder = store.try_acquire(lock)
        if holder is None:
            break
        if not told and timeout > 0:
            # Said before the deadline check: a slow first try must not skip the notice.
            on_wait(holder)
            told = True
        if time.monotonic() >= deadline:
            raise LockBusy(
                f"target '{target}' is locked by another apply: {holder.describe()} ({store.where}). "
                f"Wait for it, or if its holder is gone: reconciler force-unlock {holder.id}"
            )
        time.sleep(min(poll_seconds, max(0.0, deadline - time.monotonic())))
    stop = threading.Event()
    lost: list[str] = []

    def heartbeat() -> None:
        current = lock
        while not stop.wait(lease_seconds / 3):
            current = LockInfo(**{**asdict(current), "expires_at": time.time() + lease_seconds})
            try:
                if not store.renew(current):
                    lost.append("the lock was taken over or removed (force-unlock?)")
                    return
            except Exception as exc:  # a renewal that fails is retried at the next beat
                lost.append(f"renewing the lock failed: {exc}")

    beat = threading.Thread(target=heartbeat, name="lock-heartbeat", daemon=True)
    beat.start()
    try:
        yield lock
    finally:
        stop.set()
        beat.join(timeout=5)
        try:
            store.release(lock.id)
        except Exception:  # the lease expires by itself; a failed release must not hide the result
            pass
