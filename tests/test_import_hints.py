"""The `reconciler import ...` a refused plan prints is a command to paste into a shell: spec
directory and target included, every argument quoted, in the order the CLI parses."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from grafana_helpers import FULL_FORM_RULE, TOKEN, GrafanaProject, folder_doc, group_doc
from helpers import Project, import_hints, run_printed

from reconciler.cli import cli
from reconciler.commands import import_command
from reconciler.sandbox import SandboxServer, SandboxSettings

HAND_MADE_RULE = FULL_FORM_RULE.replace("Visits synchronizer stalled", "Hand-made check").replace(
    "visits-sync-stalled", "hand-made"
)


@pytest.fixture
def spaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GrafanaProject]:
    """A Grafana project whose spec directory and target name both contain spaces."""
    root = tmp_path / "my specs"
    root.mkdir()
    with SandboxServer(tmp_path / "grafana.db", SandboxSettings(token=TOKEN)) as server:
        monkeypatch.setenv("GRAFANA_TOKEN", TOKEN)
        project = Project(root)
        project.write(
            "reconciler.yaml",
            f"project: test\ndefault_target: grafana ops\ntargets:\n  grafana ops:\n    grafana:\n      url: {server.url}\n",
        )
        yield GrafanaProject(project, server)


def test_hint_for_a_group_name_with_spaces_runs_as_printed(spaced: GrafanaProject) -> None:
    spaced.write("folders.yaml", folder_doc())
    assert spaced.cli("apply", "--auto-approve").exit_code == 0
    spaced.create_unmanaged("Hand-made check", "SLA checks", uid="hand-made")
    # Without an explicit uid the spec's rule matches the live one by title: the group is adopted.
    spaced.write(
        "rules.yaml", group_doc("sla", HAND_MADE_RULE.replace("  uid: hand-made\n", ""), extra="group: SLA checks")
    )

    refused = spaced.cli("plan")
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    expected = shlex.join(
        ["reconciler", "import", "GrafanaRuleGroup", "alerts/SLA checks", str(spaced.root), "--target", "grafana ops"]
    )
    assert expected in import_hints(refused.output), refused.output
    assert "'alerts/SLA checks'" in expected and "'grafana ops'" in expected

    imported = run_printed(expected)
    assert imported.exit_code == 0, imported.output
    after = spaced.cli("plan")
    assert after.exit_code == 0, after.output
    ops = spaced.plan_ops()
    assert [(o["action"], o["key"]) for o in ops] == [("update", "hand-made")]
    assert spaced.rules()["Hand-made check"]["annotations"]["reconciler_managed_by"] == "reconciler/test"


@pytest.mark.parametrize(
    "key, specs_dir, target",
    [
        ("alerts/SLA checks", "my specs", "prod"),
        ("it's $HOME; rm -rf /", "specs", "local"),
        ("-starts-with-a-dash", "specs", "-t"),
        ("main.sales.orders", "-specs", "dev env"),
    ],
)
def test_every_hint_parses_back_to_the_same_arguments(key: str, specs_dir: str, target: str) -> None:
    hint = import_command("GrafanaRuleGroup", key, specs_dir, target)
    program, *args = shlex.split(hint)
    assert program == "reconciler" and args[0] == "import"
    params = cli.commands["import"].make_context("import", args[1:]).params
    assert (params["kind"], params["key"], str(params["specs_dir"]), params["target"]) == (
        "GrafanaRuleGroup",
        key,
        specs_dir,
        target,
    )
