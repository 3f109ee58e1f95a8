"""A target at run time: its configuration plus the connections providers share.

The target is the one place that knows what "embedded" means: it resolves each live system into
a plain endpoint (`Endpoint`: base URL + token; a workspace client; a SQLite path) and providers
only ever see those. For an embedded target (the built-in `local`) the endpoints are the bundled
sandbox's, started in-process on a loopback port the first time a provider asks for one, so the
README's first command plans every example kind with no workspace, no Grafana and no network.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from reconciler import secrets
from reconciler.concurrency import default_parallelism
from reconciler.errors import ReconcilerError
from reconciler.specs.loader import SpecSet
from reconciler.specs.project import TargetConfig

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

    from reconciler.providers.provider_target import ProviderTarget
    from reconciler.providers.request import ProviderRequest
    from reconciler.sandbox import SandboxServer

T = TypeVar("T")

# The sandbox answers at once; a short retry bound keeps a broken local run from hanging.
SANDBOX_RETRY_TIMEOUT_SECONDS = 10
# The sandbox accepts any token; the clients insist on sending one.
SANDBOX_TOKEN = "sandbox-token"
SANDBOX_STATE_FILE = "sandbox.db"

LiveSystem = Literal["grafana", "databricks"]


@dataclass(frozen=True)
class Endpoint:
    """A live system's HTTP API as a provider is handed it: where it answers and the token to
    send. Whether it is a real service or the in-process sandbox is the target's business."""

    url: str
    token: str


class TargetContext:
    def __init__(self, specs: SpecSet, parallelism: int | None = None) -> None:
        # Private: providers get a `ProviderRequest` (`request`), never the whole spec set.
        self._specs = specs
        self.name = specs.target_name
        self.config: TargetConfig = specs.target
        self.root = specs.root
        self._sandbox: SandboxServer | None = None
        self._workspace: WorkspaceClient | None = None
        self._grafana: Endpoint | None = None
        self._shared: dict[str, Any] = {}
        self._provider_target: ProviderTarget | None = None
        self._shared_lock = threading.RLock()  # a factory may ask for another shared object
        # How many requests a provider may have in flight at once (`reconciler.concurrency`).
        self.parallelism = parallelism if parallelism is not None else default_parallelism()

    @property
    def project(self) -> str:
        """The project id the project file names ("default" when it names none)."""
        return self._specs.project.project or "default"

    @property
    def owner(self) -> str:
        """The ownership marker this project writes on the live side."""
        return f"reconciler/{self.project}"

    @property
    def provider_target(self) -> ProviderTarget:
        """The narrow view of this target providers are handed (names, configuration, endpoints)."""
        if self._provider_target is None:
            from reconciler.providers.provider_target import ProviderTarget

            self._provider_target = ProviderTarget(self)
        return self._provider_target

    def request(self, kind: str, sees_kinds: tuple[str, ...] = ()) -> ProviderRequest:
        """The narrow request for a provider of `kind` that also needs `sees_kinds`' specs."""
        from reconciler.providers.request import ProviderRequest

        return ProviderRequest.build(kind, self.owner, self.project, self._specs.resources, sees_kinds)

    @property
    def state_dir(self) -> Path:
        """Where embedded state lives: `.reconciler/<target>/` inside the spec directory."""
        base = self.root / ".reconciler"
        path = base / self.name
        if not path.is_dir():
            path.mkdir(parents=True, exist_ok=True)
            ignore = base / ".gitignore"
            if not ignore.exists():  # in every project, not only where a .gitignore says so
                ignore.write_text("# Written by reconciler: embedded targets' local state, never committed.\n*\n")
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
    def policy_db_path(self) -> Path:
        """The SQLite file of the SLA policies when the target names no policy store."""
        return self.state_dir / "policies.db"

    @property
    def sandbox_state_path(self) -> Path:
        """The embedded sandbox's SQLite file. While it does not exist, the sandbox holds nothing."""
        return self.state_dir / SANDBOX_STATE_FILE

    def sandbox(self) -> SandboxServer:
        """The in-process sandbox of an embedded target, started on first use."""
        if self._sandbox is None:
            from reconciler.extras import require_extra

            require_extra("sandbox", f"target '{self.name}' (embedded: it runs the bundled sandbox)")
            from reconciler.sandbox import SandboxServer, SandboxSettings

            seed = self.config.sandbox_seed
            settings = SandboxSettings(
                seed=seed.model_dump() if seed is not None and not isinstance(seed, str) else None
            )
            self._sandbox = SandboxServer(self.sandbox_state_path, settings).start()
        return self._sandbox

    def _uses_sandbox(self, system: LiveSystem) -> bool:
        if not self.config.embedded:
            return False
        if system == "grafana":
            return self.config.grafana is None or not self.config.grafana.url
        return self.config.databricks is None

    def catalog_hint(self) -> str | None:
        """What to add to "table ... does not exist in Unity Catalog" on an embedded target."""
        if not self._uses_sandbox("databricks"):
            return None
        return (
            f"target '{self.name}' is embedded: its sandbox knows only the tables of its seed (the bundled sample, or "
            "the target's sandbox_seed in reconciler.yaml); declare the table there, with its columns"
        )

    def known_empty(self, system: LiveSystem) -> bool:
        """Whether `system` certainly holds nothing yet (a fresh embedded target): a provider may
        then skip reading it, and nothing is started just to find that out."""
        return self._uses_sandbox(system) and not self.sandbox_state_path.exists()

    @property
    def has_databricks(self) -> bool:
        return self.config.databricks is not None or self.config.embedded

    @property
    def has_grafana(self) -> bool:
        return self.config.grafana is not None or self.config.embedded

    def grafana_endpoint(self) -> Endpoint:
        """The target's Grafana: `grafana.url` (else the sandbox's on an embedded target, else
        GRAFANA_URL) with the service-account token from `grafana.token_env` (GRAFANA_TOKEN)."""
        if self._grafana is None:
            conn = self.config.grafana
            if self._uses_sandbox("grafana"):
                self._grafana = Endpoint(self.sandbox().url, SANDBOX_TOKEN)
            else:
                url = (conn.url if conn else None) or os.environ.get("GRAFANA_URL")
                if not url:
                    raise ReconcilerError(
                        f"target '{self.name}' has no Grafana URL: set grafana.url in reconciler.yaml or GRAFANA_URL"
                    )
                token_env = conn.token_env if conn else "GRAFANA_TOKEN"
                token = os.environ.get(token_env)
                if not token:
                    raise ReconcilerError(f"the Grafana service-account token is not set: export {token_env}")
                secrets.remember(token)
                secrets.remember_url_credentials(url)
                self._grafana = Endpoint(url, token)
        return self._grafana

    def workspace_client(self) -> WorkspaceClient:
        """The target's Databricks workspace client (the sandbox's, for an embedded target).

        Every Databricks call goes through this one client so auth, retries and their bound are
        configured in one place. Made once, also when several reads ask for it at once.
        """
        with self._shared_lock:
            return self._workspace_client()

    def _workspace_client(self) -> WorkspaceClient:
        if self._workspace is None:
            # `reconciler.databricks_client` owns the databricks-sdk import (about 1.5 s): only
            # a run whose provider asks for the workspace pays it.
            from reconciler import databricks_client

            conn = self.config.databricks
            retry = self.config.retries.policy()
            if conn is not None:
                self._workspace = databricks_client.configured_workspace(conn, self.name, retry)
            elif self._uses_sandbox("databricks"):
                self._workspace = databricks_client.token_workspace(
                    self.sandbox().url, SANDBOX_TOKEN, SANDBOX_RETRY_TIMEOUT_SECONDS, retry
                )
            else:
                raise ReconcilerError(f"target '{self.name}' has no `databricks:` connection configured")
        return self._workspace

    def endpoint_fingerprints(self) -> dict[str, str]:
        """Per live system this target uses, a fingerprint of where it is: the policy store (its
        URL without the password, or table and warehouse), the Databricks host or profile, the
        Grafana URL and org. No connection is made and no secret is part of it; a saved plan
        carries these, and `apply` refuses the plan when the target now points elsewhere."""
        from reconciler.plan.digest import fingerprint

        where: dict[str, object] = {}
        store = self.config.policy_store
        if store is not None:
            where["policy_store"] = _without_password(store.model_dump(exclude={"password_env"}))
        elif self.config.embedded:
            where["policy_store"] = "embedded"
        conn = self.config.databricks
        if conn is not None:
            where["databricks"] = conn.host or os.environ.get("DATABRICKS_HOST") or f"profile {conn.profile}"
        elif self._uses_sandbox("databricks"):
            where["databricks"] = "embedded"
        if self._uses_sandbox("grafana"):
            where["grafana"] = "embedded"
        elif self.config.grafana is not None:
            url = self.config.grafana.url or os.environ.get("GRAFANA_URL") or ""
            where["grafana"] = {"url": _without_password(url), "org_id": self.config.grafana.org_id}
        return {system: fingerprint(value) for system, value in where.items()}

    def shared(self, key: str, factory: Callable[[], T]) -> T:
        """One object per run shared by the providers of several kinds (e.g. one Grafana client
        and one read of its rules for folders, groups and rules); closed with the context."""
        with self._shared_lock:
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


def _without_password(value: Any) -> Any:
    """`value` (a URL, or the URLs among a mapping's values) with any `user:password@` dropped."""
    from urllib.parse import urlsplit, urlunsplit

    if isinstance(value, dict):
        return {k: _without_password(v) for k, v in value.items()}
    if not isinstance(value, str) or "@" not in value:
        return value
    try:
        parts = urlsplit(value)
    except ValueError:
        return value
    if parts.password is None:
        return value
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))
