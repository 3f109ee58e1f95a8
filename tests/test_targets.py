"""Target connections: the embedded target reaches the sandbox through the real SDK client."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from helpers import Project, copy_examples, policy

import reconciler
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


# A Python without the `sandbox` extra: its modules made unimportable before reconciler runs.
WITHOUT_SANDBOX_EXTRA = (
    "import sys\n"
    "for name in ('flask', 'duckdb', 'sqlglot'):\n"
    "    sys.modules[name] = None\n"
    "from reconciler.cli import main\n"
    "sys.argv = ['reconciler', *sys.argv[1:]]\n"
    "main()\n"
)


def _without_sandbox_extra(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_SANDBOX_EXTRA, *map(str, args)], capture_output=True, text=True, timeout=120
    )


def test_the_embedded_target_without_the_sandbox_extra_names_the_install_command(tmp_path: Path) -> None:
    specs = copy_examples(tmp_path)
    result = _without_sandbox_extra("plan", specs)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "needs the 'sandbox' extra" in result.stderr
    assert "pip install 'reconciler[sandbox]'" in result.stderr
    served = _without_sandbox_extra("sandbox", "serve", "--state", tmp_path / "s.db")
    assert served.returncode == 1 and "pip install 'reconciler[sandbox]'" in served.stderr


def test_sla_policies_on_the_local_target_need_neither_the_sandbox_nor_an_sdk(project: Project) -> None:
    project.write("p.yaml", policy("a", ["w"]))
    result = _without_sandbox_extra("apply", project.root, "--auto-approve")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [r["sla_seconds"] for r in project.rows()] == [300]
    probe = (
        "import sys\nfrom reconciler.engine.plan import run_plan\nrun_plan(sys.argv[1], None)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('databricks', 'grafana_client', 'flask')))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", probe, str(project.root)], capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]"


def test_providers_are_handed_endpoints_and_never_name_the_sandbox() -> None:
    package = Path(reconciler.__file__).parent
    sources = [*(package / "providers").glob("*.py"), *(package / "grafana").glob("*providers*.py")]
    assert sources
    for source in sources:
        text = source.read_text(encoding="utf-8")
        assert "sandbox" not in text.lower(), source
        assert "embedded" not in re.sub(r"embedded (SQLite|default)", "", text), source
