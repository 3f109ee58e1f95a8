"""One session of reconciler: specs -> desired state; providers -> live state; planner -> plan.

This is the only place that wires the pure parts (specs, planner) to the I/O parts (providers);
the engine's workflows (plan, apply, drift, adopt) run inside one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reconciler.diagnostics import Diagnostic, resolve
from reconciler.errors import ReconcilerError, SpecErrors
from reconciler.kinds.base import Kind, LiveObject, Resource
from reconciler.kinds.kind_registry import KINDS
from reconciler.plan.builder import PlanInput, build_plan
from reconciler.plan.digest import fingerprint
from reconciler.plan.model import Action, Migration, Plan
from reconciler.providers.base import Provider
from reconciler.providers.provider_registry import provider_entry, provider_for
from reconciler.providers.request import ProviderRequest
from reconciler.selection import Selection
from reconciler.specs.cli_variables import NO_VARIABLES, CommandLineVariables
from reconciler.specs.loader import SpecSet, load_specs
from reconciler.targets import TargetContext


def specs_digest(specs: SpecSet) -> str:
    """Digest of the resolved desired state (not the file bytes): comments and formatting do not
    invalidate a saved plan, a changed value or an `${env:}` that resolves differently does."""
    return fingerprint(
        {
            "target": specs.target_name,
            "resources": sorted(
                (
                    {
                        "kind": r.kind,
                        "name": r.name,
                        "key": r.key,
                        "state": r.state,
                        "lifecycle": r.lifecycle.model_dump(),
                    }
                    for r in specs.resources
                ),
                key=lambda d: (d["kind"], d["name"]),
            ),
        }
    )


@dataclass
class LiveState:
    objects: list[LiveObject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    migrations: list[Migration] = field(default_factory=list)

    def find(self, kind: str, key: str) -> LiveObject | None:
        for obj in self.objects:
            if obj.kind == kind and obj.key == key:
                return obj
        return None


def needed_migrations(plan: Plan, live: LiveState) -> list[Migration]:
    """The live side's pending schema changes for the kinds the plan has operations on."""
    kinds = {op.kind for op in plan.operations}
    return [m for m in live.migrations if m.kind in kinds]


def _missing_in_catalog(error: Diagnostic) -> bool:
    return not error.detail and error.summary.endswith("does not exist in Unity Catalog")


class Session:
    """Specs loaded for one target, with the providers of every kind in play."""

    def __init__(
        self,
        specs_dir: str | Path,
        target: str | None = None,
        selection: Selection | None = None,
        variables: CommandLineVariables = NO_VARIABLES,
        parallelism: int | None = None,
    ) -> None:
        self.specs = load_specs(specs_dir, target, kinds=KINDS, variables=variables)
        # parallelism: requests in flight at once (None: RECONCILER_PARALLELISM, else 10).
        self.context = TargetContext(self.specs, parallelism)
        self._providers: dict[str, Provider] = {}
        self._requests: dict[str, ProviderRequest] = {}
        # --only/--label: only the kinds it can name are read, and plans are narrowed to it.
        self.selection = selection
        self.variables = variables

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for provider in self._providers.values():
            provider.close()
        self.context.close()

    @property
    def digest(self) -> str:
        return specs_digest(self.specs)

    def kinds_in_play(self) -> Iterator[Kind]:
        """Kinds declared in the specs, plus kinds whose backend this target configures (their
        managed objects may need deleting even when no spec of that kind is left)."""
        selected = self.selection.kinds(KINDS, self.specs.resources) if self.selection else None
        for kind in KINDS.values():
            if selected is not None and kind.name not in selected:
                continue
            declared = bool(self.specs.by_kind(kind.name))
            if declared or self.provider_configured(kind):
                yield kind

    def provider_configured(self, kind: Kind) -> bool:
        try:
            entry = provider_entry(kind, self.context)
            if kind.name not in self._providers and entry.system and self.context.known_empty(entry.system):
                # Nothing of this kind can exist there yet: no need to load its provider (and SDK).
                return False
            provider = self.provider(kind)
        except ReconcilerError:
            return False
        return provider.configured(self.request(provider))

    def provider(self, kind: Kind | str) -> Provider:
        kind = KINDS[kind] if isinstance(kind, str) else kind
        if kind.name not in self._providers:
            self._providers[kind.name] = provider_for(kind, self.context)
        return self._providers[kind.name]

    def request(self, provider: Provider[Any, Any]) -> ProviderRequest:
        """What `provider` is handed with each call: the declared objects of its kind and of the
        kinds it names (`sees_kinds`), built once per run."""
        name = provider.kind.name
        if name not in self._requests:
            self._requests[name] = self.context.request(name, provider.sees_kinds)
        return self._requests[name]

    def read_live(self) -> LiveState:
        live = LiveState()
        errors: list[Diagnostic] = []
        for kind in self.kinds_in_play():
            provider = self.provider(kind)
            request = self.request(provider)
            if not provider.configured(request):
                raise ReconcilerError(
                    f"{kind.name} specs are declared but target '{self.specs.target_name}' configures no "
                    f"{provider.backend} connection"
                )
            errors.extend(provider.check(request))
            live.objects.extend(provider.read(request))
            live.notes.extend(provider.notes())
            live.migrations.extend(provider.migrations())
        if errors:
            hint = self.context.catalog_hint()
            if hint is not None:
                errors = [replace(e, detail=hint) if _missing_in_catalog(e) else e for e in errors]
            # Providers name the object and the path; file:line is resolved here, once.
            raise SpecErrors(resolve(errors, self.specs.resources))
        return live

    def plan(self, strict: bool = True, live: LiveState | None = None) -> tuple[Plan, LiveState]:
        live = live or self.read_live()
        plan = self._build(live, strict)
        if self._add_loss_facts(plan, live):
            plan = self._build(live, strict)  # the loss warnings with their numbers
        return plan, live

    def _add_loss_facts(self, plan: Plan, live: LiveState) -> bool:
        """Give the live objects `plan` replaces or deletes the facts their loss warnings need
        (`Provider.loss_facts`); whether any was added."""
        doomed: dict[str, list[LiveObject]] = {}
        for op in plan.operations:
            if op.action in (Action.REPLACE, Action.DELETE):
                obj = live.find(op.kind, op.replaces_key or op.key)
                if obj is not None:
                    doomed.setdefault(op.kind, []).append(obj)
        changed: dict[int, LiveObject] = {}
        for kind, objects in doomed.items():
            for before, after in zip(objects, self.provider(kind).loss_facts(objects), strict=True):
                if after is not before:
                    changed[id(before)] = after
        if changed:
            live.objects = [changed.get(id(obj), obj) for obj in live.objects]
        return bool(changed)

    def _build(self, live: LiveState, strict: bool) -> Plan:
        plan = build_plan(
            PlanInput(
                target=self.specs.target_name,
                specs_dir=self.specs.root,
                specs_digest=self.digest,
                desired=self.specs.resources,
                live=live.objects,
                kinds=KINDS,
                notes=live.notes,
                owner=self.context.owner,
            ),
            strict=strict,
        )
        if self.selection:
            plan = self.selection.narrow(plan, self.specs.resources)
        # A schema change is part of the plan only when the plan writes to that store.
        plan.migrations = needed_migrations(plan, live)
        plan.specs_dir = str(self.specs.root)
        plan.endpoints = self.context.endpoint_fingerprints()
        plan.variables = {a.name: a.value for a in self.variables.assignments}
        return plan

    def resource(self, kind: str, name: str) -> Resource | None:
        for res in self.specs.resources:
            if res.kind == kind and res.name == name:
                return res
        return None
