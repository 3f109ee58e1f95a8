"""Bad input: a file:line error naming the field, exit 1, nothing live changed."""

from __future__ import annotations

import pytest
from helpers import Project, policy

CASES = {
    "bad yaml": (
        "p.yaml",
        "apiVersion: reconciler/v1\nkind: SlaPolicy\nmetadata: {name: x\nspec: {}\n",
        "p.yaml:4: YAML syntax error",
    ),
    "unknown field": (
        "p.yaml",
        policy("x", ["w"], extra="colour: red"),
        "p.yaml:8: spec.colour: unknown field (allowed: lifecycle, warehouse_ids, sla_seconds, policy_mode, included_statuses)",
    ),
    "misspelt field": (
        "p.yaml",
        policy("x", ["w"], extra="policy_mod: ALL"),
        "p.yaml:8: spec.policy_mod: unknown field; did you mean 'policy_mode'?",
    ),
    "wrong enum": (
        "p.yaml",
        policy("x", ["w"], mode="BURST"),
        "p.yaml:8: spec.policy_mode: 'BURST' is not one of SLA_BURST, ERROR, ALL",
    ),
    "duplicate identity": (
        "p.yaml",
        policy("x", ["w1", "w2"]) + "---\n" + policy("y", ["w2", "w1"]),
        "p.yaml:14: spec.warehouse_ids: same warehouse set as SlaPolicy 'x' (",
    ),
    "duplicate name": (
        "p.yaml",
        policy("x", ["w1"]) + "---\n" + policy("x", ["w2"]),
        "p.yaml:12: metadata.name: SlaPolicy 'x' is already declared",
    ),
    "unset env": (
        "p.yaml",
        policy("x", ["w"]).replace("sla_seconds: 300", "sla_seconds: ${env:RECONCILER_TEST_UNSET}"),
        "p.yaml:7: spec.sla_seconds: environment variable 'RECONCILER_TEST_UNSET' is not set",
    ),
    "undefined var": (
        "p.yaml",
        policy("x", ["w"]).replace("sla_seconds: 300", "sla_seconds: ${var.nope}"),
        "p.yaml:7: spec.sla_seconds: variable 'nope' is not defined",
    ),
    "negative sla": ("p.yaml", policy("x", ["w"], sla=-5), "p.yaml:7: spec.sla_seconds:"),
    "empty warehouses": ("p.yaml", policy("x", []), "p.yaml:6: spec.warehouse_ids: must not be empty"),
    "bad status": (
        "p.yaml",
        policy("x", ["w"], extra="included_statuses: [QUEUED, DONE]"),
        "p.yaml:8: spec.included_statuses[1]: 'DONE' is not one of",
    ),
    "unknown kind": (
        "p.yaml",
        "apiVersion: reconciler/v1\nkind: Nope\nmetadata: {name: x}\nspec: {}\n",
        "p.yaml:2: kind: 'Nope' is not one of",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
def test_invalid_spec_is_a_located_error_and_changes_nothing(project: Project, case: str, command: str) -> None:
    project.write("good.yaml", policy("good", ["wh-good"]))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    before = project.rows()

    name, text, expected = CASES[case]
    project.write(name, text)
    args = ["--auto-approve"] if command == "apply" else []
    result = project.cli(command, *args)
    assert result.exit_code == 1
    assert expected in result.stderr, result.stderr
    assert project.rows() == before


def test_all_errors_are_reported_at_once(project: Project) -> None:
    project.write("a.yaml", policy("a", ["w"], mode="BURST"))
    project.write("b.yaml", policy("b", ["v"], extra="colour: red"))
    result = project.cli("validate")
    assert result.exit_code == 1
    assert "2 problem(s)" in result.stderr
    assert "a.yaml:8" in result.stderr and "b.yaml:8" in result.stderr


def test_an_unset_variable_does_not_hide_the_documents_other_errors(project: Project) -> None:
    text = policy("x", ["w"], mode="BURST", extra="colour: red").replace(
        "sla_seconds: 300", "sla_seconds: ${env:RECONCILER_TEST_UNSET}"
    )
    project.write("p.yaml", text)
    result = project.cli("validate")
    assert result.exit_code == 1
    assert "3 problem(s)" in result.stderr, result.stderr
    assert "p.yaml:7: spec.sla_seconds: environment variable 'RECONCILER_TEST_UNSET' is not set" in result.stderr
    assert "spec.policy_mode: 'BURST' is not one of" in result.stderr and "spec.colour: unknown field" in result.stderr


def test_a_yaml_syntax_error_does_not_hide_the_files_later_documents(project: Project) -> None:
    broken = policy("a", ["w1"]).replace('warehouse_ids: ["w1"]', 'warehouse_ids: ["w1"')
    project.write("p.yaml", broken + "---\n" + policy("b", ["w2"], mode="BURST"))
    result = project.cli("validate")
    assert result.exit_code == 1
    assert "2 problem(s)" in result.stderr, result.stderr
    assert "p.yaml:7: YAML syntax error" in result.stderr and "(the construct starts on line 6)" in result.stderr
    assert "p.yaml:16: spec.policy_mode: 'BURST' is not one of" in result.stderr


def test_a_self_referencing_alias_is_an_error_not_a_crash(project: Project) -> None:
    project.write("p.yaml", policy("a", ["w1"]).replace('warehouse_ids: ["w1"]', "warehouse_ids: &ids [*ids]"))
    result = project.cli("validate")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "p.yaml:6: spec.warehouse_ids[0]: a YAML alias refers to itself" in result.stderr, result.stderr


def test_empty_documents_are_skipped(project: Project) -> None:
    project.write("p.yaml", policy("a", ["w1"]) + "---\n# nothing here yet\n---\n")
    result = project.cli("validate")
    assert result.exit_code == 0, result.output


def test_variables_resolve_from_target_and_environment(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.write(
        "reconciler.yaml",
        "project: test\nvariables: {sla: 10}\ntargets:\n  local:\n    embedded: true\n    variables: {sla: 77}\n",
    )
    monkeypatch.setenv("WH_FROM_ENV", "wh-env")
    project.write("p.yaml", policy("x", ["${env:WH_FROM_ENV}"]).replace("sla_seconds: 300", "sla_seconds: ${var.sla}"))
    plan = project.plan_json()
    changes = {c["path"]: c["after"] for c in plan["operations"][0]["changes"]}
    assert changes["sla_seconds"] == 77 and changes["warehouse_ids"] == ["wh-env"]


def test_unknown_target_is_an_error(project: Project) -> None:
    result = project.cli("plan", "--target", "prod")
    assert result.exit_code == 1 and "unknown target 'prod'" in result.stderr
