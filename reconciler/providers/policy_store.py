"""What every SLA policy store does the same way, whatever the database.

The semantics live here once: read the whole table (unmanaged rows included), one upsert keyed by
policy_hash per create/update that never overwrites a row with another owner, one delete by
policy_hash restricted to our own rows, adoption of unmanaged rows. A store (SQLite, Databricks
SQL) only says how to run those four statements and reports how many rows each touched, so both
stores give identical plans, errors and guarantees.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from reconciler.errors import ReconcilerError
from reconciler.kinds.base import LiveObject, Resource

from .base import Adopted, Provider
from .policy_rows import LIST_COLUMNS, decode_list, row_to_live, row_values


class PolicyStoreProvider(Provider):
    """Base of the `SlaPolicy` providers: subclasses implement the four row operations."""

    @abstractmethod
    def _read_rows(self) -> list[dict[str, Any]]:
        """Every row of the table (columns of `policy_rows.COLUMNS`), ordered by policy_id."""

    @abstractmethod
    def _upsert_row(self, values: dict[str, Any]) -> int:
        """Insert the row, or update it when its policy_hash exists AND its managed_by equals
        `values["managed_by"]`; the number of rows written (0: the row belongs to someone else)."""

    @abstractmethod
    def _delete_row(self, policy_hash: str, owner: str) -> int:
        """Delete the row with this policy_hash if `owner` manages it; the number deleted."""

    @abstractmethod
    def _adopt_row(self, policy_hash: str, owner: str, name: str | None) -> int:
        """Mark an unmanaged row as managed by `owner` (spec name `name`); the number changed."""

    def read(self, desired: Sequence[Resource]) -> list[LiveObject]:
        # The table is small (one row per warehouse set): read it whole, unmanaged rows included.
        live = []
        for row in self._read_rows():
            for col in LIST_COLUMNS:
                row[col] = decode_list(row.get(col))
            live.append(row_to_live(row, self.context.owner))
        return live

    def create(self, resource: Resource) -> None:
        self._upsert(resource)

    def update(self, resource: Resource, live: LiveObject) -> None:
        self._upsert(resource)

    def _upsert(self, resource: Resource) -> None:
        if self._upsert_row(row_values(resource, self.context.owner)) == 0:
            raise ReconcilerError(
                f"policy row {resource.key} exists but is not managed by {self.context.owner}; not overwritten"
            )

    def delete(self, live: LiveObject) -> None:
        if self._delete_row(live.key, self.context.owner) == 0:
            raise ReconcilerError(f"policy row {live.key} is gone or no longer managed by {self.context.owner}")

    def adopt(self, key: str, name: str | None = None) -> Adopted:
        if self._adopt_row(key, self.context.owner, name) == 0:
            raise ReconcilerError(f"no unmanaged policy row with policy_hash {key}")
        return Adopted(key)
