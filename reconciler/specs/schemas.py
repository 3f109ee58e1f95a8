"""JSON Schemas of the spec documents, generated from the pydantic models.

Checked in under `schemas/` so editors (yaml-language-server) validate specs as people type; a
test fails when the files differ from what the models generate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from reconciler.kinds.base import Kind

from .loader import document_model
from .project import ProjectFile

SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _file_name(kind: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", kind).lower() + ".schema.json"


def generate_schemas(kinds: Mapping[str, Kind]) -> dict[str, str]:
    """One schema file per standalone kind of `kinds`, plus the project file's."""
    files: dict[str, str] = {}
    for kind in kinds.values():
        if not kind.standalone:
            continue
        schema = document_model(kind).model_json_schema()
        schema = {"$schema": SCHEMA_DRAFT, "title": f"reconciler {kind.name}", **schema}
        files[_file_name(kind.name)] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    project = {
        "$schema": SCHEMA_DRAFT,
        "title": "reconciler project file (reconciler.yaml)",
        **ProjectFile.model_json_schema(),
    }
    files["reconciler.schema.json"] = json.dumps(project, indent=2, sort_keys=True) + "\n"
    return files
