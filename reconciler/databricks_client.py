"""The one module that imports databricks-sdk to build a workspace client.

Why a module: importing `databricks.sdk` costs about 1.5 s of CPU (its package imports every
service), so nothing on the start-up path (`--help`, `validate`, a target without Databricks)
may import it. `TargetContext` calls here only when a provider asks for the workspace; the
providers that talk to Databricks import the SDK's types themselves and are loaded lazily by
`reconciler.providers.provider_registry`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from reconciler import secrets
from reconciler.errors import ReconcilerError

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

    from reconciler.retrying import RetryPolicy
    from reconciler.specs.project import DatabricksConnection

# The secrets a Databricks config may carry, whatever its auth type: masked in logs and errors.
_SECRET_ATTRIBUTES = ("token", "password", "client_secret", "azure_client_secret", "google_credentials")


def configured_workspace(conn: DatabricksConnection, target_name: str, retry: RetryPolicy) -> WorkspaceClient:
    """A client on the target's configured workspace (`databricks:` host or profile), its
    credentials found by the SDK's own chain and remembered as secrets."""
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.core import Config

    from reconciler.retrying import retry_databricks

    secrets.remember(os.environ.get("DATABRICKS_TOKEN"))
    secrets.remember(os.environ.get("DATABRICKS_PASSWORD"))
    secrets.remember(os.environ.get("DATABRICKS_CLIENT_SECRET"))
    secrets.remember_url_credentials(conn.host or os.environ.get("DATABRICKS_HOST"))
    try:
        config = Config(
            profile=conn.profile,
            host=conn.host,
            retry_timeout_seconds=conn.retry_timeout_seconds,
            http_timeout_seconds=conn.http_timeout_seconds,
        )
    except ValueError as exc:
        # No usable credentials (no token, unknown profile, ...): the SDK says which, with
        # secrets masked.
        where = conn.host or (f"profile {conn.profile}" if conn.profile else "DATABRICKS_HOST")
        raise ReconcilerError(
            f"connecting to the Databricks workspace of target '{target_name}' ({where}) failed: {exc}"
        ) from exc
    # And what the SDK found by itself: a config profile's token, password or client secret
    # (~/.databrickscfg) is as secret as the environment's, in logs and errors.
    for name in _SECRET_ATTRIBUTES:
        secrets.remember(getattr(config, name, None))
    secrets.remember_url_credentials(config.host)
    return retry_databricks(WorkspaceClient(config=config), retry)


def token_workspace(host: str, token: str, retry_timeout_seconds: int, retry: RetryPolicy) -> WorkspaceClient:
    """A client on `host` with a personal access token (the embedded target's sandbox)."""
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.core import Config

    from reconciler.retrying import retry_databricks

    config = Config(host=host, token=token, auth_type="pat", retry_timeout_seconds=retry_timeout_seconds)
    return retry_databricks(WorkspaceClient(config=config), retry)
