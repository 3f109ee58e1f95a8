"""Target connections: the embedded target reaches the sandbox through the real SDK client."""

from __future__ import annotations

from helpers import Project, policy

from reconciler.engine import Session


def test_embedded_target_gives_a_workspace_client_on_the_sandbox(project: Project, monkeypatch) -> None:
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-must-not-be-used")
    project.write("p.yaml", policy("a", ["w"]))
    with Session(project.root) as session:
        client = session.context.workspace_client()
        assert client.config.host == session.context.sandbox().url
        assert client.config.retry_timeout_seconds <= 10
