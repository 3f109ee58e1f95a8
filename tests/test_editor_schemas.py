"""The editor schemas accept what the loader accepts: every example document and every generated
file validates against the schema its modeline names (with the `jsonschema` library, as
yaml-language-server would), `${var.}`/`${env:}` references included; and a wrong field is named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from grafana_helpers import GrafanaProject, apply_clean, folder_doc
from helpers import REPO, Project, policy, run

from reconciler.specs.schemas import MODELINE

SCHEMAS = REPO / "schemas"


def _schema_of(path: Path) -> tuple[Path, dict[str, Any]]:
    first = path.read_text().split("\n", 1)[0]
    assert first.startswith(MODELINE), f"{path}: no modeline"
    schema_path = (path.parent / first[len(MODELINE) :]).resolve()
    return schema_path, json.loads(schema_path.read_text())


def _problems(path: Path, schemas_dir: Path = SCHEMAS) -> list[str]:
    """Every schema error of every document of `path`, each with the field it is about."""
    schema_path, schema = _schema_of(path)
    assert schema_path.parent == schemas_dir.resolve(), schema_path
    validator = jsonschema.Draft202012Validator(schema)
    out = []
    for number, doc in enumerate(yaml.safe_load_all(path.read_text())):
        if doc is None:
            continue
        out += [f"{path.name} doc {number}: {e.json_path}: {e.message}" for e in validator.iter_errors(doc)]
    return out


def test_the_schemas_themselves_are_valid() -> None:
    for path in SCHEMAS.glob("*.schema.json"):
        jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "specs").glob("*.yaml")))
def test_every_example_document_validates_against_its_schema(name: str) -> None:
    assert _problems(REPO / "specs" / name) == []


def test_references_are_accepted_wherever_a_value_may_be_one() -> None:
    schema = json.loads((SCHEMAS / "sla-policy.schema.json").read_text())
    doc = yaml.safe_load(
        policy("x", ["${env:WH}", "w2"]).replace("sla_seconds: 300", "sla_seconds: ${var.sla}")
        + "  policy_mode: ${var.mode}\n"
    )
    jsonschema.validate(doc, schema)
    doc["spec"]["sla_seconds"] = "soon"  # text that is no reference is still wrong
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)
    project = json.loads((SCHEMAS / "reconciler.schema.json").read_text())
    jsonschema.validate({"targets": {"prod": {"grafana": {"url": "${env:GRAFANA_URL}"}}}}, project)
    with pytest.raises(jsonschema.ValidationError):  # reconciler.yaml has no variables to refer to
        jsonschema.validate({"targets": {"prod": {"grafana": {"org_id": "${var.org}"}}}}, project)


def _best(schema_file: str, doc: Any) -> jsonschema.ValidationError:
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(json.loads((SCHEMAS / schema_file).read_text())).iter_errors(doc)
    )
    assert error is not None
    return error


def test_a_wrong_field_in_a_union_is_named() -> None:
    store = {"targets": {"prod": {"policy_store": {"type": "sqlite", "pat": "x.db"}}}}
    error = _best("reconciler.schema.json", store)
    assert "'pat' was unexpected" in error.message, error.message
    assert "not valid under any of the given schemas" not in error.message
    store["targets"]["prod"]["policy_store"] = {"type": "databricks", "table": "a.b.c", "warehouse_id": 5}
    error = _best("reconciler.schema.json", store)
    assert error.json_path == "$.targets.prod.policy_store.warehouse_id", error.json_path
    store["targets"]["prod"]["policy_store"] = {"type": "oracle"}
    assert "'oracle' is not one of" in _best("reconciler.schema.json", store).message


def test_the_combined_schema_checks_each_document_by_its_kind() -> None:
    docs = [yaml.safe_load(d) for d in (REPO / "specs" / "grafana-folders.yaml").read_text().split("\n---\n")]
    docs += [yaml.safe_load(policy("x", ["w"]))]
    schema = json.loads((SCHEMAS / "spec.schema.json").read_text())
    for doc in docs:
        if doc:
            jsonschema.validate(doc, schema)
    bad = yaml.safe_load(policy("x", ["w"], mode="BURST"))
    error = _best("spec.schema.json", bad)
    assert error.json_path == "$.spec.policy_mode" and "'BURST'" in error.message, (error.json_path, error.message)
    assert "'Nope' is not one of" in _best("spec.schema.json", {**bad, "kind": "Nope"}).message


def test_generated_spec_files_carry_a_modeline_and_validate(gp: GrafanaProject, tmp_path: Path) -> None:
    gp.write("folders.yaml", folder_doc())
    apply_clean(gp)
    gp.create_unmanaged("Disk full", "infra checks")
    gp.remove("folders.yaml")
    result = run("import", "--generate-specs", "GrafanaRuleGroup", "alerts/*", gp.root)
    assert result.exit_code == 0, result.output
    written = gp.root / "grafana" / "alerts.yaml"
    assert written.read_text().startswith(f"{MODELINE}../../schemas/spec.schema.json\n")  # folder + group: mixed
    schemas = gp.root.parent / "schemas"
    assert run("schema", "--out-dir", schemas).exit_code == 0
    assert _problems(written, schemas) == []
    assert gp.cli("validate").exit_code == 0


def test_a_file_of_one_kind_gets_that_kinds_schema(project: Project) -> None:
    from reconciler.specs.schemas import with_modeline

    path = project.root / "sub" / "p.yaml"
    text = with_modeline(policy("x", ["w"]), path, project.root)
    assert text.startswith(f"{MODELINE}../../schemas/sla-policy.schema.json\n")
    assert with_modeline(text, path, project.root) == text
