"""The ownership ledger: which Databricks objects reconciler manages on a target, kept live.

Why a workspace file: CI runs start from a clean checkout, so ownership must live on the live
side, and objects such as lakehouse monitors have no tag to carry a marker. Databricks Asset
Bundles keep their deployment state the same way (a file in the workspace). One JSON file per
target, read and written through `w.workspace` (databricks-sdk):

    {"format_version": 1, "managed_by": "reconciler/<project>", "target": "<target>",
     "objects": {"QualityMonitor": {"main.sales.orders": {
         "spec_name": "orders", "prevent_destroy": false, "applied_at": "2025-...",
         "write_only": {"warehouse_id": "...", "skip_builtin_dashboard": false}}}}}

`write_only` keeps the create-only values the service never returns, so they can be diffed; an
adopted object has none until reconciler recreates it.

Every change is a read-modify-write under a short write lock, because two applies
(`--no-lock`, or a lock whose lease ran out) or two kinds in one run may change the file at once,
and an overwrite would drop the other's entries. The Workspace API has no conditional overwrite
(a check just before the upload still races it: another writer's upload lands within the one
request), but its create with `overwrite=false` is atomic: the writer that creates
`<ledger>.lock` (a `WorkspaceLockStore` file, holder and lease as the apply lock's) reads the
ledger, applies its change to what it read, uploads and removes the lock; the others wait
(tenacity, jittered) and then re-read. A writer killed while holding it stops nobody for longer
than the lease (the target's `lock.lease_seconds`). The first write creates the file with
`overwrite=false` too. One change may record and drop any number of entries (`update`): an apply
changes the file twice, whatever the number of objects it writes (`ledger_owned.py`).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from databricks.sdk.errors import NotFound, ResourceAlreadyExists
from databricks.sdk.service.workspace import ImportFormat

from reconciler.errors import ReconcilerError

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

    from reconciler.providers.provider_target import ProviderTarget

log = logging.getLogger("reconciler.ledger")

FORMAT_VERSION = 1
DEFAULT_LEASE_SECONDS = 120.0
# How long a writer waits for the write lock beyond a dead holder's lease.
WAIT_BEYOND_LEASE_SECONDS = 30.0


class LedgerBusy(Exception):
    """Another writer holds the ledger's write lock: wait and try again."""


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def ledger_path(target: ProviderTarget) -> str:
    """The target's ledger file: one per target, shared by every Databricks kind that keeps
    ownership in it (QualityMonitor, AnomalyDetection), each under its own kind key."""
    settings = target.config.quality_monitors
    if settings is not None and settings.ledger_path:
        return settings.ledger_path
    return f"/Shared/.reconciler/{target.project}/{target.name}/ledger.json"


def target_ledger(target: ProviderTarget) -> WorkspaceLedger:
    return WorkspaceLedger(
        target.workspace_client(),
        ledger_path(target),
        target.owner,
        target.name,
        lease_seconds=target.config.lock.lease_seconds,
    )


class WorkspaceLedger:
    def __init__(
        self,
        client: WorkspaceClient,
        path: str,
        owner: str,
        target: str,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self.client = client
        self.path = path
        self.owner = owner
        self.target = target
        self.lease_seconds = lease_seconds

    def _download(self) -> bytes | None:
        try:
            raw: bytes = self.client.workspace.download(self.path).read()
        except NotFound:
            return None
        return raw

    def _parse(self, raw: bytes | None) -> dict[str, Any]:
        if raw is None:
            return {"format_version": FORMAT_VERSION, "managed_by": self.owner, "target": self.target, "objects": {}}
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ReconcilerError(
                f"the ownership ledger {self.path} is not valid JSON ({exc}); fix or remove it"
            ) from exc
        if not isinstance(doc, dict) or doc.get("format_version") != FORMAT_VERSION:
            raise ReconcilerError(f"the ownership ledger {self.path} has an unknown format; fix or remove it")
        if doc.get("managed_by") != self.owner:
            raise ReconcilerError(
                f"the ownership ledger {self.path} belongs to {doc.get('managed_by')!r}, not {self.owner!r}: "
                "give this project its own ledger_path"
            )
        doc.setdefault("objects", {})
        return doc

    def entries(self, kind: str) -> dict[str, dict[str, Any]]:
        return dict(self._parse(self._download())["objects"].get(kind, {}))

    def put(
        self, kind: str, key: str, entry: dict[str, Any], stale: Mapping[str, dict[str, Any]] | None = None
    ) -> None:
        """Record `key`, and drop the `stale` entries (see `update`)."""
        self.update(kind, put={key: entry}, stale=stale)

    def remove(self, kind: str, *keys: str, stale: Mapping[str, dict[str, Any]] | None = None) -> None:
        """Drop `keys`, and the `stale` entries (see `update`)."""
        self.update(kind, remove=keys, stale=stale)

    def update(
        self,
        kind: str,
        put: Mapping[str, dict[str, Any]] | None = None,
        remove: Iterable[str] = (),
        stale: Mapping[str, dict[str, Any]] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """One read-modify-write of the kind's entries, however many change: record each of `put`
        (stamped with the time), drop `remove`, and drop each `stale` entry that is still exactly
        as given (an entry read without its object, or an intent whose create did not happen):
        an entry another run rewrote meanwhile is its, and kept. Returns the entries as recorded."""
        now = now_iso()
        recorded = {key: {**entry, "applied_at": now} for key, entry in (put or {}).items()}
        gone = tuple(remove)

        def change(objects: dict[str, Any]) -> None:
            _drop_stale(objects, stale)
            for key in gone:
                objects.pop(key, None)
            objects.update(recorded)

        self._change(kind, change)
        return recorded

    def _change(self, kind: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Apply `change` to the kind's entries under the ledger's write lock (module docstring)."""
        with self._write_lock():
            raw = self._download()
            doc = self._parse(raw)
            objects = doc["objects"].setdefault(kind, {})
            before = json.dumps(objects, sort_keys=True)
            change(objects)
            if json.dumps(objects, sort_keys=True) == before:
                return  # nothing to write (already recorded, or already gone)
            self._upload(doc, create=raw is None)

    def _upload(self, doc: dict[str, Any], create: bool) -> None:
        # The folder exists: the write lock beside the file was just created in it.
        data = (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
        try:
            self.client.workspace.upload(self.path, io.BytesIO(data), format=ImportFormat.AUTO, overwrite=not create)
        except ResourceAlreadyExists as exc:
            if self._download() == data:
                return  # our own create, retried after its answer was lost
            # Only a writer ignoring the write lock can have created it meanwhile.
            raise ReconcilerError(
                f"the ownership ledger {self.path} appeared while reconciler created it; re-run apply"
            ) from exc

    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_random_exponential

        from reconciler.apply.lock import WorkspaceLockStore, new_lock

        store = WorkspaceLockStore(self.client, self.path + ".lock")
        lock = new_lock(self.target, self.lease_seconds)
        holder = None

        def take() -> None:
            nonlocal holder
            holder = store.try_acquire(lock)
            if holder is not None:
                raise LedgerBusy(holder)

        retrying = Retrying(
            retry=retry_if_exception_type(LedgerBusy),
            stop=stop_after_delay(self.lease_seconds + WAIT_BEYOND_LEASE_SECONDS),
            wait=wait_random_exponential(multiplier=0.02, max=0.5),
            reraise=True,
        )
        try:
            retrying(take)
        except LedgerBusy:
            raise ReconcilerError(
                f"the ownership ledger {self.path} is being written by another run "
                f"({holder.describe() if holder else 'unknown'}); re-run apply when it is done"
            ) from None
        try:
            yield
        finally:
            try:
                store.release_held(lock)
            except Exception:
                log.warning("could not remove the ledger's write lock %s; it expires with its lease", store.path)


def _drop_stale(objects: dict[str, Any], stale: Mapping[str, dict[str, Any]] | None) -> None:
    for key, entry in (stale or {}).items():
        if objects.get(key) == entry:
            del objects[key]


def still_missing(gone: Mapping[str, dict[str, Any]], fetch: Callable[[str], object]) -> dict[str, dict[str, Any]]:
    """The entries read without their object (`gone`) whose object is still absent (`fetch`
    raises NotFound): another apply may have created one since, under its pending entry, and
    that entry is then its, not stale. An unknown answer keeps the entry."""
    missing = {}
    for key, entry in gone.items():
        try:
            fetch(key)
        except NotFound:
            missing[key] = entry
        except Exception:
            continue
    return missing
