"""Schema-level anomaly detection through databricks-sdk `w.data_quality` (Data Quality v1 API).

One `Monitor(object_type="schema", object_id=<schema_id>)` per schema. Schema names are resolved
to ids with `w.schemas.get` once per run (`unity_catalog.py`, shared with QualityMonitor). Reading: `get_monitor` for every declared
schema and every schema this target's ownership ledger lists — the same workspace ledger file the
QualityMonitor kind keeps (`workspace_ledger.target_ledger`), under the kind key
`AnomalyDetection`, with the same pending-intent entry written before a create so a lost answer
or a kill never leaves a monitor reconciler made but does not recognise.

Monitors are read as JSON (the SDK's own GET, without `Monitor.from_dict`, which would drop fields
this SDK version does not know). Updates name only the modelled fields in `update_mask`, so the
service keeps every other field as it is: unmodelled top-level fields are carried through (and
the plan says so); unmodelled fields *inside* the masked ones (see
`kinds.anomaly_detection.unmodelled_paths`) lock the object: the plan refuses to change it
rather than drop them.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from databricks.sdk.errors import NotFound
from databricks.sdk.service.dataquality import AnomalyDetectionConfig, Monitor

from reconciler.diagnostics import Diagnostic
from reconciler.errors import ReconcilerError
from reconciler.kinds.anomaly_detection import (
    FIELDS,
    KIND,
    AnomalyDetectionSpec,
    AnomalyFacts,
    AnomalyLive,
    AnomalyResource,
    anomaly_state,
    config_from_spec,
    spec_from_config,
    unmodelled_paths,
)
from reconciler.kinds.base import Kind, LiveObject
from reconciler.plan.diff import diff_states
from reconciler.uc_names import generated_spec_name, is_glob

from .base import Adopted, GeneratedSpecs
from .databricks_errors import live_errors
from .ledger_owned import LedgerOwnedProvider
from .request import ProviderRequest
from .unity_catalog import UnityCatalog, unity_catalog

if TYPE_CHECKING:
    from reconciler.providers.provider_target import ProviderTarget

SCHEMA = "schema"
# The fields an update writes; every other field of the live config is left as it is.
MASKED = ("excluded_table_full_names", "notification_settings")
UPDATE_MASK = ",".join(f"anomaly_detection_config.{f}" for f in MASKED)


class DatabricksAnomalyProvider(LedgerOwnedProvider[AnomalyDetectionSpec, AnomalyFacts]):
    backend = "databricks"
    noun = "anomaly detection monitor"

    def __init__(self, kind: Kind[AnomalyDetectionSpec, AnomalyFacts], target: ProviderTarget) -> None:
        super().__init__(kind, target)
        self._notes: list[str] = []

    def configured(self, request: ProviderRequest) -> bool:
        """Read when a spec declares anomaly detection, or the target opts into the v1 API
        (`quality_monitors: {api: data_quality}`): then removing the last spec plans its delete.
        Other targets make no calls for this kind (see the README's Known limits)."""
        if not self.target.has("databricks"):
            return False
        if request.of():
            return True
        settings = self.target.config.quality_monitors
        v1 = settings is not None and settings.api == "data_quality"
        return v1 and not self.target.known_empty("databricks")

    @property
    def client(self) -> Any:
        return self.target.workspace_client()

    def probe(self, key: str) -> object:
        return self._get(key)

    def legacy_pinned(self) -> bool:
        """The target pins the legacy monitor API (`quality_monitors: {api: legacy}`), which has no
        anomaly detection. Unset means v1 for this kind."""
        settings = self.target.config.quality_monitors
        return settings is not None and "api" in settings.model_fields_set and settings.api == "legacy"

    def schema_id(self, schema: str) -> str:
        return self.catalog.schema_id(schema)

    @property
    def catalog(self) -> UnityCatalog:
        return unity_catalog(self.target)

    def _get(self, schema: str) -> dict[str, Any]:
        """The schema's anomaly_detection_config JSON; NotFound when there is none."""
        # The same GET `w.data_quality.get_monitor` makes, kept as JSON: `Monitor.from_dict` would
        # drop fields this SDK version does not know, and those must be carried or refused.
        headers = {"Accept": "application/json"}
        if self.client.config.workspace_id:
            headers["X-Databricks-Workspace-Id"] = self.client.config.workspace_id
        monitor = self.client.api_client.do(
            "GET", f"/api/data-quality/v1/monitors/{SCHEMA}/{self.schema_id(schema)}", headers=headers
        )
        config = monitor.get("anomaly_detection_config") if isinstance(monitor, dict) else None
        if not isinstance(config, dict):
            raise NotFound(f"no anomaly detection monitor on schema {schema}")
        return config

    # --- reading -------------------------------------------------------------------------------

    def read(self, request: ProviderRequest) -> list[AnomalyLive]:
        if self.legacy_pinned():
            return []  # check() reports it
        with live_errors(f"reading anomaly detection monitors on target '{self.target.name}'"):
            owned = self.read_owned([r.key for r in request.of()], lambda key: self.fetch_or_none(key, self._get))
            return [self._live_object(key, config, entry) for key, config, entry in owned]

    def _live_object(self, key: str, config: dict[str, Any], entry: dict[str, Any] | None) -> AnomalyLive:
        state = anomaly_state(key, config)
        extra = unmodelled_paths(config)
        # Fields inside the ones an update writes (update_mask) would be lost: refuse. Others the
        # service keeps as they are (they are not in the mask): carried through, and said.
        rewritten = [p for p in extra if p.split(".")[0] in MASKED]
        carried = [p for p in extra if p not in rewritten]
        if carried:
            self._notes.append(
                f"AnomalyDetection {key}: live fields reconciler does not model are kept unchanged by updates: "
                + ", ".join(carried)
            )
        locked = (
            f"its anomaly_detection_config has fields reconciler does not model ({', '.join(rewritten)}); "
            "writing it would drop them: change them in Databricks, or manage this monitor there"
            if rewritten
            else None
        )
        return LiveObject(
            kind=KIND,
            key=key,
            state=state,
            raw={"config": config},
            facts=AnomalyFacts(schema_id=self.schema_id(key)),
            locked_reason=locked,
            **self.ownership(entry),
        )

    def notes(self) -> list[str]:
        notes, self._notes = self._notes, []
        return notes

    # --- plan-time checks ----------------------------------------------------------------------

    def check(self, request: ProviderRequest) -> list[Diagnostic]:
        declared = self.declared_resources(request)
        if self.legacy_pinned():
            return [
                r.error(
                    ("kind",),
                    f"AnomalyDetection needs the Data Quality v1 API, but target '{self.target.name}' pins "
                    "quality_monitors.api: legacy (the legacy monitor API has no anomaly detection): set "
                    "quality_monitors: {api: data_quality} on the target, or remove this spec",
                )
                for r in declared
            ]
        errors: list[Diagnostic] = []
        with live_errors(f"checking anomaly detection specs against the catalog of target '{self.target.name}'"):
            for res in declared:
                try:
                    self.schema_id(res.key)
                except NotFound:
                    errors.append(
                        res.error(("spec", "schema_name"), f"schema {res.key} does not exist in Unity Catalog")
                    )
                    continue
                for i, table in enumerate(res.spec.excluded_table_full_names):
                    try:
                        self.catalog.table(table)
                    except NotFound:
                        errors.append(
                            res.error(
                                ("spec", "excluded_table_full_names", i),
                                f"table {table} does not exist in Unity Catalog",
                            )
                        )
        return errors

    # --- writing -------------------------------------------------------------------------------

    def _monitor(self, resource: AnomalyResource) -> Monitor:
        return Monitor(
            object_type=SCHEMA,
            object_id=self.schema_id(resource.key),
            anomaly_detection_config=AnomalyDetectionConfig.from_dict(config_from_spec(resource.spec)),
        )

    def create(self, resource: AnomalyResource) -> None:
        self.create_owned(
            resource,
            lambda: self.client.data_quality.create_monitor(self._monitor(resource)),
            lambda: self._as_desired(resource),
        )

    def _as_desired(self, resource: AnomalyResource) -> bool:
        try:
            config = self._get(resource.key)
        except Exception:
            return False
        return not diff_states(anomaly_state(resource.key, config), resource.state, FIELDS)

    def update(self, resource: AnomalyResource, live: AnomalyLive) -> None:
        if diff_states(live.state, resource.state, FIELDS):
            self.client.data_quality.update_monitor(
                SCHEMA, self.schema_id(resource.key), self._monitor(resource), update_mask=UPDATE_MASK
            )
        self.record(resource, {})

    def delete(self, live: AnomalyLive) -> None:
        self.delete_owned(live.key, lambda: self.client.data_quality.delete_monitor(SCHEMA, self.schema_id(live.key)))

    def describe_live(self, live: AnomalyLive) -> str:
        return f"anomaly detection monitor on schema {live.key}"

    # --- import --------------------------------------------------------------------------------

    def declaring(self, request: ProviderRequest, key: str) -> AnomalyResource | None:
        return super().declaring(request, key.lower())

    def adopt(self, request: ProviderRequest, key: str, name: str | None = None) -> Adopted:
        key = key.lower()
        with live_errors(f"importing the anomaly detection monitor on {key}"):
            try:
                self._get(key)
            except NotFound as exc:
                raise ReconcilerError(f"no anomaly detection monitor exists on schema {key}: {exc}") from exc
            self.adopt_owned(key, name)
        return Adopted(key)

    def generate_specs(self, request: ProviderRequest, selector: str, source: Path | None) -> GeneratedSpecs:
        """Spec files for the anomaly detection monitors on the schemas matching the glob
        `selector` (catalog.schema, e.g. 'main.*'): schemas from Unity Catalog listings, one
        `get_monitor` each."""
        if source is not None:
            raise ReconcilerError(
                "AnomalyDetection specs are generated from live monitors; --from-file takes Grafana exports"
            )
        if self.legacy_pinned():
            raise ReconcilerError(
                f"target '{self.target.name}' pins quality_monitors.api: legacy, which has no anomaly detection"
            )
        with live_errors(f"generating AnomalyDetection specs from target '{self.target.name}'"):
            return self._generate(request, selector.strip().lower())

    def _generate(self, request: ProviderRequest, selector: str) -> GeneratedSpecs:
        parts = selector.split(".")
        if len(parts) != 2 or not all(parts):
            raise ReconcilerError(
                f"AnomalyDetection selector {selector!r} must be a catalog.schema glob, e.g. 'main.*'"
            )
        catalog, schema = parts
        catalogs = (
            [c.name for c in self.client.catalogs.list() if c.name and fnmatch.fnmatchcase(c.name, catalog)]
            if is_glob(catalog)
            else [catalog]
        )
        schemas: list[str] = []
        for cat in sorted(catalogs):
            for info in self.client.schemas.list(cat):
                full = (info.full_name or "").lower()
                if info.name and fnmatch.fnmatchcase(info.name.lower(), schema):
                    self.catalog.known_schema(info)
                    schemas.append(full)
        declared = {r.key: r.name for r in request.of()}
        names = set(declared.values())
        entries = self.ledger.entries(KIND)
        result = GeneratedSpecs()
        for full in dict.fromkeys(schemas):
            if full in declared:
                result.notes.append(
                    f"AnomalyDetection on {full} is already declared by spec '{declared[full]}'; skipped"
                )
                continue
            try:
                config = self._get(full)
            except NotFound:
                continue
            extra = [p for p in unmodelled_paths(config) if p.split(".")[0] in MASKED]
            if extra:
                result.notes.append(
                    f"the anomaly detection monitor on {full} has fields reconciler does not model "
                    f"({', '.join(extra)}); skipped"
                )
                continue
            name = generated_spec_name(full, names, "anomaly-detection")
            names.add(name)
            doc = {
                "apiVersion": "reconciler/v1",
                "kind": KIND,
                "metadata": {"name": name},
                "spec": spec_from_config(full, config),
            }
            header = (
                "# yaml-language-server: $schema=../../schemas/anomaly-detection.schema.json\n"
                f"# Generated by `reconciler import --generate-specs` from the anomaly detection monitor on {full}.\n"
            )
            result.files[f"anomaly-detection/{name}.yaml"] = header + yaml.safe_dump(doc, sort_keys=False)
            self.adopt_generated(result, full, name, entries)
        if not result.files and not result.notes:
            raise ReconcilerError(f"no anomaly detection monitor exists on a schema matching {selector!r}")
        return result
