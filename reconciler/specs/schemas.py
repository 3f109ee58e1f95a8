"""JSON Schemas of the spec documents and of the JSON outputs (`reconciler.contracts`), generated
from the pydantic models.

Checked in under `schemas/` so editors (yaml-language-server) validate specs as people type; a
test fails when the files differ from what the models generate.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from reconciler.kinds.base import Kind

from .envelope import API_VERSION
from .loader import document_model
from .project import ProjectFile

SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema"
#: The schema for files that mix kinds (what `import --generate-specs` writes).
COMBINED_SCHEMA = "spec.schema.json"
REFERENCE = "VariableReference"
_NAME = "[A-Za-z_][A-Za-z0-9_]*"
#: Keys that document a field for editors (hover text): kept on the outside of a wrapper.
_HOVER = ("title", "description", "default", "examples", "deprecated")
#: A string that a reference may replace as a whole (nothing narrows it) needs no wrapper.
_NARROWING = ("pattern", "enum", "const", "format", "minLength", "maxLength")


def _file_name(kind: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", kind).lower() + ".schema.json"


def _reference_schema(env_only: bool) -> dict[str, Any]:
    if env_only:  # reconciler.yaml: no variables there yet, the environment only
        return {
            "type": "string",
            "pattern": f"\\$\\{{env:{_NAME}\\}}",
            "description": "${env:NAME}: replaced by the environment variable NAME when the file is loaded.",
        }
    return {
        "type": "string",
        "pattern": f"\\$\\{{(var\\.|env:){_NAME}\\}}",
        "description": "${var.NAME} (a variable of reconciler.yaml or the target) or ${env:NAME} (an environment "
        "variable), replaced when the specs are loaded; a value that is exactly one reference takes the "
        "variable's own type.",
    }


def _wrap(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema`, or a `${var.}`/`${env:}` reference in its place."""
    if schema.get("type") == "string" and not any(key in schema for key in _NARROWING):
        return schema
    inner = {k: v for k, v in schema.items() if k not in _HOVER}
    hover = {k: v for k, v in schema.items() if k in _HOVER}
    return {**hover, "anyOf": [inner, {"$ref": f"#/$defs/{REFERENCE}"}]}


def _with_references(node: Any) -> Any:
    """Every value position of a schema accepts a reference too: interpolation happens after
    YAML parsing, on any value, so an editor must not flag `sla_seconds: ${var.sla}`."""
    if isinstance(node, list):
        return [_with_references(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _wrap(_with_references(field)) for name, field in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _wrap(_with_references(value))
        elif key == "prefixItems":
            out[key] = [_wrap(_with_references(item)) for item in value]
        elif key in ("$defs", "patternProperties"):
            out[key] = {name: _with_references(item) for name, item in value.items()}
        elif key in ("anyOf", "oneOf", "allOf", "not", "if", "then", "else"):
            out[key] = _with_references(value)
        else:  # enum, const, default, examples...: data, not schemas
            out[key] = value
    return out


def _tagged_unions(node: Any) -> Any:
    """pydantic's discriminated unions (`oneOf` + `discriminator`) as if/then on the tag: a
    validator then reports the wrong field inside the chosen variant, not "is not valid under any
    of the given schemas"."""
    if isinstance(node, list):
        return [_tagged_unions(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _tagged_unions(value) for key, value in node.items()}
    discriminator = node.get("discriminator")
    if not (isinstance(discriminator, dict) and "oneOf" in node and "mapping" in discriminator):
        return node
    tag, mapping = discriminator["propertyName"], discriminator["mapping"]
    rest = {k: v for k, v in node.items() if k not in ("oneOf", "discriminator")}
    return {
        **rest,
        "type": "object",
        "required": [tag],
        "properties": {tag: {"enum": sorted(mapping)}},
        "allOf": [
            {"if": {"properties": {tag: {"const": value}}, "required": [tag]}, "then": {"$ref": ref}}
            for value, ref in sorted(mapping.items())
        ],
    }


def _editor_schema(model_schema: dict[str, Any], title: str, env_only: bool = False) -> dict[str, Any]:
    schema = _tagged_unions(_with_references(model_schema))
    literal = {"apiVersion", "kind"}  # checked before interpolation: no references there
    for name in literal & set(schema.get("properties", {})):
        schema["properties"][name] = model_schema["properties"][name]
    schema.setdefault("$defs", {})[REFERENCE] = _reference_schema(env_only)
    return {"$schema": SCHEMA_DRAFT, "title": title, **schema}


def _prefixed(node: Any, prefix: str) -> Any:
    """A kind's schema with its `$defs` names prefixed, to live beside other kinds' in one file."""
    if isinstance(node, list):
        return [_prefixed(item, prefix) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _prefixed(value, prefix) for key, value in node.items()}
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and ref != f"#/$defs/{REFERENCE}":
        out["$ref"] = f"#/$defs/{prefix}.{ref[len('#/$defs/') :]}"
    return out


def _combined(kinds: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One schema for a file whose documents may be of any kind: each document by its `kind`."""
    defs: dict[str, Any] = {REFERENCE: _reference_schema(env_only=False)}
    for name, schema in kinds.items():
        body = _prefixed({k: v for k, v in schema.items() if k not in ("$schema", "$defs", "title")}, name)
        defs[name] = body
        for def_name, definition in schema.get("$defs", {}).items():
            if def_name != REFERENCE:
                defs[f"{name}.{def_name}"] = _prefixed(definition, name)
    return {
        "$schema": SCHEMA_DRAFT,
        "title": "reconciler spec document (any kind)",
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {"apiVersion": {"const": API_VERSION}, "kind": {"enum": sorted(kinds)}},
        "allOf": [
            {"if": {"properties": {"kind": {"const": name}}, "required": ["kind"]}, "then": {"$ref": f"#/$defs/{name}"}}
            for name in sorted(kinds)
        ],
        "$defs": defs,
    }


def _dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def generate_schemas(kinds: Mapping[str, Kind]) -> dict[str, str]:
    """One schema file per standalone kind of `kinds`, the combined one, and the project file's."""
    files: dict[str, str] = {}
    documents: dict[str, dict[str, Any]] = {}
    for kind in kinds.values():
        if not kind.standalone:
            continue
        schema = _editor_schema(document_model(kind).model_json_schema(), f"reconciler {kind.name}")
        documents[kind.name] = schema
        files[_file_name(kind.name)] = _dump(schema)
    files[COMBINED_SCHEMA] = _dump(_combined(documents))
    project = _editor_schema(
        ProjectFile.model_json_schema(), "reconciler project file (reconciler.yaml)", env_only=True
    )
    files["reconciler.schema.json"] = _dump(project)
    from reconciler.contracts import CONTRACTS

    for name, model in CONTRACTS.items():
        contract = {"$schema": SCHEMA_DRAFT, **model.model_json_schema(mode="serialization")}
        files[name] = _dump(contract)
    return files


def schema_file(kinds: set[str]) -> str:
    """The schema file for a spec file holding documents of `kinds`."""
    return _file_name(next(iter(kinds))) if len(kinds) == 1 else COMBINED_SCHEMA


MODELINE = "# yaml-language-server: $schema="


def with_modeline(text: str, path: Path, specs_dir: Path) -> str:
    """A generated spec file's text led by the modeline that points editors at its schema: the
    kind's own, or the combined one when the file mixes kinds. Schemas are looked for where
    `reconciler schema` writes them run beside the spec directory (`schemas/`, its sibling)."""
    if MODELINE in text.split("\n", 1)[0]:
        return text
    kinds = {str(doc["kind"]) for doc in yaml.safe_load_all(text) if isinstance(doc, dict) and "kind" in doc}
    if not kinds:
        return text
    target = specs_dir.resolve().parent / "schemas" / schema_file(kinds)
    relative = Path(os.path.relpath(target, path.parent.resolve())).as_posix()
    return f"{MODELINE}{relative}\n{text}"
