"""Lakehouse (quality) monitors through databricks-sdk: `w.quality_monitors` or `w.data_quality` (monitor_apis.py).

Every call goes through the target's one `WorkspaceClient` (auth from the environment or a
profile; the SDK's 429/503 retries bounded by the target's `retry_timeout_seconds`). The SDK calls
are confined to this module so moving to the newer `data_quality` API touches nothing else.

Reading: there is no list-all-monitors call, and scanning the catalog would be slow and
presumptuous, so `get` is called for every declared table and every table in the ownership ledger
(`workspace_ledger.py`) — once per table per run, and on a no-change plan nothing else per
monitor: the plan-time checks look a table up (`tables.get`) only for a monitor still to be
created or for columns the live monitor does not already use, each output schema once per run
(`unity_catalog.py`), and the refresh history only for the monitors a plan replaces or deletes
(their loss warnings, `loss_facts`). The GETs run `--parallelism` at once on the one client (its
connection pool), results kept in input order, so the plan is the same at any parallelism.
Ownership, `prevent_destroy` and the create-only values the service never returns
(`warehouse_id`, `skip_builtin_dashboard`) come from the ledger, which an apply writes twice
whatever the number of monitors (`ledger_owned.py`); monitors are written concurrently, each
its own table's.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from databricks.sdk.errors import NotFound
from databricks.sdk.service.catalog import (
    MonitorInfoStatus,
)
from pydantic import ValidationError

from reconciler.concurrency import bounded_map
from reconciler.diagnostics import Diagnostic
from reconciler.errors import ReconcilerError
from reconciler.kinds.base import Kind, LiveObject, facts_of
from reconciler.kinds.quality_monitor import (
    FIELDS,
    MonitorFacts,
    MonitorLive,
    MonitorResource,
    QualityMonitorSpec,
    monitor_state,
    spec_from_api,
    spec_to_api,
)
from reconciler.plan.diff import diff_states
from reconciler.sqlexpr import expression_columns
from reconciler.uc_names import generated_spec_name, is_glob

from .base import Adopted, GeneratedSpecs
from .databricks_errors import live_errors
from .ledger_owned import LedgerOwnedProvider
from .monitor_apis import LEGACY, MonitorApi, monitor_api
from .request import ProviderRequest
from .unity_catalog import unity_catalog

if TYPE_CHECKING:
    from reconciler.apply.progress import WaitProgress
    from reconciler.providers.provider_target import ProviderTarget

KIND = "QualityMonitor"
# list_refreshes returns the most recent refreshes only (SDK docstring: "up to 25").
REFRESH_LIST_LIMIT = 25
FAILED = (MonitorInfoStatus.MONITOR_STATUS_FAILED, MonitorInfoStatus.MONITOR_STATUS_ERROR)
INFERENCE_COLUMNS = ("timestamp_col", "prediction_col", "model_id_col", "label_col", "prediction_proba_col")


class DatabricksMonitorProvider(LedgerOwnedProvider[QualityMonitorSpec, MonitorFacts]):
    backend = "databricks"
    noun = "monitor"

    def __init__(self, kind: Kind[QualityMonitorSpec, MonitorFacts], target: ProviderTarget) -> None:
        super().__init__(kind, target)
        self._notes: list[str] = []
        self._api: MonitorApi | None = None
        # Monitors the plan-time checks fetched (None: the table has none), for `read` to use.
        self._fetched: dict[str, Any | None] = {}

    # --- plumbing ------------------------------------------------------------------------------

    def configured(self, request: ProviderRequest) -> bool:
        if not self.target.has("databricks"):
            return False
        # A workspace that certainly holds nothing yet only matters once a spec declares a monitor.
        return bool(request.of()) or not self.target.known_empty("databricks")

    @property
    def client(self) -> Any:
        return self.target.workspace_client()

    @property
    def api(self) -> MonitorApi:
        """The monitor API this target uses (`quality_monitors: {api: legacy | data_quality}`)."""
        if self._api is None:
            settings = self.target.config.quality_monitors
            self._api = monitor_api(
                settings.api if settings is not None else LEGACY, self.client, unity_catalog(self.target)
            )
        return self._api

    def probe(self, key: str) -> object:
        return self.api.get(key)

    # --- reading -------------------------------------------------------------------------------

    def read(self, request: ProviderRequest) -> list[MonitorLive]:
        with live_errors(f"reading lakehouse monitors on target '{self.target.name}'"):
            return self._read(self.declared_resources(request))

    def _read(self, specs: Sequence[MonitorResource]) -> list[MonitorLive]:
        self.api.expect_schemas(
            {str(r.state.get("output_schema_name")) for r in specs if r.state.get("output_schema_name")}
        )
        fetched, self._fetched = self._fetched, {}
        owned = self.read_owned(
            [r.key for r in specs],
            lambda key: fetched[key] if key in fetched else self.fetch_or_none(key, self.api.get),
        )
        return [self._live_object(key, info, entry) for key, info, entry in owned]

    def _fetch(self, keys: Sequence[str]) -> dict[str, Any | None]:
        """The monitor on each table (None: it has none): one GET per table, `--parallelism` at once."""
        found = bounded_map(lambda key: self.fetch_or_none(key, self.api.get), keys, self.target.parallelism)
        return dict(zip(keys, found, strict=True))

    def _live_object(self, key: str, info: Any, entry: dict[str, Any] | None) -> MonitorLive:
        api = info.as_dict()
        state = monitor_state(api)
        status = info.status.value if info.status else None
        facts = MonitorFacts(
            status=status,
            monitor_version=info.monitor_version,
            dashboard_id=info.dashboard_id,
            profile_metrics_table_name=info.profile_metrics_table_name,
            drift_metrics_table_name=info.drift_metrics_table_name,
            latest_monitor_failure_msg=info.latest_monitor_failure_msg,
        )
        if info.status in FAILED:
            self._notes.append(
                f"QualityMonitor {key} is {status}: {info.latest_monitor_failure_msg or 'no failure message given'}"
            )
        return LiveObject(
            kind=KIND,
            key=key,
            state=state,
            # What a saved plan is checked against: the configuration and its version, not the
            # status or dashboard, which move on their own.
            raw={"state": state, "monitor_version": info.monitor_version},
            facts=facts,
            # Ours or not, and the write-only values reconciler applied (never returned).
            **self.ownership(entry),
        )

    def loss_facts(self, live: Sequence[MonitorLive]) -> list[MonitorLive]:
        """The refresh history a replace or delete loses (one `list_refreshes` each), read only
        for the monitors the plan replaces or deletes: their loss warnings give the numbers."""
        with live_errors(f"reading the refresh history of lakehouse monitors on target '{self.target.name}'"):
            return [self._with_refresh_facts(obj) for obj in live]

    def _with_refresh_facts(self, obj: MonitorLive) -> MonitorLive:
        facts = facts_of(obj, MonitorFacts)
        if not obj.managed or facts.refresh_count is not None:
            return obj
        try:
            refreshes = self.api.list_refreshes(obj.key)
        except NotFound:
            return obj
        starts = [r.start_time_ms for r in refreshes if r.start_time_ms]
        facts = replace(
            facts,
            refresh_count=len(refreshes),
            refresh_history_truncated=len(refreshes) >= REFRESH_LIST_LIMIT,
            first_refresh_ms=min(starts) if starts else None,
        )
        return replace(obj, facts=facts)

    def notes(self) -> list[str]:
        notes, self._notes = self._notes, []
        return notes

    # --- plan-time checks against the catalog ----------------------------------------------------

    def check(self, request: ProviderRequest) -> list[Diagnostic]:
        errors: list[Diagnostic] = []
        with live_errors(f"checking monitor specs against the catalog of target '{self.target.name}'"):
            declared = self.declared_resources(request)
            self._fetched = self._fetch([r.key for r in declared])
            checked = bounded_map(
                lambda res: self._check_one(res, self._fetched[res.key]), declared, self.target.parallelism
            )
        for found in checked:
            errors.extend(found)
        return errors

    def _check_one(self, res: MonitorResource, info: Any | None) -> list[Diagnostic]:
        """The spec against the catalog. What the live monitor on the table already uses (its
        table, columns, baseline, output schema) the service accepted, so only what is new is
        looked up: a no-change plan makes no catalog call per monitor."""
        spec = res.spec
        errors: list[Diagnostic] = []
        current = info.as_dict() if info is not None else None
        used = _columns_used(current) if current is not None else set()

        def error(path: tuple[str | int, ...], message: str) -> None:
            errors.append(res.error(("spec", *path), message))

        for path in self.api.unsupported(spec_to_api(spec)):
            first = path.split(".")[0]
            error(
                (first,),
                f"{path} is not available in the Data Quality v1 API this target uses (quality_monitors.api: "
                "data_quality): remove it, or use api: legacy",
            )
        catalog = unity_catalog(self.target)
        named = _columns_named(spec)
        if current is None or any(name.lower() not in used for _, name, _ in named):
            try:
                table = catalog.table(res.key)
            except NotFound:
                error(("table_name",), f"table {res.key} does not exist in Unity Catalog")
                return errors
            columns = {c.name.lower(): c.name for c in table.columns or [] if c.name}
            listing = ", ".join(columns.values())
            for where, name, what in named:
                if name.lower() not in columns:
                    error(where, f"{what} '{name}' is not a column of {res.key} (columns: {listing})")
        baseline = spec.baseline_table_name
        if baseline is not None and (
            current is None or str(current.get("baseline_table_name")).lower() != baseline.lower()
        ):
            try:
                catalog.table(baseline)
            except NotFound:
                error(("baseline_table_name",), f"baseline table {baseline} does not exist in Unity Catalog")
        schema = spec.output_schema_name.lower()
        if current is None or str(current.get("output_schema_name")).lower() != schema:
            try:
                catalog.schema(schema)
            except NotFound:
                error(("output_schema_name",), f"schema {spec.output_schema_name} does not exist in Unity Catalog")
        return errors

    # --- writing -------------------------------------------------------------------------------

    def create(self, resource: MonitorResource) -> None:
        self.create_owned(
            resource,
            lambda: self.api.create(resource.key, spec_to_api(resource.spec)),
            lambda: self._as_desired(resource),
        )
        self._maybe_refresh(resource)

    def _as_desired(self, resource: MonitorResource) -> bool:
        """After an ambiguous create: does the table now have a monitor equal to the spec?"""
        try:
            info = self.api.get(resource.key)
        except Exception:
            return False
        live = monitor_state(info.as_dict())
        compared, _ = FIELDS.with_last_applied(live, FIELDS.write_only_values(resource.state), resource.state)
        return not diff_states(compared, resource.state, FIELDS)

    def update(self, resource: MonitorResource, live: MonitorLive) -> None:
        # Only lifecycle.prevent_destroy may have changed: then the ledger is all there is to write.
        compared, _ = FIELDS.with_last_applied(live.state, live.last_applied, resource.state)
        configured = bool(diff_states(compared, resource.state, FIELDS))
        if configured:
            body = spec_to_api(resource.spec)
            self.api.update(resource.key, body, facts_of(live, MonitorFacts).dashboard_id)
        self.record(resource, dict(live.last_applied or {}))
        if configured:
            self._maybe_refresh(resource)

    def _maybe_refresh(self, resource: MonitorResource) -> None:
        if getattr(resource.spec, "refresh_after_apply", False):
            self.api.run_refresh(resource.key)

    def delete(self, live: MonitorLive) -> None:
        self.delete_owned(live.key, lambda: self.api.delete(live.key))

    def describe_live(self, live: MonitorLive) -> str:
        return f"monitor on {live.key}"

    def adopt(self, request: ProviderRequest, key: str, name: str | None = None) -> Adopted:
        with live_errors(f"importing the monitor on {key}"):
            return Adopted(self._adopt(key.lower(), name))

    def declaring(self, request: ProviderRequest, key: str) -> MonitorResource | None:
        return super().declaring(request, key.lower())

    def _adopt(self, key: str, name: str | None) -> str:
        try:
            self.api.get(key)
        except NotFound as exc:
            raise ReconcilerError(f"no monitor exists on table {key}: {exc}") from exc
        self.adopt_owned(key, name)
        return key

    # --- import --generate-specs ------------------------------------------------------------------

    def generate_specs(self, request: ProviderRequest, selector: str, source: Path | None) -> GeneratedSpecs:
        """Spec files for the monitors on the tables matching the glob `selector`
        (catalog.schema.table, e.g. 'main.sales.*'): tables come from Unity Catalog listings
        (catalogs and schemas are listed only where the selector has a wildcard), monitors are
        read with one GET per matching table."""
        if source is not None:
            raise ReconcilerError(
                "QualityMonitor specs are generated from live monitors; --from-file takes Grafana exports"
            )
        with live_errors(f"generating QualityMonitor specs from target '{self.target.name}'"):
            return self._generate(request, selector.strip().lower())

    def _generate(self, request: ProviderRequest, selector: str) -> GeneratedSpecs:
        parts = selector.split(".")
        if len(parts) != 3 or not all(parts):
            raise ReconcilerError(
                f"QualityMonitor selector {selector!r} must be a catalog.schema.table glob, e.g. 'main.sales.*'"
            )
        tables = self._matching_tables(*parts)
        declared = {r.key: r.name for r in request.of()}
        names = set(declared.values())
        entries = self.ledger.entries(KIND)
        result = GeneratedSpecs()
        for table in tables:
            if table in declared:
                result.notes.append(
                    f"QualityMonitor on {table} is already declared by spec '{declared[table]}'; skipped"
                )
                continue
            try:
                info = self.api.get(table)
            except NotFound:
                continue  # a table without a monitor
            spec = spec_from_api(info.as_dict())
            try:
                QualityMonitorSpec.model_validate(spec)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                result.notes.append(
                    f"the monitor on {table} cannot be written as a spec ({where}: {first['msg']}); skipped"
                )
                continue
            name = generated_spec_name(table, names, "monitor")
            names.add(name)
            doc = {"apiVersion": "reconciler/v1", "kind": KIND, "metadata": {"name": name}, "spec": spec}
            header = (
                "# yaml-language-server: $schema=../../schemas/quality-monitor.schema.json\n"
                f"# Generated by `reconciler import --generate-specs` from the live monitor on {table}.\n"
                "# Edit freely: this file is now the source of truth. warehouse_id and skip_builtin_dashboard\n"
                "# are not returned by the service, so they are not written.\n"
            )
            result.files[f"quality-monitors/{name}.yaml"] = header + yaml.safe_dump(
                doc, sort_keys=False, allow_unicode=True, default_flow_style=False, width=120
            )
            self.adopt_generated(result, table, name, entries)
        if not result.files and not result.notes:
            raise ReconcilerError(f"no monitor exists on a table matching {selector!r}")
        return result

    def _matching_tables(self, catalog: str, schema: str, table: str) -> list[str]:
        if is_glob(catalog):
            catalogs = [c.name for c in self.client.catalogs.list() if c.name and fnmatch.fnmatchcase(c.name, catalog)]
        else:
            catalogs = [catalog]
        found: list[str] = []
        for cat in sorted(catalogs):
            if is_glob(schema):
                schemas = [
                    s.name for s in self.client.schemas.list(cat) if s.name and fnmatch.fnmatchcase(s.name, schema)
                ]
            else:
                schemas = [schema]
            for sch in sorted(schemas):
                if not is_glob(table):
                    found.append(f"{cat}.{sch}.{table}")
                    continue
                try:
                    listed = list(self.client.tables.list(cat, sch, omit_columns=True))
                except NotFound as exc:
                    if is_glob(catalog) or is_glob(schema):
                        continue
                    raise ReconcilerError(f"schema {cat}.{sch} does not exist: {exc}") from exc
                for item in listed:
                    full = (item.full_name or "").lower()
                    if item.name and fnmatch.fnmatchcase(item.name.lower(), table):
                        found.append(full)
        return list(dict.fromkeys(found))

    # --- after apply -----------------------------------------------------------------------------

    def wait_ready(self, resources: Sequence[MonitorResource], timeout: float, progress: WaitProgress) -> None:
        """Wait for ACTIVE *and* for both metric tables to exist: the tables appear minutes after
        the monitor turns ACTIVE, and grants on them in the same pipeline would fail before."""
        with live_errors("waiting for lakehouse monitors"):
            self._wait(resources, timeout, progress)

    def _wait(self, resources: Sequence[MonitorResource], timeout: float, progress: WaitProgress) -> None:
        deadline = time.monotonic() + timeout
        pending = {r.key for r in resources}
        last: dict[str, str] = {}
        delay = 0.1
        while pending:
            for key in sorted(pending):
                info = self.api.get(key)
                status = info.status.value if info.status else "UNKNOWN"
                if info.status in FAILED:
                    raise ReconcilerError(
                        f"the monitor on {key} is {status}: {info.latest_monitor_failure_msg or 'no failure message given'}"
                    )
                missing = []
                if info.status == MonitorInfoStatus.MONITOR_STATUS_ACTIVE:
                    for table in (info.profile_metrics_table_name, info.drift_metrics_table_name):
                        if table and not self.client.tables.exists(table).table_exists:
                            missing.append(table)
                    if not missing:
                        pending.discard(key)
                        progress.ready(key, "ACTIVE, metric tables ready")
                        continue
                state = status + (f", waiting for {', '.join(missing)}" if missing else "")
                progress.state(key, state)
                last[key] = f"{key}: {state}"
            if not pending:
                return
            if time.monotonic() + delay > deadline:
                raise ReconcilerError(
                    f"timed out after {round(timeout, 1):g}s waiting for {len(pending)} monitor(s) to be ready: "
                    + "; ".join(last.get(k, k) for k in sorted(pending))
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 10.0)


def _columns_named(spec: QualityMonitorSpec) -> list[tuple[tuple[str | int, ...], str, str]]:
    """(spec path, column, what it is) for every table column the spec names."""
    named: list[tuple[tuple[str | int, ...], str, str]] = []
    if spec.time_series is not None:
        named.append((("time_series", "timestamp_col"), spec.time_series.timestamp_col, "timestamp column"))
    if spec.inference_log is not None:
        for field in INFERENCE_COLUMNS:
            name = getattr(spec.inference_log, field)
            if name is not None:
                named.append((("inference_log", field), name, field.replace("_col", " column")))
    for i, metric in enumerate(spec.custom_metrics):
        for j, name in enumerate(metric.input_columns):
            if name != ":table":
                named.append(
                    (("custom_metrics", i, "input_columns", j), name, f"input column of metric `{metric.name}`")
                )
    for i, expression in enumerate(spec.slicing_exprs):
        for name in dict.fromkeys(expression_columns(expression)):
            named.append((("slicing_exprs", i), name, "slicing expression column"))
    return named


def _columns_used(api: dict[str, Any]) -> set[str]:
    """The table columns (lower case) a live monitor's configuration (MonitorInfo JSON) uses."""
    used: list[Any] = [(api.get("time_series") or {}).get("timestamp_col")]
    used += [(api.get("inference_log") or {}).get(field) for field in INFERENCE_COLUMNS]
    for metric in api.get("custom_metrics") or []:
        used += metric.get("input_columns") or []
    for expression in api.get("slicing_exprs") or []:
        used += expression_columns(str(expression))
    return {str(name).lower() for name in used if name}
