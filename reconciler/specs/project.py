"""The project file `reconciler.yaml`: targets and their variables and connections.

A target says where live objects are (which policy store, which Databricks workspace, which
Grafana). Connection settings never hold secrets: tokens come from the environment or from the
Databricks SDK's profiles.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reconciler.retrying import RetryPolicy
from reconciler.uc_names import split_table_name

PROJECT_FILE = "reconciler.yaml"
LOCAL_TARGET = "local"
# Table and schema names of the SQL store: plain identifiers (SQLAlchemy quotes them anyway).
SQL_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SqlitePolicyStore(_Strict):
    """SLA policies in a SQLite file (the embedded default): shorthand for a `sql` store on
    `sqlite:///<path>`, served by the same code."""

    type: Literal["sqlite"] = "sqlite"
    path: str | None = Field(
        default=None,
        description="SQLite file; relative paths are relative to the spec directory. "
        "Default: .reconciler/<target>/policies.db next to the specs.",
    )


class SqlPolicyStore(_Strict):
    """SLA policies in a table of any SQL database SQLAlchemy reaches (PostgreSQL through
    psycopg 3, SQLite, MySQL/MariaDB, ...). The password never goes in this file: libpq reads
    PGPASSWORD, ~/.pgpass or a service file (`?service=NAME`), or name a variable in `password_env`
    (or write `${env:NAME}` in the URL); URLs are shown with the password masked."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: Literal["sql"]
    url: str = Field(
        min_length=1,
        description="SQLAlchemy database URL, e.g. postgresql+psycopg://sla@db.internal:5432/monitoring "
        "or sqlite:///policies.db (relative SQLite paths are relative to the spec directory).",
        examples=["postgresql+psycopg://sla@db.internal/monitoring"],
    )
    table: str = Field(
        default="query_sla_policies",
        pattern=SQL_IDENTIFIER,
        description="Table name; created by the first `apply` when missing, never by `plan`.",
    )
    db_schema: str | None = Field(
        default=None,
        alias="schema",
        pattern=SQL_IDENTIFIER,
        description="Schema (namespace) of the table; default: the connection's (search_path on PostgreSQL). "
        "It must exist: reconciler does not create schemas.",
    )
    password_env: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Environment variable holding the password. Default: none (libpq's PGPASSWORD, "
        "~/.pgpass or service file still apply on PostgreSQL).",
    )
    connect_timeout_seconds: int = Field(default=10, gt=0, description="Timeout of connecting to the database.")

    @field_validator("url")
    @classmethod
    def _sqlalchemy_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(value)
        except ArgumentError:
            raise ValueError("not a SQLAlchemy URL (dialect[+driver]://user@host:port/database)") from None
        return value


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


PolicyStore = Annotated[SqlitePolicyStore | SqlPolicyStore | DatabricksPolicyStore, Field(discriminator="type")]


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
    """Which monitor API reconciler uses on this target, and how it keeps track of the monitors it manages."""

    api: Literal["legacy", "data_quality"] = Field(
        default="legacy",
        description="legacy: w.quality_monitors (/api/2.1/unity-catalog/tables/{t}/monitor); data_quality: the "
        "Data Quality v1 API (w.data_quality, /api/data-quality/v1/monitors). Same specs, same plans; switching "
        "plans no changes. The default stays legacy: v1 cannot express data_classification_config, "
        "inference_log.prediction_proba_col or notifications.on_new_classification_tag_detected.",
    )

    ledger_path: str | None = Field(
        default=None,
        description="Workspace file of the ownership ledger (which monitors reconciler manages, and the "
        "create-only values it applied). Default: /Shared/.reconciler/<project>/<target>/ledger.json.",
    )


class LockSettings(_Strict):
    """The apply lock's lease (see the README's Failure behaviour)."""

    lease_seconds: float = Field(
        default=120,
        ge=1,
        description="How long a lock stays valid without its holder's heartbeat (renewed every third of it); "
        "after a holder is killed, the next apply can take the lock over once this has passed.",
    )


class RetrySettings(_Strict):
    """Bounds of the retries of transient failures (connection errors, timeouts, 429, 500, 502,
    503, 504) of every API call this target makes; 4xx answers are never retried."""

    max_attempts: int = Field(default=5, ge=1, le=20, description="Tries of one call, the first included.")
    max_seconds: float = Field(default=60, gt=0, description="Upper bound on the time one call spends retrying.")
    initial_backoff_seconds: float = Field(
        default=0.5, ge=0, description="First wait; doubled each retry, with random jitter."
    )
    max_backoff_seconds: float = Field(default=10, ge=0, description="Longest wait between two tries.")

    def policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts,
            max_seconds=self.max_seconds,
            initial_backoff_seconds=self.initial_backoff_seconds,
            max_backoff_seconds=self.max_backoff_seconds,
        )


class SeedColumn(_Strict):
    name: str = Field(min_length=1)
    type: str = Field(min_length=1, description="SQL type text: bigint, timestamp, string, decimal(10,2), ...")
    nullable: bool = True


class SeedTable(_Strict):
    full_name: str = Field(description="catalog.schema.table")
    comment: str | None = None
    columns: list[SeedColumn] = Field(default_factory=list)

    @field_validator("full_name")
    @classmethod
    def _three_part_name(cls, value: str) -> str:
        split_table_name(value)  # raises with the reason
        return value


class SeedWarehouse(BaseModel):
    model_config = ConfigDict(extra="allow")  # cluster_size, state, ...: as the sandbox reads them

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)


class SandboxSeed(_Strict):
    """What the embedded sandbox's Databricks knows: Unity Catalog schemas and tables (with their
    columns, which monitors are checked against) and SQL warehouses. The format of `reconciler
    sandbox serve --seed FILE`; it replaces the bundled sample (reconciler/sandbox/seed.yaml),
    whose SQL warehouses stay when it lists none."""

    warehouses: list[SeedWarehouse] = Field(default_factory=list)
    schemas: list[Annotated[str, Field(pattern=r"^[^.\s]+\.[^.\s]+$")]] = Field(
        default_factory=list, description="catalog.schema names (a monitor's output schema may hold no table yet)."
    )
    tables: list[SeedTable] = Field(default_factory=list)


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
    retries: RetrySettings = Field(default_factory=RetrySettings)
    lock: LockSettings = Field(default_factory=LockSettings)
    sandbox_seed: str | SandboxSeed | None = Field(
        default=None,
        description="Embedded targets: the Unity Catalog schemas, tables (with columns) and SQL warehouses the "
        "sandbox knows, inline or as a YAML file (relative to the spec directory) in the format of `reconciler "
        "sandbox serve --seed`. Replaces the bundled sample tables. Default: the bundled sample.",
    )

    @model_validator(mode="after")
    def _seed_needs_the_sandbox(self) -> TargetConfig:
        if self.sandbox_seed is not None and not self.embedded:
            raise ValueError("sandbox_seed needs `embedded: true`: only an embedded target runs the sandbox")
        return self


class ProjectFile(_Strict):
    """Contents of reconciler.yaml."""

    project: str | None = Field(default=None, description="A name for this set of specs.")
    required_version: str | None = Field(
        default=None,
        description="The reconciler versions these specs work with, as a version range (PEP 440), "
        "e.g. '>=0.1,<0.2'; any other version refuses to run on them.",
        examples=[">=0.1,<0.2"],
    )
    default_target: str = LOCAL_TARGET
    variables: dict[str, Any] = Field(default_factory=dict, description="Variables shared by every target.")
    sensitive_variables: list[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]] = Field(
        default_factory=list,
        description="Variables whose values are secrets, wherever they are set (here, a target, --var, --var-file): "
        "shown as (sensitive) in plans, saved plans and logs. Variables named like a secret (…password, …token, "
        "…secret, …api_key) are sensitive without being listed.",
    )
    targets: dict[str, TargetConfig] = Field(default_factory=dict)

    @field_validator("required_version")
    @classmethod
    def _version_range(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                SpecifierSet(value)
            except InvalidSpecifier:
                raise ValueError(f"{value!r} is not a version range (e.g. '>=0.1,<0.2')") from None
        return value

    def target(self, name: str) -> TargetConfig | None:
        if name in self.targets:
            return self.targets[name]
        if name == LOCAL_TARGET:
            return TargetConfig(embedded=True, description="embedded sandbox under .reconciler/")
        return None
