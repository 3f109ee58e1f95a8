"""Selective runs: `--only KIND/NAME` (repeatable, globs) and `--label key=value` for plan, apply
and drift, like Terraform's `-target` and Databricks Asset Bundles' `--select`.

Why a module of its own: a partial plan must never be mistaken for a full one, so selecting is
done in one place with one rule set. The planner still sees every declared object (an object
left out of the selection must not look undeclared and be planned for deletion); the selection
then keeps only the operations, unchanged and unmanaged entries it names, and says in the plan's
notes that the plan is partial. Only kinds the selection can name are read from the live side,
so a selective plan makes no request to a system it does not concern.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from reconciler.errors import ReconcilerError
from reconciler.kinds.base import Resource
from reconciler.plan.model import Action, Plan


@dataclass(frozen=True)
class Selection:
    only: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def parse(cls, only: Iterable[str], labels: Iterable[str]) -> Selection | None:
        only = tuple(only)
        for pattern in only:
            if "/" not in pattern:
                raise ReconcilerError(f"--only {pattern!r}: expected KIND/NAME (globs allowed), e.g. 'SlaPolicy/etl-*'")
        pairs = []
        for label in labels:
            key, sep, value = label.partition("=")
            if not sep or not key:
                raise ReconcilerError(f"--label {label!r}: expected key=value, e.g. team=analytics")
            pairs.append((key, value))
        if not only and not pairs:
            return None
        return cls(only, tuple(pairs))

    def describe(self) -> list[str]:
        return [f"--only {p}" for p in self.only] + [f"--label {k}={v}" for k, v in self.labels]

    def _named(self, kind: str, name: str) -> bool:
        return not self.only or any(fnmatchcase(f"{kind}/{name}", p) for p in self.only)

    def _labelled(self, resource: Resource | None) -> bool:
        if not self.labels:
            return True
        return resource is not None and all(resource.labels.get(k) == v for k, v in self.labels)

    def matches(self, kind: str, name: str, resource: Resource | None) -> bool:
        return self._named(kind, name) and self._labelled(resource)

    def kinds(self, kind_names: Iterable[str], resources: Sequence[Resource]) -> set[str]:
        """The kinds whose live objects the selection can name: only these are read."""
        out = set()
        for kind in kind_names:
            if self.only and not any(fnmatchcase(kind, p.split("/", 1)[0]) for p in self.only):
                continue
            if self.labels and not any(r.kind == kind and self.matches(r.kind, r.name, r) for r in resources):
                continue
            out.add(kind)
        return out

    def narrow(self, plan: Plan, resources: Sequence[Resource]) -> Plan:
        """The plan of the selected objects only, marked partial."""
        declared = {(r.kind, r.name): r for r in resources}
        plan.operations = [
            op
            for op in plan.operations
            if self.matches(op.kind, op.name, declared.get((op.kind, op.name)))
            # An object no spec declares has no labels: a --label selection never deletes.
            and not (self.labels and op.action is Action.DELETE)
        ]
        plan.unchanged = [u for u in plan.unchanged if self.matches(u.kind, u.name, declared.get((u.kind, u.name)))]
        plan.unmanaged = [u for u in plan.unmanaged if u.declared_by is not None or not self.labels]
        plan.partial = True
        plan.selection = self.describe()
        plan.notes.insert(
            0,
            f"PARTIAL PLAN ({' '.join(self.describe())}): only the selected objects were planned and read; "
            "changes to any other object are not in it. Use it for emergencies or bootstrapping; a full plan "
            "is the review artifact.",
        )
        return plan


__all__ = ["Selection"]
