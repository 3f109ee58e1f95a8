"""What a kind of object is, independent of where it lives.

A `Kind` knows its spec model, its identity, its normalised desired state and its field table;
it holds no connections and does no I/O, so the planner can stay a pure function. Live systems
are providers (`reconciler.providers`).

The contracts between the layers are typed: a `Resource[Spec]` carries its kind's validated spec
model, a `LiveObject[Facts]` its kind's typed facts (see `Facts`), and `Kind[Spec, Facts]` /
`Provider[Spec, Facts]` are checked against both, so neither side reads a key the other never
wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic

from typing_extensions import TypeVar

from reconciler.diagnostics import Diagnostic, FieldPath
from reconciler.plan.model import ApiCall, Operation
from reconciler.specs.envelope import KindSpec, Lifecycle

if TYPE_CHECKING:
    from reconciler.plan.steps import StepView

from .fields import FieldTable


@dataclass(frozen=True)
class SourceRef:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Facts:
    """Base of a kind's typed live facts: what a provider reads beside a live object's state —
    refresh counts, firing alerts, the version to write against — for its kind's warnings and its
    own writes. The typed contract between provider and kind, instead of a free-form dict.

    Per kind: one frozen dataclass subclass, every field with a default that means "not known",
    so a live object without facts (`LiveObject.facts is None`: one made by hand in a planner
    test, or read where the facts were unavailable) reads as the defaults through `facts_of`.
    The provider writes them, the kind reads them, mypy checks both sides::

        @dataclass(frozen=True)
        class MonitorFacts(Facts):
            refresh_count: int | None = None        # None: the history could not be read

        class QualityMonitorKind(Kind[QualityMonitorSpec, MonitorFacts]):
            def loss_warnings(self, live: LiveObject[MonitorFacts], action: str) -> list[str]:
                facts = facts_of(live, MonitorFacts)
                ...

        # the provider (Provider[QualityMonitorSpec, MonitorFacts]):
        LiveObject(kind=KIND, key=key, state=state, managed=True, facts=MonitorFacts(refresh_count=3))
    """


# Type parameters of the typed contracts. The defaults keep a bare `Resource`, `LiveObject`,
# `Kind` or `Provider` meaning "any kind" (spec `KindSpec`, facts `Facts`); Resource and
# LiveObject are covariant, so a `Resource[QualityMonitorSpec]` is also a `Resource`.
SpecT = TypeVar("SpecT", bound=KindSpec, default=KindSpec)
FactsT = TypeVar("FactsT", bound=Facts, default=Facts)
SpecT_co = TypeVar("SpecT_co", bound=KindSpec, default=KindSpec, covariant=True)
FactsT_co = TypeVar("FactsT_co", bound=Facts, default=Facts, covariant=True)
_F = TypeVar("_F", bound=Facts)


@dataclass
class Resource(Generic[SpecT_co]):
    """One declared object: a validated spec plus what the planner needs to diff it."""

    kind: str
    name: str
    key: str
    spec: SpecT_co
    state: dict[str, Any]
    source: SourceRef
    labels: dict[str, str] = field(default_factory=dict)
    # (kind, key) pairs that must exist before this object is created.
    depends_on: list[tuple[str, str]] = field(default_factory=list)
    # Line of each field of the document (path from the document root -> line), so plan-time
    # checks against the live system can point at the offending field, not just the document.
    lines: dict[tuple[str | int, ...], int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def lifecycle(self) -> Lifecycle:
        return self.spec.lifecycle

    @property
    def address(self) -> str:
        """`Kind/name`: how plans and diagnostics name the object."""
        return f"{self.kind}/{self.name}"

    def locate(self, path: FieldPath) -> SourceRef:
        """file and line of the field at `path` from the document root (the deepest part of it
        the file has): how a `Diagnostic` about this object is resolved."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return SourceRef(self.source.file, line)
        return self.source

    def spec_source(self, *path: str | int) -> SourceRef:
        """file:line of the field at `spec.<path>` (the deepest part of it the file has)."""
        return self.locate(("spec", *path))

    def error(self, path: FieldPath, summary: str, detail: str = "") -> Diagnostic:
        """An error about this object at `path` from its document's root (located later, once)."""
        return Diagnostic.error(summary, path, object=self.address, detail=detail, subject=self)


@dataclass
class LiveObject(Generic[FactsT_co]):
    """One object as the live system has it, in the same normalised shape as `Resource.state`."""

    kind: str
    key: str
    state: dict[str, Any]
    managed: bool
    # The spec name recorded with the ownership marker (lets the planner pair a renamed identity).
    name: str | None = None
    # The object as read (JSON-able); its hash is the fingerprint a saved plan is checked against.
    raw: Any = None
    # The kind's typed facts (see `Facts`; read them with `facts_of`); None: none were read.
    facts: FactsT_co | None = None
    # Facts the provider found that forbid any change (e.g. file provenance in Grafana).
    locked_reason: str | None = None
    # Another reconciler project's marker when that project manages it (then import is no way out).
    owner: str | None = None
    # lifecycle.prevent_destroy as recorded when reconciler last applied the object: a spec that
    # was removed from git can no longer say it, so the live side remembers.
    prevent_destroy: bool = False
    # The values of the kind's write-only fields (accepted, never returned) as reconciler last
    # applied them, recorded on the live side (e.g. the workspace ledger); None when nothing was
    # recorded. The planner compares write-only fields with these (`FieldTable.with_last_applied`).
    last_applied: dict[str, Any] | None = None
    # Digest of what reconciler last applied (`reconciler.last_applied`), recorded beside the
    # ownership marker; None when nothing was recorded. Drift tells out-of-band edits from
    # unapplied spec changes with it.
    applied_digest: str | None = None

    @property
    def fingerprint(self) -> str:
        from reconciler.plan.digest import fingerprint

        return fingerprint(self.raw if self.raw is not None else self.state)


def facts_of(live: LiveObject[Facts], model: type[_F]) -> _F:
    """`live`'s facts, or `model()` (every fact "not known") when it carries none. Facts of
    another model are a provider writing what its kind does not read: that fails loudly."""
    facts = live.facts
    if facts is None:
        return model()
    if not isinstance(facts, model):
        raise TypeError(f"{live.kind} {live.key} carries {type(facts).__name__}, not {model.__name__}")
    return facts


@dataclass
class Decision:
    """How the kind wants a differing object handled."""

    replace: bool
    reasons: list[str] = field(default_factory=list)


class Kind(Generic[SpecT, FactsT]):
    """Base class: subclasses set the class attributes and override the hooks they need.

    `Kind[MySpec, MyFacts]` types the hooks: the resources they get carry `MySpec`, the live
    objects `MyFacts` (a bare `Kind` means `Kind[KindSpec, Facts]`).
    """

    name: ClassVar[str]
    spec_model: ClassVar[type[KindSpec]]
    fields: ClassVar[FieldTable]
    # Apply order: lower ranks are created/updated first and deleted last.
    rank: ClassVar[int] = 100
    # Which backend serves this kind unless the target picks another.
    default_backend: ClassVar[str]
    description: ClassVar[str] = ""
    # False for kinds that only exist inside another kind's documents (see `expand`): they are
    # planned like any kind but cannot be written as documents of their own.
    standalone: ClassVar[bool] = True

    def backend(self, target: Any) -> str:
        """The backend serving this kind on `target` (a TargetConfig)."""
        return self.default_backend

    # --- identity and desired state -------------------------------------------------------
    def key(self, name: str, spec: Any) -> str:
        """The identity of the live object this spec describes."""
        raise NotImplementedError

    def desired_state(self, spec: Any) -> dict[str, Any]:
        """The normalised state the planner compares with `LiveObject.state`."""
        raise NotImplementedError

    def depends_on(self, spec: Any) -> list[tuple[str, str]]:
        return []

    def validate_all(self, resources: Sequence[Resource[SpecT]]) -> list[Diagnostic]:
        """Checks across documents of this kind (duplicate identities, ...): diagnostics about
        an object (`Resource.error`), which the loader resolves to file:line."""
        return []

    def spec_errors(self, name: str, spec: Any) -> list[Diagnostic]:
        """Checks of one validated document that need a precise location: diagnostics whose
        path is from the document root, e.g. ("spec", "rules", 0, "condition"). The loader
        resolves the path to file:line."""
        return []

    def salvage_errors(self, spec: Any) -> list[Diagnostic]:
        """The `spec_errors` that can still be found in the parts of a raw spec (a dict) that are
        valid on their own, when the document as a whole failed its model: so one run reports a
        bad interval and a rule's missing refId together, not one per run."""
        return []

    def expand(self, resource: Resource[SpecT], locate: Callable[[tuple[str | int, ...]], SourceRef]) -> list[Resource]:
        """Further objects one document declares (e.g. the rules of a rule group), each planned
        as an object of its own kind; `locate` gives the source of a path inside the document."""
        return []

    # --- planning hooks -------------------------------------------------------------------
    def decide(self, desired: Resource[SpecT], live: LiveObject[FactsT], changed_paths: Sequence[str]) -> Decision:
        """Update in place unless a changed field forces a replace (per the field table)."""
        reasons: list[str] = []
        for path in changed_paths:
            rule = self.fields.rule_for(path)
            if rule and rule.forces_replace:
                reason = f"{rule.path} changed: {rule.replace_reason or 'cannot be changed in place'}"
                if reason not in reasons:
                    reasons.append(reason)
        return Decision(replace=bool(reasons), reasons=reasons)

    def find_moved(
        self, desired: Resource[SpecT], candidates: Sequence[LiveObject[FactsT]]
    ) -> LiveObject[FactsT] | None:
        """The managed live object `desired` used to be when its key moved (its spec changed its
        identity). `candidates` are managed live objects of this kind no spec claims by key.
        Default: the one recorded under the same spec name."""
        for obj in candidates:
            if obj.name == desired.name:
                return obj
        return None

    def move_in_place(self, desired: Resource[SpecT], live: LiveObject[FactsT]) -> bool:
        """Whether an identity move is an in-place update that keeps the live object (and its
        key), rather than a replace. Default: a replace."""
        return False

    def identity_change_reason(self, desired: Resource[SpecT], live: LiveObject[FactsT]) -> str:
        """Why a spec whose identity moved (same name, new key) is a replace."""
        return "identity changed: the object must be recreated under its new key"

    def loss_warnings(self, live: LiveObject[FactsT], action: str) -> list[str]:
        """What is lost when `live` is deleted or replaced, with the numbers the live system gave."""
        return []

    def update_warnings(self, desired: Resource[SpecT], live: LiveObject[FactsT]) -> list[str]:
        """Side effects of an in-place update a reviewer should see (e.g. alert state reset)."""
        return []

    # --- write steps (see `reconciler.plan.steps`) -----------------------------------------
    def write_steps(self, ops: list[Operation], view: StepView) -> list[Operation]:
        """The whole plan's operations, in apply order, with this kind's calls planned; a kind
        may reorder or drop its own operations here. Default: nothing (each operation then gets
        the one call `api_call` describes)."""
        return ops

    def api_call(self, op: Operation, desired: Resource[SpecT] | None, live: LiveObject[FactsT] | None) -> ApiCall:
        """The one call an operation of this kind makes when `write_steps` planned none."""
        what = self.describe(desired.state if desired is not None else live.state if live is not None else {})
        return ApiCall(op.action.value.upper(), f"{self.name}/{op.key}", f"{op.action.value} {what}", op.action.value)

    def describe(self, state: dict[str, Any]) -> str:
        """One line naming a live object in reports (e.g. an unmanaged row)."""
        return ", ".join(f"{k}={v}" for k, v in state.items())


# Which field of a resource's document sets something (path from the document root).
Locator = Callable[[Resource], FieldPath]


def duplicate_keys(
    resources: Sequence[Resource], locate: Locator, describe: Callable[[Resource, Resource, SourceRef], str]
) -> list[Diagnostic]:
    """Objects of one kind sharing a key: each later one is an error at the field that sets the
    key (`locate`), and `describe(dup, first, where_first)` says what clashes with what."""
    seen: dict[str, Resource] = {}
    errors = []
    for res in resources:
        first = seen.setdefault(res.key, res)
        if first is res:
            continue
        path = locate(res)
        if path == ("metadata", "name") and res.name == first.name:
            continue  # the identity is the name: the loader reports the duplicate name there
        errors.append(res.error(path, describe(res, first, first.locate(locate(first)))))
    return errors
