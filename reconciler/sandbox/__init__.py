"""Local emulators of the Databricks and Grafana API subsets reconciler uses.

They answer the same paths, status codes, JSON shapes and error bodies as the real services so the
real clients (databricks-sdk's WorkspaceClient, the Grafana HTTP client) run unmodified against
them. Each emulator's module docstring names the API version it follows.
"""

from .app import create_app
from .server import SandboxServer
from .settings import SandboxSettings

__all__ = ["SandboxServer", "SandboxSettings", "create_app"]
