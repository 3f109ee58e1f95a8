"""Routes every client asks for regardless of the API it uses.

`GET /.well-known/databricks-config` is requested by databricks-sdk (0.162.0) while it constructs
a `WorkspaceClient` (host-metadata discovery). The real service answers with the workspace's
metadata; a 404 is tolerated by the SDK but logs a warning in every run, so the sandbox answers it.
"""

from __future__ import annotations

from flask import Flask, jsonify, request

from .settings import SandboxSettings
from .state import SandboxState


def register(app: Flask, state: SandboxState, settings: SandboxSettings) -> None:
    @app.get("/.well-known/databricks-config")
    def databricks_host_metadata():  # type: ignore[no-untyped-def]
        # Shape of databricks.sdk.oauth.HostMetadata: a workspace host answers its OIDC root and
        # workspace id (no account id).
        host = request.host_url.rstrip("/")
        return jsonify(
            {
                "oidc_endpoint": f"{host}/oidc",
                "workspace_id": "1234567890123456",
                "cloud": "aws",
            }
        )

    @app.get("/sandbox/health")
    def health():  # type: ignore[no-untyped-def]
        return jsonify({"status": "ok"})
