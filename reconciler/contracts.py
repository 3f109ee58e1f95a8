"""The machine-readable contracts: the JSON documents `plan`, `drift`, `apply` and failed runs
write, as pydantic models.

Why models for output that dataclasses already produce: CI scripts, dashboards and bots parse
these documents, so their shape is a published contract. The models are its one definition:
`reconciler schema` writes them to `schemas/*.schema.json` and the tests validate real output
against those files, so a change to an output that breaks a consumer fails the suite. Each
document carries `format_version`; it changes only when a field changes meaning or goes away
(new fields may be added at any time, so consumers must ignore fields they do not know).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# The plan's own format_version lives in reconciler.plan.model (FORMAT_VERSION).
DRIFT_FORMAT_VERSION = 1
APPLY_FORMAT_VERSION = 1
ERRORS_FORMAT_VERSION = 1


class _Doc(BaseModel):
    # Consumers must accept fields added later; the schema says so too.
    model_config = ConfigDict(extra="allow")


class Tool(_Doc):
    name: Literal["reconciler"]
    version: str


class ChangeDoc(_Doc):
    path: str = Field(description="Dotted field path, e.g. `data.C.model.conditions[0].evaluator.params`.")
    before: Any = Field(description="Live value (null when absent).")
    after: Any = Field(description="Desired value (null when absent).")


class RewrittenDoc(_Doc):
    key: str
    name: str
    managed: bool = Field(description="This project's object.")
    owner: str | None = None


class ApiCallDoc(_Doc):
    method: str = Field(description="HTTP verb, or SQL / SDK for backends that are not plain HTTP.")
    path: str
    summary: str
    purpose: str = ""
    rewrites: list[RewrittenDoc] = Field(default_factory=list, description="What else the call writes.")


class OperationDoc(_Doc):
    action: Literal["create", "update", "replace", "delete"]
    kind: str
    name: str
    key: str = Field(description="The object's identity in the live system.")
    changes: list[ChangeDoc]
    reasons: list[str] = Field(description="Why (always set for replace and delete).")
    warnings: list[str] = Field(description="What is lost or reset, with numbers when known.")
    destructive: bool
    live_fingerprint: str | None = Field(description="Digest of the live object planned against; null for a create.")
    replaces_key: str | None = Field(description="For a replace whose identity moved: the old key.")
    source: str | None = Field(description="file:line of the spec document.")
    calls: list[ApiCallDoc] = Field(default_factory=list, description="The requests apply makes, in order.")
    after: list[str] = Field(
        default_factory=list,
        description="Addresses of earlier operations this one waits for (apply never runs it at the same time as them).",
    )


class UnchangedDoc(_Doc):
    kind: str
    name: str
    key: str


class UnmanagedDoc(_Doc):
    kind: str
    key: str
    description: str
    declared_by: str | None = Field(description="file:line of a spec that claims it (the plan is then refused).")


class Summary(_Doc):
    create: int
    update: int
    replace: int
    delete: int
    unchanged: int


class PlanDocument(_Doc):
    """`reconciler plan --format json` / `--out FILE`; the input of `apply --plan FILE`."""

    format_version: Literal[1]
    tool: Tool
    target: str
    specs_digest: str = Field(description="Digest of the resolved desired state, `sha256:...`.")
    summary: Summary
    operations: list[OperationDoc]
    unchanged: list[UnchangedDoc]
    unmanaged: list[UnmanagedDoc]
    notes: list[str]
    diagnostics: list[dict[str, Any]] = Field(
        default_factory=list, description="Refusals about objects no operation covers (a takeover, a locked object)."
    )
    migrations: list[dict[str, Any]] = Field(
        default_factory=list, description="Schema changes of a live store the plan needs (apply --allow-migrate)."
    )
    partial: bool = Field(
        default=False, description="True when --only/--label limited the plan to some objects (see `selection`)."
    )
    selection: list[str] = Field(default_factory=list, description="The --only/--label selectors of a partial plan.")
    specs_dir: str | None = Field(
        default=None, description="The spec directory as `plan` was given it (relative to where it ran)."
    )
    endpoints: dict[str, str] = Field(
        default_factory=dict,
        description="Per live system (policy_store, databricks, grafana), a fingerprint of the target's endpoint "
        "(URL, host, store; no secrets): `apply PLANFILE` refuses a plan made against other endpoints.",
    )
    variables: dict[str, Any] = Field(
        default_factory=dict,
        description="The --var / --var-file values the plan was made with; sensitive ones read (sensitive).",
    )


DriftStatus = Literal["drifted", "missing", "undeclared", "unmanaged", "in_sync"]
DriftCause = Literal["out_of_band", "pending", "unknown"]


class DriftObject(_Doc):
    kind: str
    name: str = Field(description="Spec name; empty for unmanaged objects.")
    key: str
    status: DriftStatus
    cause: DriftCause | None = Field(
        default=None,
        description="For `drifted`: `out_of_band` (live differs from what reconciler last applied: changed outside "
        "reconciler), `pending` (live is what reconciler last applied, the spec changed since: not applied yet) or "
        "`unknown` (no record of the last apply).",
    )
    changes: list[ChangeDoc]
    description: str


class DriftDocument(_Doc):
    """`reconciler drift --format json`."""

    format_version: Literal[1]
    tool: Tool
    target: str
    drifted: bool = Field(description="Whether anything drifted (unmanaged objects do not count).")
    counts: dict[str, int] = Field(description="Objects per status.")
    objects: list[DriftObject]
    notes: list[str]


class ResultDoc(_Doc):
    action: Literal["create", "update", "replace", "delete"]
    kind: str
    name: str
    key: str
    status: Literal["succeeded", "failed", "not started"]
    error: str | None = Field(description="The live system's error, for a failed operation.")


class WaitDoc(_Doc):
    ok: bool
    error: str | None


class ApplyResultDoc(_Doc):
    ok: bool = Field(description="Every operation succeeded (and, with --wait, everything became ready).")
    results: list[ResultDoc]
    wait: WaitDoc | None = Field(default=None, description="With --wait: whether everything became ready.")


class ApplyDocument(_Doc):
    """`reconciler apply --format json`: the plan that was applied and each operation's outcome
    (`apply` is null when there was nothing to do)."""

    format_version: Literal[1]
    tool: Tool
    plan: PlanDocument
    apply: ApplyResultDoc | None


class ErrorDoc(_Doc):
    file: str | None = Field(description="The spec file, when the problem is in one.")
    line: int | None
    path: str = Field(description="Dotted field path inside the document; empty when not about one field.")
    message: str


class ErrorsDocument(_Doc):
    """What `validate`, `plan`, `apply` and `drift` write with `--format json` when they fail (exit 1)."""

    format_version: Literal[1]
    tool: Tool
    ok: bool = Field(description="False when the run failed; `validate --format json` also writes it on success.")
    errors: list[ErrorDoc]


# schemas/<file> -> model; `reconciler schema` writes them beside the spec schemas.
CONTRACTS: dict[str, type[BaseModel]] = {
    "plan.schema.json": PlanDocument,
    "drift.schema.json": DriftDocument,
    "apply-report.schema.json": ApplyDocument,
    "errors.schema.json": ErrorsDocument,
}


def tool() -> dict[str, str]:
    from reconciler import __version__

    return {"name": "reconciler", "version": __version__}
