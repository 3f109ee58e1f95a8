"""`--var NAME=VALUE` and `--var-file FILE` on validate, plan, apply and drift, for `${var.NAME}`:
they override reconciler.yaml's variables, and each other in command-line order (as Terraform's
`-var` / `-var-file`); a problem is an error where it was made (the var file's line, `--var`);
values of sensitive variables never reach plans, saved plans or logs."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import Project, policy, run

SPEC = policy("a", ["w1"], extra="").replace("sla_seconds: 300", "sla_seconds: ${var.sla}")


def _sla(project: Project, *args: str) -> int:
    document = project.plan_json(*args)
    (op,) = document["operations"]
    return int(next(c["after"] for c in op["changes"] if c["path"] == "sla_seconds"))


def _project(project: Project) -> Project:
    project.write("reconciler.yaml", "project: test\nvariables: {sla: 300}\n")
    project.write("p.yaml", SPEC)
    return project


def test_var_overrides_the_project_and_later_ones_override_earlier_ones(project: Project, tmp_path: Path) -> None:
    _project(project)
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("sla: 200\n")
    second.write_text("# a comment\nsla: 250\n")
    assert _sla(project) == 300
    assert _sla(project, "--var", "sla=600") == 600
    assert _sla(project, "--var", "sla=100", "--var-file", str(first)) == 200
    assert _sla(project, "--var-file", str(first), "--var", "sla=100") == 100
    assert _sla(project, "--var-file", str(second), "--var-file", str(first)) == 200
    assert _sla(project, "--var-file", str(first), "--var", "sla=100", "--var-file", str(second)) == 250


def test_validate_apply_and_drift_take_them_too(project: Project) -> None:
    _project(project)
    validated = project.cli("validate", "--var", "sla=600")
    assert validated.exit_code == 0, validated.output
    applied = project.cli("apply", "--auto-approve", "--var", "sla=600")
    assert applied.exit_code == 0, applied.output
    assert [r["sla_seconds"] for r in project.rows()] == [600]
    assert project.cli("drift", "--var", "sla=600").exit_code == 0
    assert project.cli("drift").exit_code == 2  # the spec, without the --var, says 300


def test_problems_are_reported_where_they_were_made(project: Project, tmp_path: Path) -> None:
    _project(project)
    bad = tmp_path / "vars.yaml"
    bad.write_text("sla: 200\nsla_secs: 10\n2bad: 1\n")
    result = project.cli("plan", "--var-file", str(bad), "--var", "slq=5")
    assert result.exit_code == 1
    err = result.stderr
    assert "vars.yaml:3: 2bad: not a variable name" in err
    assert "vars.yaml:2: sla_secs: variable 'sla_secs' is not used: no spec references ${var.sla_secs}" in err
    assert "--var: variable 'slq' is not used" in err and "did you mean sla?" in err
    listed = tmp_path / "list.yaml"
    listed.write_text("- sla\n")
    assert "list.yaml:1: a var file is a mapping" in project.cli("plan", "--var-file", str(listed)).stderr
    missing = project.cli("plan", "--var-file", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 1 and "nope.yaml: var file not found" in missing.stderr


def test_a_malformed_var_is_a_usage_error_and_an_unset_one_names_the_spec_line(project: Project) -> None:
    project.write("p.yaml", SPEC)
    malformed = project.cli("plan", "--var", "sla")
    assert malformed.exit_code == 1 and "expected NAME=VALUE" in malformed.stderr
    unset = project.cli("plan")
    assert unset.exit_code == 1
    assert "p.yaml:7: spec.sla_seconds: variable 'sla' is not defined" in unset.stderr
    assert "or pass --var sla=VALUE" in unset.stderr
    assert project.cli("plan", "--var", "sla=60").exit_code == 0


def test_sensitive_values_never_reach_plans_saved_plans_or_logs(project: Project, tmp_path: Path) -> None:
    project.write("reconciler.yaml", "project: test\nsensitive_variables: [warehouse]\n")
    project.write("p.yaml", policy("a", ["${var.warehouse}", "${var.api_token}"]))
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("warehouse: wh-very-secret-1\napi_token: tok-very-secret-2\n")
    out = tmp_path / "plan.json"
    result = project.cli("plan", "--var-file", str(secrets), "--out", str(out))
    assert result.exit_code == 0, result.output
    logged = run("--debug", "apply", project.root, "--auto-approve", "--var-file", secrets)
    assert logged.exit_code == 0, logged.output
    for text in (result.output, out.read_text(), logged.output):
        assert "very-secret" not in text
        assert "(sensitive)" in text
    assert json.loads(out.read_text())["operations"][0]["changes"]
    assert sorted(json.loads(project.rows()[0]["warehouse_ids"])) == ["tok-very-secret-2", "wh-very-secret-1"]


def test_a_var_file_among_the_specs_is_not_read_as_a_spec(project: Project) -> None:
    _project(project)
    project.write("prod.vars.yaml", "sla: 900\n")
    assert _sla(project, "--var-file", str(project.root / "prod.vars.yaml")) == 900
