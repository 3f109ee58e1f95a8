"""Ownership markers: how reconciler records on Grafana's side which rules are whose.

Ownership lives in Grafana itself, in rule annotations (never labels: labels drive notification
routing). Pure: the predicates take the rule as Grafana returns it and the project's owner string.
"""

from __future__ import annotations

from typing import Any

# Annotation keys with this prefix are reserved for reconciler.
MARKER_PREFIX = "reconciler_"
OWNER_ANNOTATION = "reconciler_managed_by"
PREVENT_DESTROY_ANNOTATION = "reconciler_prevent_destroy"
# A folder has no field to carry it, so its lifecycle.prevent_destroy rides on reconciler's rules in it
# (the only case a folder can be planned for deletion is while it holds reconciler's rules).
FOLDER_PREVENT_DESTROY_ANNOTATION = "reconciler_folder_prevent_destroy"
# Set on rules written while a spec declares their folder: only such a folder may be deleted once
# no spec declares it (a folder made by hand whose rules were imported is never reconciler's).
FOLDER_OWNED_ANNOTATION = "reconciler_folder_owned"
# The uid the rule was written under: a copy made in Grafana's UI keeps the annotations but not
# the uid, and must not count as reconciler's.
UID_ANNOTATION = "reconciler_uid"
# metadata.name of the GrafanaRuleGroup document that declares the rule.
SPEC_ANNOTATION = "reconciler_spec"
# Digest of the rule as reconciler last wrote it (`reconciler.last_applied`): drift tells an edit
# in Grafana's UI from a spec change not applied yet.
APPLIED_DIGEST_ANNOTATION = "reconciler_applied_digest"


def rule_annotations(rule: dict[str, Any]) -> dict[str, Any]:
    return rule.get("annotations") or {}


def other_owner(rule: dict[str, Any], owner: str) -> str | None:
    """Another reconciler project's marker on `rule`, if another project manages it."""
    marker = rule_annotations(rule).get(OWNER_ANNOTATION)
    return str(marker) if marker and marker != owner else None


def is_managed(rule: dict[str, Any], owner: str) -> bool:
    """Whether `owner` manages `rule`: its marker, on the uid it was written under (a copy made in
    Grafana's UI keeps the annotations but not the uid)."""
    marks = rule_annotations(rule)
    return marks.get(OWNER_ANNOTATION) == owner and marks.get(UID_ANNOTATION, rule.get("uid")) == rule.get("uid")
