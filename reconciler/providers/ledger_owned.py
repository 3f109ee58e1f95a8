"""Ownership kept in the target's workspace ledger (`workspace_ledger.py`), for the Databricks kinds
whose objects have no tag to carry a marker (QualityMonitor, AnomalyDetection): one base for what
their providers do alike, so the two cannot drift apart.

What an entry says: the spec name, `prevent_destroy`, the write-only values applied (the service
never returns them) and the applied digest. An object whose entry is read without the object (it
was deleted behind our back, or its create never happened) is stale: it is dropped at the next
write if it is then still absent and its entry unchanged (another run may have written it since).

Intent before create: the ledger says "ours, being created" (a `pending` entry) before the object
exists, so a lost answer, a kill or a failed ledger write after the create never leaves an object
reconciler made but does not recognise: the next run finds it managed and converges.

Written twice per apply, whatever the number of objects (issue #15: rewriting the whole file
around every object cost 131 MB each way at 1,000 monitors). `begin_apply` writes the intents of
every object the apply creates in one change; the operations then only collect what to record;
`finish_apply` confirms the creates and updates, drops the deleted and the intents of creates that
did not happen, in one change. Each change is a read-modify-write under the ledger's write lock, so
two applies at once keep each other's entries. A kill between the two leaves the intents, which
the next run resolves as above. Outside an apply (no `begin_apply`), each write goes through at once.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from databricks.sdk.errors import NotFound

from reconciler.concurrency import bounded_map
from reconciler.errors import ReconcilerError
from reconciler.kinds.base import FactsT, Kind, Resource, SpecT
from reconciler.last_applied import applied_digest
from reconciler.plan.model import Action, Operation

from .base import GeneratedSpecs, Provider
from .request import ProviderRequest
from .workspace_ledger import WorkspaceLedger, ledger_path, still_missing, target_ledger

if TYPE_CHECKING:
    from reconciler.providers.provider_target import ProviderTarget

T = TypeVar("T")
Entry = dict[str, Any]


@dataclass
class _Held:
    """What one apply records, held back until `finish_apply`."""

    intents: dict[str, Entry]  # key -> the pending entry `begin_apply` recorded
    changes: dict[str, Entry | None] = field(default_factory=dict)  # key -> entry to record, None: drop


class LedgerOwnedProvider(Provider[SpecT, FactsT]):
    """A provider whose objects' ownership is their entries in the target's workspace ledger."""

    #: How messages name one object, before "on <key>" ("monitor", "anomaly detection monitor").
    noun: str = "object"
    # Each object is its own API call and its own ledger entry (one monitor per table or schema).
    parallel_writes = True

    def __init__(self, kind: Kind[SpecT, FactsT], target: ProviderTarget) -> None:
        super().__init__(kind, target)
        self._ledger: WorkspaceLedger | None = None
        self._entries: dict[str, Entry] = {}  # as the last read found them
        self._gone: dict[str, Entry] = {}  # entries read without their object, as read
        self._held: _Held | None = None
        self._lock = threading.Lock()

    @property
    def ledger(self) -> WorkspaceLedger:
        if self._ledger is None:
            self._ledger = target_ledger(self.target)
        return self._ledger

    @property
    def ledger_path(self) -> str:
        return ledger_path(self.target)

    @abstractmethod
    def probe(self, key: str) -> object:
        """Fetch the live object `key`; NotFound when there is none (a stale entry's re-check)."""

    def write_only(self, resource: Resource[SpecT]) -> dict[str, Any]:
        """The create-only values a create applies that the service never returns."""
        return self.kind.fields.write_only_values(resource.state)

    # --- reading -------------------------------------------------------------------------------

    def read_owned(
        self, declared: Sequence[str], fetch: Callable[[str], T | None]
    ) -> list[tuple[str, T, Entry | None]]:
        """(key, live object, ledger entry) for each declared key and each key the ledger lists
        that has a live object, in that order: the ledger read once, `fetch` (None: no object)
        run with the run's parallelism. Entries without their object are remembered as stale."""
        entries = self.ledger.entries(self.kind.name)
        self._entries = entries
        keys = list(dict.fromkeys([*declared, *entries]))
        found = bounded_map(fetch, keys, self.target.parallelism)
        owned: list[tuple[str, T, Entry | None]] = []
        for key, obj in zip(keys, found, strict=True):
            if obj is None:
                if key in entries:
                    self._gone[key] = entries[key]  # deleted behind our back: the entry is stale
                continue
            owned.append((key, obj, entries.get(key)))
        return owned

    def ownership(self, entry: Entry | None) -> dict[str, Any]:
        """The `LiveObject` fields an entry gives (managed, spec name, prevent_destroy, what was
        last applied)."""
        recorded = entry is not None and bool(self.kind.fields.write_only_paths)
        return {
            "managed": entry is not None,
            "name": entry.get("spec_name") if entry else None,
            "prevent_destroy": bool(entry.get("prevent_destroy")) if entry else False,
            "last_applied": dict(entry.get("write_only") or {}) if entry and recorded else None,
            "applied_digest": entry.get("applied_digest") if entry else None,
        }

    def fetch_or_none(self, key: str, get: Callable[[str], T]) -> T | None:
        try:
            return get(key)
        except NotFound:
            return None

    # --- the writes of an apply --------------------------------------------------------------------

    def begin_apply(self, request: ProviderRequest, operations: Sequence[Operation]) -> None:
        """Hold the apply's ledger writes back, and record the intent of every create in one
        write. A replace in place needs none: the replaced object's entry marks the key as ours."""
        by_name = {r.name: r for r in self.declared_resources(request)}
        creates = [
            by_name[op.name]
            for op in operations
            if op.name in by_name
            and (op.action is Action.CREATE or (op.action is Action.REPLACE and op.replaces_key not in (None, op.key)))
        ]
        intents = {r.key: self._entry(r, self.write_only(r), pending=True) for r in creates}
        recorded: dict[str, Entry] = {}
        if intents:
            try:
                recorded = self.ledger.update(self.kind.name, put=intents)
            except Exception as exc:
                raise ReconcilerError(
                    f"recording the {self._count(intents)} to be created in the ownership ledger {self.ledger_path} "
                    f"before creating them failed: {exc}. Nothing was created; re-run apply"
                ) from exc
        self._held = _Held(recorded)

    def finish_apply(self) -> None:
        """One write: the creates and updates confirmed, the deleted dropped, and the intents of
        creates that did not happen (failed, or not started) and the stale entries dropped."""
        held, self._held = self._held, None
        if held is None:
            return
        put = {k: e for k, e in held.changes.items() if e is not None}
        remove = [k for k, e in held.changes.items() if e is None]
        stale = {**self._stale(), **{k: e for k, e in held.intents.items() if k not in held.changes}}
        if not (put or remove or stale):
            return
        try:
            self.ledger.update(self.kind.name, put=put, remove=remove, stale=stale)
        except Exception as exc:
            raise ReconcilerError(
                f"the {self.noun}s were written, but recording them in the ownership ledger {self.ledger_path} "
                f"failed: {exc}. Re-run apply: the entries written before the creates mark the new ones as "
                "reconciler's, so the run converges"
            ) from exc

    def _count(self, keys: Sequence[str] | dict[str, Any]) -> str:
        names = sorted(keys)
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        return f"{self.noun} on {shown}" if len(names) == 1 else f"{len(names)} {self.noun}s ({shown})"

    # --- recording one object ------------------------------------------------------------------------

    def create_owned(
        self, resource: Resource[SpecT], create: Callable[[], None], as_desired: Callable[[], bool]
    ) -> None:
        """`create()` with its intent recorded first and its outcome after. An error is ambiguous
        (our own retried create whose first answer was lost, or someone else's object): ours only
        if the object is now exactly what we asked for (`as_desired`)."""
        write_only = self.write_only(resource)
        self._record_intent(resource, write_only)
        try:
            create()
        except Exception:
            if not as_desired():
                self._forget_intent(resource.key)
                raise
        self.record(resource, write_only, created=True)

    def _record_intent(self, resource: Resource[SpecT], write_only: dict[str, Any]) -> None:
        with self._lock:
            held = self._held
        if held is not None and (resource.key in held.intents or resource.key in self._entries):
            return  # recorded by begin_apply, or (a replace in place) the replaced object's entry stands
        try:
            self.ledger.put(self.kind.name, resource.key, self._entry(resource, write_only, pending=True))
        except Exception as exc:
            raise ReconcilerError(
                f"recording the {self.noun} on {resource.key} in the ownership ledger {self.ledger_path} before "
                f"creating it failed: {exc}. Nothing was created; re-run apply"
            ) from exc

    def _forget_intent(self, key: str) -> None:
        """Drop a pending entry whose create did not happen. In an apply, `finish_apply` drops
        every intent not confirmed; outside one, at once and best effort (a stale pending entry
        without its object is dropped by the next run anyway)."""
        with self._lock:
            if self._held is not None:
                return
        try:
            entry = self.ledger.entries(self.kind.name).get(key)
            if entry and entry.get("pending"):
                self.ledger.remove(self.kind.name, key)
        except Exception:
            pass

    def record(self, resource: Resource[SpecT], write_only: dict[str, Any], created: bool = False) -> None:
        """Record `resource` as applied (a create confirmed, or an update)."""
        entry = self._entry(resource, write_only)
        with self._lock:
            if self._held is not None:
                self._held.changes[resource.key] = entry
                return
        try:
            self.ledger.put(self.kind.name, resource.key, entry, stale=self._stale())
        except Exception as exc:
            if created:
                raise ReconcilerError(
                    f"the {self.noun} on {resource.key} was created, but confirming it in the ownership ledger "
                    f"{self.ledger_path} failed: {exc}. Re-run apply: the ledger's pending entry marks it as "
                    "reconciler's, so the run converges"
                ) from exc
            raise ReconcilerError(
                f"the {self.noun} on {resource.key} was updated, but recording it in the ownership ledger "
                f"{self.ledger_path} failed: {exc}. Re-run apply, or record it with: "
                f"{self.target.import_command(self.kind.name, resource.key)}"
            ) from exc

    def delete_owned(self, key: str, delete: Callable[[], None]) -> None:
        """`delete()` (already gone is the desired outcome), then its entry dropped."""
        try:
            delete()
        except NotFound:
            pass
        with self._lock:
            if self._held is not None:
                self._held.changes[key] = None
                return
        self.ledger.remove(self.kind.name, key, stale=self._stale())

    def adopt_owned(self, key: str, name: str | None) -> None:
        """`reconciler import`: record an existing object as ours. No write-only values: reconciler
        did not create it, so it cannot know them."""
        if key in self.ledger.entries(self.kind.name):
            raise ReconcilerError(f"the {self.noun} on {key} is already managed by {self.target.owner}")
        self.ledger.put(self.kind.name, key, {"spec_name": name or key, "prevent_destroy": False, "write_only": {}})

    def adopt_generated(self, result: GeneratedSpecs, key: str, name: str, entries: dict[str, Entry]) -> None:
        """`import --generate-specs`: the object of a spec just generated is adopted once the spec
        is written, unless the ledger (`entries`, as read) already lists it."""
        if key in entries:
            result.notes.append(
                f"the {self.noun} on {key} is already managed by {self.target.owner}: spec written, nothing to adopt"
            )
        else:
            result.adopt.append((key, name))

    def _entry(self, resource: Resource[SpecT], write_only: dict[str, Any], pending: bool = False) -> Entry:
        entry: Entry = {
            "spec_name": resource.name,
            "prevent_destroy": bool(resource.lifecycle.prevent_destroy),
            "write_only": write_only,
            "applied_digest": applied_digest(self.kind.fields, resource.state),
        }
        if pending:
            entry["pending"] = True
        return entry

    def _stale(self) -> dict[str, Entry]:
        gone, self._gone = self._gone, {}
        return still_missing(gone, self.probe)
