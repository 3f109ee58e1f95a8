"""`apply PLANFILE` (like `terraform apply plan.tfplan`): a saved plan carries its spec directory,
target (name and a fingerprint of its endpoints, no secrets) and `--var` values, needs no `-t`,
asks nothing (it is the approval), and is refused when the target now points elsewhere."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from helpers import Project, policy, run

PROJECT = """\
project: test
targets:
  staging:
    embedded: true
    policy_store: {type: sqlite, path: staging.db}
"""


def _rows(db: Path) -> dict[str, int]:
    if not db.exists():
        return {}
    with sqlite3.connect(db) as conn:  # the file may hold only the apply lock's table
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'query_sla_policies'").fetchone():
            return {}
        return dict(conn.execute("SELECT spec_name, sla_seconds FROM query_sla_policies").fetchall())


def _saved(project: Project, tmp_path: Path, *args: str) -> Path:
    out = tmp_path / "plan.json"
    result = project.cli("plan", "--out", str(out), *args)
    assert result.exit_code == 0, result.output
    assert f"Apply it exactly with: reconciler apply {out}" in result.output
    return out


def test_a_saved_plan_applies_to_its_own_target_without_a_prompt(project: Project, tmp_path: Path) -> None:
    project.write("reconciler.yaml", PROJECT)
    project.write("p.yaml", policy("a", ["w1"]))
    out = _saved(project, tmp_path, "-t", "staging")
    document = json.loads(out.read_text())
    assert document["target"] == "staging" and document["specs_dir"] == str(project.root)
    assert set(document["endpoints"]) == {"policy_store", "databricks", "grafana"}
    assert all(v.startswith("sha256:") for v in document["endpoints"].values())
    # No -t, no --auto-approve, no terminal: the plan is the approval.
    result = run("apply", out)
    assert result.exit_code == 0, result.output
    assert "Apply complete: 1 operation(s) succeeded." in result.output
    assert _rows(project.root / "staging.db") == {"a": 300}
    assert not project.rows()  # nothing went to the default target


def test_a_plan_for_other_endpoints_or_another_target_is_refused(project: Project, tmp_path: Path) -> None:
    project.write("reconciler.yaml", PROJECT)
    project.write("p.yaml", policy("a", ["w1"]))
    out = _saved(project, tmp_path, "-t", "staging")
    other = run("apply", out, "-t", "local")
    assert other.exit_code == 1 and "the plan was made for target 'staging', not 'local'" in other.output
    project.write("reconciler.yaml", PROJECT.replace("staging.db", "elsewhere.db"))
    moved = run("apply", out)
    assert moved.exit_code == 1
    assert "plan is stale; nothing was applied" in moved.output
    assert "the plan was made against another policy store endpoint of target 'staging'" in moved.output
    assert not _rows(project.root / "elsewhere.db")


def test_the_plans_variables_are_kept_and_sensitive_ones_passed_again(project: Project, tmp_path: Path) -> None:
    project.write("reconciler.yaml", "project: test\nsensitive_variables: [warehouse]\n")
    project.write("p.yaml", policy("a", ["${var.warehouse}"], extra="").replace("300", "${var.sla}"))
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("warehouse: wh-very-secret\n")
    out = _saved(project, tmp_path, "--var-file", str(secrets), "--var", "sla=600")
    assert json.loads(out.read_text())["variables"] == {"sla": 600, "warehouse": "(sensitive)"}
    missing = run("apply", out)
    assert missing.exit_code == 1
    assert "sensitive variable(s) warehouse" in missing.stderr and "--var-file FILE" in missing.stderr
    # Given again in another order, with the spec directory spelled otherwise: the same plan.
    applied = run("apply", f"{project.root}/.", "--plan", out, "--var-file", secrets)
    assert applied.exit_code == 0, applied.output
    assert "very-secret" not in applied.output
    assert [(r["spec_name"], r["sla_seconds"]) for r in project.rows()] == [("a", 600)]


def test_a_plan_whose_spec_directory_is_gone_says_how_to_apply_it(project: Project, tmp_path: Path) -> None:
    project.write("p.yaml", policy("a", ["w1"]))
    out = _saved(project, tmp_path)
    document = json.loads(out.read_text())
    document["specs_dir"] = str(tmp_path / "moved")
    out.write_text(json.dumps(document))
    result = run("apply", out)
    assert result.exit_code == 1
    assert "is not found from here" in result.stderr and f"reconciler apply SPECS_DIR --plan {out}" in result.stderr
    # The spec directory given explicitly, the plan applies.
    assert run("apply", project.root, "--plan", out).exit_code == 0
    twice = run("apply", out, "--plan", out)
    assert twice.exit_code == 1 and "give the saved plan once" in twice.stderr
