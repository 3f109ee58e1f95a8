"""The project file `reconciler.yaml`: targets and their variables and connections.

A target says where live objects are (which policy store, which Databricks workspace, which
Grafana). Connection settings never hold secrets: tokens come from the environment or from the
Databricks SDK's profiles.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reconciler.uc_names import split_table_name

PROJECT_FILE = "reconciler.yaml"
LOCAL_TARGET = "local"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SqlitePolicyStore(_Strict):
    """SLA policies in a SQLite file (the embedded default)."""

    type: Literal["sqlite"] = "sqlite"
    path: str | None = Field(
        default=None,
        description="SQLite file; relative paths are relative to the spec directory. "
        "Default: .reconciler/<target>/policies.db next to the specs.",
    )


class DatabricksPolicyStore(_Strict):
    """SLA policies in a Unity Catalog (Delta) table, read and written through a SQL warehouse
    with the target's `databricks:` connection (its auth and retry bound)."""

    type: Literal["databricks"]
    table: str = Field(
        description="Three-part table name, catalog.schema.table (e.g. main.sla_monitoring.query_sla_policies). "
        "Created by `apply` when missing; its schema must exist.",
        examples=["main.sla_monitoring.query_sla_policies"],
    )
    warehouse_id: str = Field(min_length=1, description="SQL warehouse that runs the statements.")
    statement_timeout_seconds: int = Field(
        default=300,
        gt=0,
        description="How long to wait for one statement (polling) before cancelling it and failing.",
    )

    @field_validator("table")
    @classmethod
    def _three_part_name(cls, value: str) -> str:
        split_table_name(value)  # raises with the reason
        return value


PolicyStore = Annotated[SqlitePolicyStore | DatabricksPolicyStore, Field(discriminator="type")]


class DatabricksConnection(_Strict):
    """How to reach a Databricks workspace, through databricks-sdk's own configuration.

    Unset fields fall back to the SDK's usual sources (DATABRICKS_HOST / DATABRICKS_TOKEN / ...
    environment variables, ~/.databrickscfg profiles); tokens are never written here.
    """

    profile: str | None = Field(default=None, description="Profile in ~/.databrickscfg.")
    host: str | None = Field(default=None, description="Workspace URL; default from the profile or DATABRICKS_HOST.")
    retry_timeout_seconds: int = Field(
        default=120,
        gt=0,
        description="Upper bound on the SDK's retries of 429/503 answers (the SDK's own default is 300 s).",
    )
    http_timeout_seconds: int = Field(default=60, gt=0, description="Timeout of one HTTP request.")


class GrafanaConnection(_Strict):
    """How to reach Grafana's HTTP API. The service-account token is read from the environment
    variable named by `token_env`; it is never written in specs."""

    url: str | None = Field(
        default=None,
        description="Grafana base URL (e.g. https://grafana.example.com). Default: GRAFANA_URL; "
        "on an embedded target, the bundled sandbox.",
    )
    token_env: str = Field(
        default="GRAFANA_TOKEN",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Environment variable holding the service-account token (sent as a Bearer token).",
    )
    org_id: int | None = Field(default=None, gt=0, description="Organization (X-Grafana-Org-Id); default the token's.")
    provenance: Literal["provisioned", "editable"] = Field(
        default="provisioned",
        description="provisioned: rules are written with provenance 'api' and locked in Grafana's UI. "
        "editable: written with X-Disable-Provenance, editable in the UI (then `drift` finds UI edits).",
    )
    timeout_seconds: float = Field(default=30, gt=0, description="Timeout of one HTTP request.")


class QualityMonitorSettings(_Strict):
    """How reconciler keeps track of the lakehouse monitors it manages on this target."""

    ledger_path: str | None = Field(
        default=None,
        description="Workspace file of the ownership ledger (which monitors reconciler manages, and the "
        "create-only values it applied). Default: /Shared/.reconciler/<project>/<target>/ledger.json.",
    )


class TargetConfig(_Strict):
    """One place the specs are applied to."""

    description: str | None = None
    embedded: bool = Field(
        default=False,
        description="Use the embedded SQLite store and the in-process sandbox for every system "
        "this target does not configure. The built-in 'local' target is embedded.",
    )
    variables: dict[str, Any] = Field(default_factory=dict)
    policy_store: PolicyStore | None = None
    databricks: DatabricksConnection | None = None
    grafana: GrafanaConnection | None = None
    quality_monitors: QualityMonitorSettings | None = None


class ProjectFile(_Strict):
    """Contents of reconciler.yaml."""

    project: str | None = Field(default=None, description="A name for this set of specs.")
    default_target: str = LOCAL_TARGET
    variables: dict[str, Any] = Field(default_factory=dict, description="Variables shared by every target.")
    targets: dict[str, TargetConfig] = Field(default_factory=dict)

    def target(self, name: str) -> TargetConfig | None:
        if name in self.targets:
            return self.targets[name]
        if name == LOCAL_TARGET:
            return TargetConfig(embedded=True, description="embedded sandbox under .reconciler/")
        return None
