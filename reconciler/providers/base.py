"""The one small interface every live system implements, per kind.

A provider reads live objects and executes single operations; it never plans. Reads return
objects in the same normalised shape as the kind's desired state, with an ownership flag, so the
planner can compare them without knowing anything about the backend.

What a provider may know is narrow and typed. Of the specs: each call that needs them is
handed its `ProviderRequest` (`read(request)`, `check(request)`, `apply(request, op, ...)`,
`adopt(request, key)`, ...), which holds the declared objects of its own kind and of the kinds it
names in `sees_kinds` (nothing else), the owner marker and the project id; asking it for another
kind fails loudly. Of the target: `self.target`, a `ProviderTarget` with its names,
configuration and endpoints (never the run's `TargetContext` or its specs).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Generic, cast

from reconciler.diagnostics import Diagnostic
from reconciler.errors import ReconcilerError
from reconciler.kinds.base import FactsT, Kind, LiveObject, Resource, SpecT
from reconciler.plan.model import Action, Migration, Operation
from reconciler.providers.request import ProviderRequest

if TYPE_CHECKING:
    from reconciler.apply.progress import WaitProgress
    from reconciler.providers.provider_target import ProviderTarget
    from reconciler.targets import LiveSystem


class ReplaceIncomplete(ReconcilerError):
    """A replace removed the old object but could not create the new one."""


class NotAttempted(ReconcilerError):
    """An operation of a batch that was not attempted (an earlier part of the batch failed)."""


#: One operation as the applier hands it to a provider: the operation, its spec, its live object.
BatchItem = tuple[Operation, Resource[SpecT] | None, LiveObject[FactsT] | None]


@dataclass
class GeneratedSpecs:
    """Spec files written from live objects (`reconciler import --generate-specs`)."""

    files: dict[str, str] = field(default_factory=dict)  # path relative to the spec directory -> YAML
    adopt: list[tuple[str, str]] = field(default_factory=list)  # (key, spec name) to adopt once written
    notes: list[str] = field(default_factory=list)


@dataclass
class Adopted:
    """What `reconciler import` took over, and what the user must know about it."""

    key: str
    notes: list[str] = field(default_factory=list)


class Provider(ABC, Generic[SpecT, FactsT]):
    """Live-system access for one kind on one backend."""

    backend: str = ""
    # The live system this provider talks to, if the target may leave it out (a target without
    # Grafana has no Grafana providers to read): `configured` then asks the target for it.
    live_system: LiveSystem | None = None
    # Environment variables an export file read by `generate_specs` may expand, where the live
    # system's own file provisioning would (`reconciler import --expand-env`; "*": all).
    expand_env: tuple[str, ...] = ()
    # Kinds besides its own whose declared objects this provider needs (see `ProviderRequest`).
    sees_kinds: tuple[str, ...] = ()

    def __init__(self, kind: Kind[SpecT, FactsT], target: ProviderTarget) -> None:
        self.kind = kind
        self.target = target

    def configured(self, request: ProviderRequest) -> bool:
        """Whether the target gives this provider a live system to talk to. A provider whose
        system is not configured is skipped when no spec of its kind is declared."""
        return self.live_system is None or self.target.has(self.live_system)

    @abstractmethod
    def read(self, request: ProviderRequest) -> list[LiveObject[FactsT]]:
        """Live objects in scope: those the request declares (`request.of()`) plus every object
        reconciler manages, and any unmanaged ones the backend can see cheaply (they are shown,
        never changed)."""

    def check(self, request: ProviderRequest) -> list[Diagnostic]:
        """Plan-time checks of specs against the live system (e.g. a column that does not exist):
        diagnostics about the objects (`Resource.error(path, summary)`); the engine resolves
        them to file:line."""
        return []

    def loss_facts(self, live: Sequence[LiveObject[FactsT]]) -> list[LiveObject[FactsT]]:
        """`live` — the objects a plan replaces or deletes — with the facts only their loss
        warnings need, read now (e.g. a monitor's refresh history), so they are read for those
        few objects only, not for every object on every plan. The session then plans again with
        them. Return an object unchanged (the same instance) when there is nothing to add."""
        return list(live)

    def notes(self) -> list[str]:
        """Facts about the backend a plan should state (e.g. 'the table will be created')."""
        return []

    def apply(
        self, request: ProviderRequest, op: Operation, resource: Resource[SpecT] | None, live: LiveObject[FactsT] | None
    ) -> None:
        """Execute the calls the plan lists for `op`. Default: the operation's one call, as the
        create / update / replace / delete below; a provider whose operations are several
        planned calls (Grafana) executes each of `op.calls` instead."""
        if op.action is Action.DELETE:
            assert live is not None
            self.delete(live)
        elif resource is None:
            raise ReconcilerError(f"{op.address} is not declared in the specs")
        elif op.action is Action.CREATE or (op.action is Action.REPLACE and live is None):
            self.create(resource)
        elif op.action is Action.UPDATE:
            assert live is not None
            self.update(resource, live)
        else:
            assert live is not None
            self.replace(resource, live)

    #: How many consecutive operations `apply_batch` takes at once; 1: the provider has no batch.
    batch_limit: int = 1

    def batchable(self, op: Operation) -> bool:
        """Whether `op` may be applied in a batch with its neighbours (see `apply_batch`)."""
        return False

    def apply_batch(
        self, request: ProviderRequest, items: Sequence[BatchItem[SpecT, FactsT]]
    ) -> list[Exception | None]:
        """Apply several independent operations at once (a store that writes many rows in one
        statement); the outcome of each, in order: None (done), its error, or `NotAttempted`.
        Default: one by one, stopping at the first failure."""
        outcomes: list[Exception | None] = []
        for op, resource, live in items:
            if any(outcomes):
                outcomes.append(NotAttempted(f"{op.address}: not attempted after a failure in its batch"))
                continue
            try:
                self.apply(request, op, resource, live)
            except Exception as exc:  # reported per operation by the applier
                outcomes.append(exc)
            else:
                outcomes.append(None)
        return outcomes

    def begin_apply(self, request: ProviderRequest, operations: Sequence[Operation]) -> None:
        """Called once per apply before the first of this provider's `operations` (all of them,
        in plan order) runs: where one write can stand for many (e.g. the workspace ledger's
        entries, held back until `finish_apply`). Raising fails that first operation."""

    def finish_apply(self) -> None:
        """Called once after the apply's operations ran (or it stopped) when `begin_apply` went
        through: write what was held back. Raising fails this provider's operations that had
        succeeded, with that error."""

    def migrations(self) -> list[Migration]:
        """Schema changes the live system needs before this provider can write, as found by the
        last `read` (e.g. ownership columns missing from a table). Run only with --allow-migrate."""
        return []

    def migrate(self, migration: Migration) -> None:
        """Make one schema change `migrations()` returned; retry-safe (re-checks what is missing)."""
        raise ReconcilerError(f"{self.kind.name} on the {self.backend} backend has no schema migrations")

    @abstractmethod
    def create(self, resource: Resource[SpecT]) -> None: ...

    @abstractmethod
    def update(self, resource: Resource[SpecT], live: LiveObject[FactsT]) -> None: ...

    @abstractmethod
    def delete(self, live: LiveObject[FactsT]) -> None: ...

    # Whether operations on different objects of this kind may run at the same time (apply's
    # --parallelism): set where each object is written on its own (one monitor per table), not
    # where objects share a write (rules of one Grafana group) or depend on each other.
    parallel_writes: bool = False

    # A replace whose new object has another key creates it first, so nothing is ever missing;
    # set this when the live system allows only one of them at a time (one monitor per table,
    # one rule title per folder), and the old object must go first.
    replace_deletes_first: bool = False

    def replace(self, resource: Resource[SpecT], live: LiveObject[FactsT]) -> None:
        if resource.key != live.key and not self.replace_deletes_first:
            self.create(resource)
            self.delete(live)
            return
        self.delete(live)
        try:
            self.create(resource)
        except Exception as exc:
            raise ReplaceIncomplete(
                f"{resource.kind} '{resource.name}': the old {self.describe_live(live)} was deleted, but creating "
                f"the new one failed: {exc}. Nothing of it exists now. Finish the replace with: "
                f"{self.target.finish_command}"
            ) from exc

    def describe_live(self, live: LiveObject[FactsT]) -> str:
        """How reports name a live object of this provider (e.g. 'monitor on main.sales.orders')."""
        return f"{self.kind.name} {live.key}"

    def wait_ready(self, resources: Sequence[Resource[SpecT]], timeout: float, progress: WaitProgress) -> None:
        """Block until objects just created, updated or replaced are usable (`apply --wait`),
        reporting each look's state and each object ready to `progress`; raise ReconcilerError
        on failure or after `timeout` seconds.
        Most live systems are ready when the write returns, hence the default."""

    def declared_resources(self, request: ProviderRequest) -> list[Resource[SpecT]]:
        """The declared objects of this provider's kind, typed in its spec model (the loader
        validated each against `kind.spec_model`)."""
        return cast(list[Resource[SpecT]], request.of())

    def declaring(self, request: ProviderRequest, key: str) -> Resource[SpecT] | None:
        """The spec that declares the live object `key`; import adopts only declared objects (an
        adopted object no spec declares would be planned for deletion next)."""
        return next((r for r in self.declared_resources(request) if r.key == key), None)

    def import_key(self, request: ProviderRequest, key: str) -> str:
        """The live key `reconciler import KIND KEY` means: KEY itself, or the key of the spec
        whose metadata.name is KEY (so a spec name works as well as the 64-hex hash)."""
        if self.declaring(request, key) is not None:
            return key
        named = next((r for r in request.of() if r.name == key), None)
        return named.key if named is not None else key

    def adopt(self, request: ProviderRequest, key: str, name: str | None = None) -> Adopted:
        """Record ownership of an existing object without changing it (`reconciler import`)."""
        raise ReconcilerError(f"{self.kind.name} does not support import on the {self.backend} backend")

    @property
    def generates_specs(self) -> bool:
        return type(self).generate_specs is not Provider.generate_specs

    def generate_specs(self, request: ProviderRequest, selector: str, source: Path | None) -> GeneratedSpecs:
        """Spec files for the live objects whose key matches the glob `selector` (or, with
        `source`, for the objects described in an export file of the live system)."""
        raise ReconcilerError(f"{self.kind.name} does not support --generate-specs on the {self.backend} backend")

    def close(self) -> None:
        """Release connections."""
