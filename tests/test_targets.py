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


def test_the_project_file_takes_environment_variables(project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    project.write(
        "reconciler.yaml",
        'project: test\ntargets:\n  local:\n    embedded: true\n    variables: {sla: "${env:RECONCILER_TEST_SLA}"}\n',
    )
    monkeypatch.setenv("RECONCILER_TEST_SLA", "77")
    project.write("p.yaml", policy("x", ["w"]).replace("sla_seconds: 300", "sla_seconds: ${var.sla}"))
    plan = project.plan_json()
    assert {c["path"]: c["after"] for c in plan["operations"][0]["changes"]}["sla_seconds"] == 77
    monkeypatch.delenv("RECONCILER_TEST_SLA")
    result = project.cli("validate")
    assert (
        result.exit_code == 1
        and "reconciler.yaml:5: targets.local.variables.sla: environment variable 'RECONCILER_TEST_SLA' is not set"
        in result.stderr
    )
