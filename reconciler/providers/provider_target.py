"""What a provider may know of its target: names, configuration and endpoints, no more.

A provider is handed a `ProviderTarget`, not the run's `TargetContext`: the target's name and
spec directory (for the commands its messages suggest), the owner marker and project id, the
target's configuration, and its live systems as plain endpoints (a Grafana URL + token, a
Databricks workspace client, a SQLite path), resolved by the target. It cannot reach the run's
specs (each call is handed its `ProviderRequest`) or the target's local state: whether an
endpoint is a real service or a local emulator is the target's business.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from reconciler.commands import import_command

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

    from reconciler.specs.project import TargetConfig
    from reconciler.targets import Endpoint, LiveSystem, TargetContext

T = TypeVar("T")


class ProviderTarget:
    """The narrow view of one run's target that providers get (see the module docstring)."""

    def __init__(self, context: TargetContext) -> None:
        self._context = context
        self.name: str = context.name  # the target's name
        self.root: Path = context.root  # the spec directory
        self.config: TargetConfig = context.config
        self.owner: str = context.owner  # the marker written on the live side ("reconciler/<project>")
        self.project: str = context.project
        # How many requests a provider may have in flight at once (`--parallelism`).
        self.parallelism: int = context.parallelism

    @property
    def finish_command(self) -> str:
        """The command that completes an interrupted apply on this target."""
        return self._context.finish_command

    def import_command(self, kind: str, key: str) -> str:
        """`reconciler import KIND KEY` for this target, as messages suggest it."""
        return import_command(kind, key, self.root, self.name)

    def has(self, system: LiveSystem) -> bool:
        """Whether the target gives `system` an endpoint (configured, or its own local one)."""
        return self._context.has_grafana if system == "grafana" else self._context.has_databricks

    def known_empty(self, system: LiveSystem) -> bool:
        """Whether `system` certainly holds nothing yet: a provider may then skip reading it."""
        return self._context.known_empty(system)

    def grafana_endpoint(self) -> Endpoint:
        return self._context.grafana_endpoint()

    def workspace_client(self) -> WorkspaceClient:
        return self._context.workspace_client()

    @property
    def policy_db_path(self) -> Path:
        """The SQLite file of the SLA policies when the target names no policy store."""
        return self._context.policy_db_path

    def resolve_path(self, value: str) -> Path:
        """A path from the configuration, relative to the spec directory."""
        return self._context.resolve_path(value)

    def shared(self, key: str, factory: Callable[[], T]) -> T:
        """One object per run shared by the providers of several kinds, closed with the run."""
        return self._context.shared(key, factory)
