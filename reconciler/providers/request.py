"""The narrow request a provider is handed: exactly the part of the run's specs it may read.

A provider never sees the whole spec set. The engine (the target context) builds one
`ProviderRequest` per provider from the provider's declared needs (`Provider.sees_kinds`): the
declared objects of its own kind, of the few kinds it must know about (a rule-group provider
needs the declared rules and folders), the owner marker and the project id. Asking for a kind
outside the request is a programming error and fails loudly, so a provider cannot come to
depend on another kind's specs by accident (terraform-plugin-framework hands each resource
method a request object; the Databricks CLI's dresources get only their own resource's config).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.errors import ReconcilerError
from reconciler.kinds.base import Resource


@dataclass(frozen=True)
class ProviderRequest:
    """The declared objects of the kinds one provider may read, and who writes."""

    kind: str  # the provider's own kind
    owner: str  # the ownership marker written on the live side ("reconciler/<project>")
    project: str  # the project id ("default" when the project file names none)
    declared: Mapping[str, tuple[Resource[Any], ...]]

    @classmethod
    def build(
        cls, kind: str, owner: str, project: str, resources: Iterable[Resource[Any]], kinds: Iterable[str]
    ) -> ProviderRequest:
        """The request for a provider of `kind` that also sees `kinds`, from the run's resources."""
        scope = dict.fromkeys([kind, *kinds])
        grouped: dict[str, list[Resource[Any]]] = {k: [] for k in scope}
        for res in resources:
            if res.kind in grouped:
                grouped[res.kind].append(res)
        return cls(kind, owner, project, {k: tuple(v) for k, v in grouped.items()})

    def of(self, kind: str | None = None) -> list[Resource[Any]]:
        """The declared objects of `kind` (default: the provider's own kind)."""
        name = kind or self.kind
        if name not in self.declared:
            raise ReconcilerError(
                f"the {self.kind} provider asked for {name} specs outside its request (add {name} to its sees_kinds)"
            )
        return list(self.declared[name])

    def any_of(self, kinds: Iterable[str]) -> bool:
        """Whether any object of `kinds` is declared."""
        return any(self.of(k) for k in kinds)
