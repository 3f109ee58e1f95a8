"""Kind `AnomalyDetection`: Databricks data-quality anomaly detection over one Unity Catalog schema.

A schema-level monitor of the Data Quality v1 API (`w.data_quality`, `Monitor(object_type="schema",
object_id=<schema_id>, anomaly_detection_config=...)`): the service checks the freshness and
completeness of every table of the schema except `excluded_table_full_names`, and tells the
`notification_settings.on_unhealthy_table` recipients about unhealthy tables.

Identity: the schema's full name `catalog.schema`. The issue asked for "the three-part schema
name", but Unity Catalog schema names have two parts (`SchemaInfo.full_name`); the third part
would be a table. One monitor per schema (the service answers 409 to a second one).

Fields follow databricks-sdk **0.162.0** `databricks/sdk/service/dataquality.py`:
`AnomalyDetectionConfig(excluded_table_full_names, notification_settings)`,
`NotificationSettings(on_failure, on_unhealthy_table)`, `NotificationDestination(destination_ids,
destination_user_ids, email_addresses)`. The SDK's docstrings say schema monitors support only
`on_unhealthy_table` with `destination_ids` / `destination_user_ids`: that is what the spec
models. Any other live field (an `on_failure` block, email addresses, a field a later API version
adds) is not dropped: the provider refuses to change such a monitor and says why.

Only the v1 API has anomaly detection: a target that pins `quality_monitors.api: legacy` (a
workspace without the v1 API) gets a plan error; targets that leave the setting unset use v1 for
this kind (the legacy default is about QualityMonitor's expressiveness, not availability).

Pure: no I/O. The provider is `reconciler.providers.databricks_anomaly`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reconciler.diagnostics import Diagnostic
from reconciler.plan.model import ApiCall, Operation
from reconciler.specs.envelope import KindSpec

from .base import Facts, Kind, LiveObject, Resource, duplicate_keys
from .fields import FieldRule, FieldTable, OnChange
from .quality_monitor import SCHEMA_NAME, TABLE_NAME

KIND = "AnomalyDetection"

# How each field of a schema monitor's anomaly_detection_config is changed and compared: the data
# the planner's generic normaliser reads (like the QualityMonitor kind's table).
FIELDS = FieldTable(
    [
        FieldRule(
            "schema_name",
            OnChange.IDENTITY,
            "catalog.schema: one anomaly detection monitor per schema",
            case_insensitive=True,
            replace_reason="a monitor belongs to one schema",
        ),
        FieldRule(
            "excluded_table_full_names",
            description="tables of the schema not checked; a set (names compared lower-case)",
            unordered=True,
            empty_is_unset=True,
        ),
        FieldRule("notification_settings", description="who hears about unhealthy tables", empty_is_unset=True),
        FieldRule("notification_settings.on_unhealthy_table", empty_is_unset=True),
        FieldRule(
            "notification_settings.on_unhealthy_table.destination_ids",
            description="notification destination ids (Slack, webhook, ...); a set",
            unordered=True,
            empty_is_unset=True,
        ),
        FieldRule(
            "notification_settings.on_unhealthy_table.destination_user_ids",
            description="workspace user ids notified by email; a set",
            unordered=True,
            empty_is_unset=True,
        ),
    ]
)

# The live config paths the spec models; anything else found live makes the provider refuse.
MODELLED = (
    "excluded_table_full_names",
    "notification_settings.on_unhealthy_table.destination_ids",
    "notification_settings.on_unhealthy_table.destination_user_ids",
)


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UnhealthyTableRecipients(_Block):
    """NotificationDestination as schema monitors take it (ids only, per the SDK docstring)."""

    destination_ids: list[str] = Field(
        default_factory=list, max_length=25, description="Notification destination ids (at most 25)."
    )
    destination_user_ids: list[int] = Field(
        default_factory=list, max_length=25, description="Workspace user ids notified by email (at most 25)."
    )


class AnomalyNotificationSettings(_Block):
    on_unhealthy_table: UnhealthyTableRecipients | None = None


class AnomalyDetectionSpec(KindSpec):
    """Anomaly detection over the tables of one Unity Catalog schema."""

    schema_name: str = Field(pattern=SCHEMA_NAME, description="The monitored schema, catalog.schema. The identity.")
    excluded_table_full_names: list[str] = Field(
        default_factory=list,
        description="Tables of the schema (catalog.schema.table) anomaly detection skips. A set.",
        json_schema_extra={"items": {"pattern": TABLE_NAME}},
    )
    notification_settings: AnomalyNotificationSettings | None = None


def config_from_spec(spec: AnomalyDetectionSpec) -> dict[str, Any]:
    """The `AnomalyDetectionConfig` JSON the spec asks for (omitting what it leaves empty)."""
    config: dict[str, Any] = {}
    if spec.excluded_table_full_names:
        config["excluded_table_full_names"] = [n.lower() for n in spec.excluded_table_full_names]
    recipients = spec.notification_settings.on_unhealthy_table if spec.notification_settings else None
    if recipients is not None and (recipients.destination_ids or recipients.destination_user_ids):
        block: dict[str, Any] = {}
        if recipients.destination_ids:
            block["destination_ids"] = list(recipients.destination_ids)
        if recipients.destination_user_ids:
            block["destination_user_ids"] = list(recipients.destination_user_ids)
        config["notification_settings"] = {"on_unhealthy_table": block}
    return config


def anomaly_state(schema_name: str, config: dict[str, Any]) -> dict[str, Any]:
    """The comparable form of a schema monitor (from `AnomalyDetectionConfig` JSON): what the
    planner diffs, normalised by the field table. Unmodelled fields are not part of it
    (`unmodelled_paths` finds them)."""
    recipients = (config.get("notification_settings") or {}).get("on_unhealthy_table") or {}
    state = {
        "schema_name": schema_name.lower(),
        "excluded_table_full_names": [str(n).lower() for n in config.get("excluded_table_full_names") or []],
        "notification_settings": {
            "on_unhealthy_table": {
                "destination_ids": list(recipients.get("destination_ids") or []),
                "destination_user_ids": [int(u) for u in recipients.get("destination_user_ids") or []],
            }
        },
    }
    return FIELDS.normalise(state)


def unmodelled_paths(config: dict[str, Any], prefix: str = "") -> list[str]:
    """Paths of the live config's set fields the spec cannot express (carried or refused, never dropped)."""
    found: list[str] = []
    for key, value in config.items():
        path = f"{prefix}{key}"
        if value in (None, [], {}):
            continue
        if path in MODELLED:
            continue
        if isinstance(value, dict) and any(m.startswith(path + ".") for m in MODELLED):
            found.extend(unmodelled_paths(value, path + "."))
        else:
            found.append(path)
    return found


def spec_from_config(schema_name: str, config: dict[str, Any]) -> dict[str, Any]:
    """The `spec:` block declaring the live monitor (`import --generate-specs`): plans no changes."""
    spec: dict[str, Any] = {"schema_name": schema_name.lower()}
    excluded = [str(n).lower() for n in config.get("excluded_table_full_names") or []]
    if excluded:
        spec["excluded_table_full_names"] = sorted(excluded)
    recipients = (config.get("notification_settings") or {}).get("on_unhealthy_table") or {}
    block = {key: list(recipients[key]) for key in ("destination_ids", "destination_user_ids") if recipients.get(key)}
    if block:
        spec["notification_settings"] = {"on_unhealthy_table": block}
    return spec


@dataclass(frozen=True)
class AnomalyFacts(Facts):
    """What the service says beside the configuration (None: not known)."""

    schema_id: str | None = None


AnomalyResource = Resource[AnomalyDetectionSpec]
AnomalyLive = LiveObject[AnomalyFacts]


class AnomalyDetectionKind(Kind[AnomalyDetectionSpec, AnomalyFacts]):
    name = KIND
    spec_model = AnomalyDetectionSpec
    rank = 50
    default_backend = "databricks"
    description = "Databricks data-quality anomaly detection over one Unity Catalog schema (Data Quality v1 API)."
    fields = FIELDS

    def key(self, name: str, spec: AnomalyDetectionSpec) -> str:
        return spec.schema_name.lower()

    def desired_state(self, spec: AnomalyDetectionSpec) -> dict[str, Any]:
        return anomaly_state(spec.schema_name, config_from_spec(spec))

    def spec_errors(self, name: str, spec: AnomalyDetectionSpec) -> list[Diagnostic]:
        errors = []
        schema = spec.schema_name.lower()
        for i, table in enumerate(spec.excluded_table_full_names):
            if table.lower().rsplit(".", 1)[0] != schema:
                errors.append(
                    Diagnostic.error(
                        f"excluded table {table} is not a table of schema {spec.schema_name}",
                        ("spec", "excluded_table_full_names", i),
                        object=f"{KIND}/{name}",
                    )
                )
        return errors

    def validate_all(self, resources: Sequence[AnomalyResource]) -> list[Diagnostic]:
        return duplicate_keys(
            resources,
            lambda r: ("spec", "schema_name"),
            lambda dup, first, at: (
                f"AnomalyDetection '{dup.name}' monitors the same schema as '{first.name}' ({at}); "
                "a schema can have only one anomaly detection monitor"
            ),
        )

    def api_call(self, op: Operation, desired: AnomalyResource | None, live: AnomalyLive | None) -> ApiCall:
        path = f"/api/data-quality/v1/monitors/schema/<schema_id of {op.key}>"
        action = op.action.value
        if action == "create":
            return ApiCall("POST", "/api/data-quality/v1/monitors", "create the schema monitor (ledger first)", action)
        if action == "delete":
            return ApiCall("DELETE", path, "delete the schema monitor: anomaly detection stops", action)
        if action == "replace":
            return ApiCall("POST+DELETE", path, "create the monitor on the new schema, delete the old one", action)
        if all(c.path == "lifecycle.prevent_destroy" for c in op.changes):
            return ApiCall(
                "LEDGER", "ownership ledger", "record lifecycle.prevent_destroy (monitor not written)", action
            )
        return ApiCall("PATCH", path, "update anomaly_detection_config in place", action)

    def identity_change_reason(self, desired: AnomalyResource, live: AnomalyLive) -> str:
        return (
            f"schema_name changes from {live.key} to {desired.key}: a monitor belongs to one schema, so the "
            f"monitor on {live.key} is deleted and a new one is created on {desired.key}"
        )

    def loss_warnings(self, live: AnomalyLive, action: str) -> list[str]:
        excluded = len(live.state.get("excluded_table_full_names") or [])
        recipients = ((live.state.get("notification_settings") or {}).get("on_unhealthy_table")) or {}
        count = len(recipients.get("destination_ids") or []) + len(recipients.get("destination_user_ids") or [])
        return [
            f"anomaly detection over schema {live.key} stops (its tables, {excluded} excluded, are no longer "
            "checked for freshness and completeness) and its health history in Databricks is lost",
            f"{count} unhealthy-table recipient(s) are no longer notified",
        ]

    def describe(self, state: dict[str, Any]) -> str:
        excluded = len(state.get("excluded_table_full_names") or [])
        return f"anomaly detection on schema {state.get('schema_name')} ({excluded} table(s) excluded)"
