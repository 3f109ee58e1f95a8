"""The JSON outputs validate against the checked-in schemas; errors come out as data and as CI annotations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from helpers import REPO, Project, copy_examples, policy, run


def _validate(document: Any, schema_file: str) -> None:
    schema = json.loads((REPO / "schemas" / schema_file).read_text())
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)


def test_plan_apply_and_drift_json_validate_against_their_schemas(tmp_path: Path) -> None:
    specs = copy_examples(tmp_path)
    plan = run("plan", specs, "--format", "json")
    assert plan.exit_code == 0, plan.output
    plan_doc = json.loads(plan.stdout)
    _validate(plan_doc, "plan.schema.json")
    assert plan_doc["format_version"] == 1 and plan_doc["operations"]

    drift = run("drift", specs, "--format", "json")
    assert drift.exit_code == 2
    drift_doc = json.loads(drift.stdout)
    _validate(drift_doc, "drift.schema.json")
    assert drift_doc["format_version"] == 1 and drift_doc["counts"]["missing"] >= 4

    applied = run("apply", specs, "--auto-approve", "--format", "json")
    assert applied.exit_code == 0, applied.output
    apply_doc = json.loads(applied.stdout)
    _validate(apply_doc, "apply-report.schema.json")
    assert apply_doc["format_version"] == 1 and apply_doc["apply"]["ok"]
    assert {r["status"] for r in apply_doc["apply"]["results"]} == {"succeeded"}

    noop = json.loads(run("apply", specs, "--auto-approve", "--format", "json").stdout)
    _validate(noop, "apply-report.schema.json")
    assert noop["apply"] is None
    saved = tmp_path / "plan.json"
    assert run("plan", specs, "--out", saved).exit_code == 0
    _validate(json.loads(saved.read_text()), "plan.schema.json")


def test_a_failed_apply_report_validates(project: Project) -> None:
    project.write("p.yaml", policy("seed", ["w0"]))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.sql(  # a database that refuses one write
        "CREATE TRIGGER reject BEFORE INSERT ON query_sla_policies WHEN NEW.sla_seconds = 666 "
        "BEGIN SELECT RAISE(ABORT, 'disk quota exceeded'); END"
    )
    project.write("p.yaml", policy("seed", ["w0"]) + "---\n" + policy("b", ["w2"], 666) + "---\n" + policy("c", ["w3"]))
    result = project.cli("apply", "--auto-approve", "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    _validate(doc, "apply-report.schema.json")
    # Both rows go in one transaction: the refused one fails it, and so both operations.
    assert [r["status"] for r in doc["apply"]["results"]] == ["failed", "failed"]
    assert all("disk quota exceeded" in r["error"] for r in doc["apply"]["results"])


def test_validate_reports_errors_as_json_and_as_github_annotations(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project.root.parent)  # CI runs at the repository root: paths relative to it
    project.write("p.yaml", policy("bad", ["w1"], mode="BURST"))
    path = "specs/p.yaml"
    as_json = project.cli("validate", "--format", "json")
    assert as_json.exit_code == 1
    doc = json.loads(as_json.stdout)
    _validate(doc, "errors.schema.json")
    (error,) = doc["errors"]
    assert error["file"] == path and error["line"] == 8 and error["path"] == "spec.policy_mode"
    assert "'BURST' is not one of SLA_BURST, ERROR, ALL" in error["message"]

    github = project.cli("validate", "--format", "github")
    assert github.exit_code == 1
    assert github.stdout.strip() == (
        f"::error file={path},line=8,title=spec.policy_mode::'BURST' is not one of SLA_BURST, ERROR, ALL"
    )
    assert "problem(s) in the specs" in github.stderr  # the human message is still there

    project.write("p.yaml", policy("good", ["w1"]))
    ok = json.loads(project.cli("validate", "--format", "json").stdout)
    _validate(ok, "errors.schema.json")
    assert ok["ok"] is True and ok["errors"] == []


def test_a_refused_plan_annotates_the_spec_line(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project.root.parent)
    project.write("p.yaml", policy("mine", ["w1"]))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.sql("UPDATE query_sla_policies SET managed_by = NULL")  # someone else's row now
    result = project.cli("plan", "--format", "github")
    assert result.exit_code == 1
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("::error")]
    assert line.startswith("::error file=specs/p.yaml,line=4,")
    assert "does not manage" in line
    as_json = json.loads(project.cli("plan", "--format", "json").stdout)
    _validate(as_json, "errors.schema.json")
    assert as_json["ok"] is False and as_json["errors"][0]["line"] == 4


def test_github_plan_annotates_destructive_operations(project: Project) -> None:
    project.write("p.yaml", policy("a", ["wa"]))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.write("p.yaml", policy("b", ["wb"]))
    out = project.cli("plan", "--format", "github").stdout
    assert "delete SlaPolicy/a" in out
    assert any(x.startswith("::warning ") and "title=destructive" in x for x in out.splitlines())


@pytest.mark.parametrize("text", ["50% done\nnext", "a:b,c"])
def test_annotations_escape_what_github_would_misread(text: str) -> None:
    from reconciler.error_output import github_annotation

    line = github_annotation("error", text, file=text, line=3)
    assert "\n" not in line and line.count("::") == 2
    assert line.endswith("::" + text.replace("%", "%25").replace("\n", "%0A"))
