"""What every SLA policy store does the same way, whatever the database.

The semantics live here once: read the whole table (unmanaged rows included), one upsert keyed by
policy_hash per create/update that never overwrites a row with another owner, one delete by
policy_hash restricted to our own rows, adoption of unmanaged rows. A store (SQLite, Databricks
SQL) only says how to run those four statements and reports how many rows each touched, so both
stores give identical plans, errors and guarantees.
"""

from __future__ import annotations

import fnmatch
import json
import re
from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from reconciler.errors import Diagnostic, ReconcilerError, SpecError
from reconciler.gc_pause import without_gc
from reconciler.kinds.sla_policy import PolicyFacts, PolicyLive, PolicyResource, SlaPolicySpec, compute_hash
from reconciler.plan.model import Action, Operation

from .base import Adopted, BatchItem, GeneratedSpecs, Provider
from .policy_rows import LIST_COLUMNS, decode_list, row_to_live, row_values
from .request import ProviderRequest


class PolicyStoreProvider(Provider[SlaPolicySpec, PolicyFacts]):
    """Base of the `SlaPolicy` providers: subclasses implement the four row operations."""

    @abstractmethod
    def _read_rows(self) -> list[dict[str, Any]]:
        """Every row of the table (columns of `policy_rows.COLUMNS`), ordered by policy_id."""

    @abstractmethod
    def _upsert_rows(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Insert each row, or update it when its policy_hash exists AND its managed_by equals the
        row's `managed_by`, in as few statements as the store allows (SQL: one transaction, all or
        none; Delta: each statement of up to 1,000 rows atomic); the policy_hashes written (one
        missing: that row belongs to someone else)."""

    @abstractmethod
    def _delete_rows(self, policy_hashes: Sequence[str], owner: str) -> set[str]:
        """Delete the rows with these policy_hashes that `owner` manages, all or none; the
        policy_hashes deleted."""

    @abstractmethod
    def _adopt_row(self, policy_hash: str, owner: str, name: str | None) -> int:
        """Mark an unmanaged row as managed by `owner` (spec name `name`); the number changed."""

    _checked: list[PolicyLive] | None = None  # the rows `check` read, handed on to `read`

    @without_gc
    def _live_rows(self) -> list[PolicyLive]:
        # The table is small (one row per warehouse set): read it whole, unmanaged rows included.
        live = []
        for row in self._read_rows():
            for col in LIST_COLUMNS:
                row[col] = decode_list(row.get(col))
            live.append(row_to_live(row, self.target.owner))
        return live

    def read(self, request: ProviderRequest) -> list[PolicyLive]:
        if self._checked is not None:
            live, self._checked = self._checked, None
            return live
        return self._live_rows()

    def check(self, request: ProviderRequest) -> list[Diagnostic]:
        """A row for a declared warehouse set under another policy_hash (written by the
        framework's own `add_sla_policy()` or an older hash) is an error naming both rows: the
        plan would otherwise add a second policy for the same warehouses."""
        self._checked = live = self._live_rows()
        # Rows indexed by their warehouse set, so the check is linear in rows + specs (a scan of
        # every row per spec took seconds at 10,000 policies).
        by_warehouses: dict[str, list[PolicyLive]] = {}
        for row in live:
            by_warehouses.setdefault(_warehouses_key(row.state.get("warehouse_ids")), []).append(row)
        errors = []
        for res in self.declared_resources(request):
            for row in by_warehouses.get(_warehouses_key(res.state.get("warehouse_ids")), ()):
                if row.key == res.key:
                    continue
                if row.managed and row.name == res.name:
                    continue  # adopted: the plan re-keys it (a replace under the spec's hash)
                where = res.spec_source("warehouse_ids")
                policy_id = row.raw.get("policy_id")
                owner = (
                    f"managed by {row.owner}"
                    if row.owner
                    else "managed by this project"
                    if row.managed
                    else "unmanaged"
                )
                how = (
                    f"adopt it with `{self.target.import_command('SlaPolicy', row.key)}` "
                    f"(the next plan then rewrites it under policy_hash {res.key[:12]}… and deletes the old row, "
                    "a replace that needs --allow-destructive) or delete that row first"
                    if not row.managed and not row.owner
                    else "remove one of the two declarations"
                )
                errors.append(
                    SpecError(
                        where.file,
                        where.line,
                        "spec.warehouse_ids",
                        f"SlaPolicy '{res.name}' (policy_hash {res.key[:12]}…) covers the same warehouses as the "
                        f"existing row policy_id={policy_id} (policy_hash {row.key[:12]}…, {owner}) "
                        f"[{', '.join(res.state['warehouse_ids'])}]: applying would add a second policy for them; {how}",
                    )
                )
        return errors

    def create(self, resource: PolicyResource) -> None:
        self._upsert(resource)

    def update(self, resource: PolicyResource, live: PolicyLive) -> None:
        self._upsert(resource)

    def _upsert(self, resource: PolicyResource) -> None:
        self._checked = None
        if resource.key not in self._upsert_rows([row_values(resource, self.target.owner)]):
            raise self._not_ours(resource.key)

    def delete(self, live: PolicyLive) -> None:
        self._checked = None
        if live.key not in self._delete_rows([live.key], self.target.owner):
            raise self._gone(live.key)

    def _not_ours(self, policy_hash: str) -> ReconcilerError:
        return ReconcilerError(
            f"policy row {policy_hash} exists but is not managed by {self.target.owner}; not overwritten"
        )

    def _gone(self, policy_hash: str) -> ReconcilerError:
        return ReconcilerError(f"policy row {policy_hash} is gone or no longer managed by {self.target.owner}")

    # -- a whole apply's rows at once ----------------------------------------------------------
    # Creates, updates and deletes are independent rows: the applier hands them over together
    # and the store writes them in one transaction (SQL) or a few statements of many rows each
    # (Delta), instead of a statement and a round trip per policy. A replace stays on its own
    # (the old row is deleted only once the new one is written).
    batch_limit = 1_000_000

    def batchable(self, op: Operation) -> bool:
        return op.action in (Action.CREATE, Action.UPDATE, Action.DELETE)

    def apply_batch(
        self, request: ProviderRequest, items: Sequence[BatchItem[SlaPolicySpec, PolicyFacts]]
    ) -> list[Exception | None]:
        self._checked = None
        owner = self.target.owner
        upserts = [res for op, res, _ in items if op.action is not Action.DELETE and res is not None]
        deletes = [live.key for op, _, live in items if op.action is Action.DELETE and live is not None]
        try:
            written = self._upsert_rows([row_values(res, owner) for res in upserts]) if upserts else set()
            deleted = self._delete_rows(deletes, owner) if deletes else set()
        except Exception as exc:  # the transaction (or the statement) failed: every row with it
            return [exc for _ in items]
        outcomes: list[Exception | None] = []
        for op, res, live in items:
            if op.action is Action.DELETE:
                key = live.key if live is not None else op.key
                outcomes.append(None if key in deleted else self._gone(key))
            else:
                outcomes.append(None if res is not None and res.key in written else self._not_ours(op.key))
        return outcomes

    def _missing_ownership_columns(self) -> tuple[str, ...]:
        """Ownership columns the table lacks (asked only after a failed write, to explain it)."""
        return ()

    def adopt(self, request: ProviderRequest, key: str, name: str | None = None) -> Adopted:
        self._checked = None
        try:
            adopted = self._adopt_row(key, self.target.owner, name)
        except ReconcilerError:
            missing = self._missing_ownership_columns()
            if missing:
                raise ReconcilerError(
                    f"the policy table has no ownership column(s) {', '.join(missing)} (a table the SLA framework "
                    "created), so nothing can be adopted yet: re-run the import with --allow-migrate to add them "
                    "(nullable) first"
                ) from None
            raise
        if adopted == 0:
            raise ReconcilerError(f"no unmanaged policy row with policy_hash {key}")
        return Adopted(key)

    # --- import ----------------------------------------------------------------------------------

    def declaring(self, request: ProviderRequest, key: str) -> PolicyResource | None:
        """The spec for row `key`: the one with that hash, or (a row under a legacy hash) the one
        declaring the same warehouse set."""
        exact = super().declaring(request, key)
        if exact is not None:
            return exact
        row = next((r for r in self._live_rows() if r.key == key), None)
        if row is None:
            return None
        wanted = row.state.get("warehouse_ids")
        return next((r for r in self.declared_resources(request) if r.state.get("warehouse_ids") == wanted), None)

    def import_key(self, request: ProviderRequest, key: str) -> str:
        """A spec name as the key of the row it declares (the row with its hash, or the row under
        another hash for the same warehouse set); anything else unchanged."""
        res = next((r for r in request.of() if r.name == key), None)
        if res is None:
            return key
        rows = self._live_rows()
        if any(r.key == res.key for r in rows):
            return res.key
        same = [r for r in rows if r.state.get("warehouse_ids") == res.state.get("warehouse_ids") and not r.managed]
        return same[0].key if len(same) == 1 else res.key

    def generate_specs(self, request: ProviderRequest, selector: str, source: Path | None) -> GeneratedSpecs:
        """One spec file per row of the policy table whose policy_hash or spec name matches the
        glob `selector` ('*': every row), unmanaged rows included; rows of other owners and rows
        already declared are skipped with a note."""
        if source is not None:
            raise ReconcilerError(
                "SlaPolicy specs are generated from the policy table; --from-file takes Grafana exports"
            )
        declared = {r.key: r.name for r in request.of()}
        names = set(declared.values())
        result = GeneratedSpecs()
        matched = 0
        for row in self._live_rows():
            label = row.raw.get("spec_name") or ""
            if not (fnmatch.fnmatchcase(row.key, selector) or (label and fnmatch.fnmatchcase(str(label), selector))):
                continue
            matched += 1
            if row.key in declared:
                result.notes.append(
                    f"SlaPolicy row {row.key[:12]}… is already declared by spec '{declared[row.key]}'; skipped"
                )
                continue
            if row.owner:
                result.notes.append(f"SlaPolicy row {row.key[:12]}… is managed by {row.owner}; skipped")
                continue
            spec = {
                "warehouse_ids": list(row.state["warehouse_ids"]),
                "sla_seconds": row.state["sla_seconds"],
                "policy_mode": row.state["policy_mode"],
                "included_statuses": list(row.state["included_statuses"]),
            }
            try:
                SlaPolicySpec.model_validate(spec)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                result.notes.append(
                    f"SlaPolicy row {row.key[:12]}… cannot be written as a spec ({where}: {first['msg']}); skipped"
                )
                continue
            name = _policy_name(str(label), row, names)
            names.add(name)
            legacy = compute_hash(spec["warehouse_ids"]) != row.key
            if legacy:
                result.notes.append(
                    f"SlaPolicy row {row.key[:12]}… has a policy_hash that is not the hash of its warehouse set "
                    f"(written by another tool): the next plan rewrites it under {compute_hash(spec['warehouse_ids'])[:12]}… "
                    "(a replace, --allow-destructive)"
                )
            doc = {"apiVersion": "reconciler/v1", "kind": self.kind.name, "metadata": {"name": name}, "spec": spec}
            header = (
                "# yaml-language-server: $schema=../../schemas/sla-policy.schema.json\n"
                f"# Generated by `reconciler import --generate-specs` from policy row policy_id={row.raw.get('policy_id')}\n"
                f"# (policy_hash {row.key}). Edit freely: this file is now the source of truth.\n"
            )
            result.files[f"sla-policies/{name}.yaml"] = header + yaml.safe_dump(
                doc, sort_keys=False, allow_unicode=True, default_flow_style=False, width=120
            )
            if row.managed:
                result.notes.append(
                    f"SlaPolicy row {row.key[:12]}… is already managed by {self.target.owner}: spec written"
                )
            else:
                result.adopt.append((row.key, name))
        if matched == 0:
            raise ReconcilerError(f"no row of the policy table matches {selector!r} (by policy_hash or spec name)")
        return result


_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _warehouses_key(value: Any) -> str:
    """A hashable key for a row's or spec's warehouse_ids (a list of id strings, or None when a row
    has none): its JSON text, order kept, so two keys are equal exactly when the lists are."""
    return json.dumps(value, default=repr)


def _policy_name(label: str, row: PolicyLive, taken: set[str]) -> str:
    """metadata.name for a generated policy spec: the row's spec name when it has one, else
    `policy-<first warehouse id>` (unique)."""
    warehouses = row.state.get("warehouse_ids") or ["policy"]
    base = _NAME.sub("-", label).strip("-._") if label else f"policy-{_NAME.sub('-', warehouses[0]).strip('-')}"
    name, n = base or f"policy-{row.key[:8]}", 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name
