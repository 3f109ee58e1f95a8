"""A target at run time: its configuration plus the connections providers share.

For an embedded target (the built-in `local`) this starts the sandbox in-process on a loopback
port the first time a provider asks for it, so the README's first command plans every example
kind with no workspace, no Grafana and no network.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from reconciler.specs.loader import SpecSet
from reconciler.specs.project import TargetConfig

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

    from reconciler.sandbox import SandboxServer

T = TypeVar("T")

# The sandbox answers at once; a short retry bound keeps a broken local run from hanging.
SANDBOX_RETRY_TIMEOUT_SECONDS = 10


class TargetContext:
    def __init__(self, specs: SpecSet) -> None:
        self.specs = specs
        self.name = specs.target_name
        self.config: TargetConfig = specs.target
        self.root = specs.root
        self._sandbox: SandboxServer | None = None
        self._workspace: WorkspaceClient | None = None
        self._shared: dict[str, Any] = {}

    @property
    def owner(self) -> str:
        """The ownership marker this project writes on the live side."""
        return f"reconciler/{self.specs.project.project or 'default'}"

    @property
    def state_dir(self) -> Path:
        """Where embedded state lives: `.reconciler/<target>/` inside the spec directory."""
        path = self.root / ".reconciler" / self.name
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def finish_command(self) -> str:
        """The command that completes an interrupted apply on this target (re-plan and apply)."""
        from reconciler.commands import command

        return command("apply", self.root, target=self.name, options=("--auto-approve",))

    def resolve_path(self, value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else self.root / path

    @property
    def sandbox_state_path(self) -> Path:
        """The embedded sandbox's SQLite file. While it does not exist, the sandbox holds nothing
        (providers may skip starting it just to find that out)."""
        return self.state_dir / "sandbox.db"

    def sandbox(self) -> SandboxServer:
        """The in-process sandbox of an embedded target, started on first use."""
        if self._sandbox is None:
            from reconciler.sandbox import SandboxServer, SandboxSettings

            self._sandbox = SandboxServer(self.sandbox_state_path, SandboxSettings()).start()
        return self._sandbox

    @property
    def has_databricks(self) -> bool:
        return self.config.databricks is not None or self.config.embedded

    def workspace_client(self) -> WorkspaceClient:
        """The target's Databricks workspace client (the sandbox's, for an embedded target).

        Every Databricks call goes through this one client so auth, retries and their bound are
        configured in one place.
        """
        if self._workspace is None:
            from databricks.sdk import WorkspaceClient
            from databricks.sdk.core import Config

            from reconciler.retrying import retry_databricks

            conn = self.config.databricks
            if conn is not None:
                try:
                    config = Config(
                        profile=conn.profile,
                        host=conn.host,
                        retry_timeout_seconds=conn.retry_timeout_seconds,
                        http_timeout_seconds=conn.http_timeout_seconds,
                    )
                except ValueError as exc:
                    # No usable credentials (no token, unknown profile, ...): the SDK says which,
                    # with secrets masked.
                    from reconciler.errors import ReconcilerError

                    where = conn.host or (f"profile {conn.profile}" if conn.profile else "DATABRICKS_HOST")
                    raise ReconcilerError(
                        f"connecting to the Databricks workspace of target '{self.name}' ({where}) failed: {exc}"
                    ) from exc
                self._workspace = retry_databricks(WorkspaceClient(config=config), self.config.retries.policy())
            elif self.config.embedded:
                config = Config(
                    host=self.sandbox().url,
                    token="sandbox-token",
                    auth_type="pat",
                    retry_timeout_seconds=SANDBOX_RETRY_TIMEOUT_SECONDS,
                )
                self._workspace = retry_databricks(WorkspaceClient(config=config), self.config.retries.policy())
            else:
                from reconciler.errors import ReconcilerError

                raise ReconcilerError(f"target '{self.name}' has no `databricks:` connection configured")
        return self._workspace

    def shared(self, key: str, factory: Callable[[], T]) -> T:
        """One object per run shared by the providers of several kinds (e.g. one Grafana client
        and one read of its rules for folders, groups and rules); closed with the context."""
        if key not in self._shared:
            self._shared[key] = factory()
        return self._shared[key]  # type: ignore[no-any-return]

    def close(self) -> None:
        for value in self._shared.values():
            closer = getattr(value, "close", None)
            if callable(closer):
                closer()
        self._shared.clear()
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None
