"""Unity Catalog tables and schemas, each looked up at most once per run and shared by every
Databricks kind of the target (QualityMonitor, AnomalyDetection).

Why: the plan-time checks (does the table, the output schema, the baseline exist?) and the Data
Quality v1 API's ids (monitors there are addressed by table or schema id) ask about the same few
objects over and over — 1,000 monitors writing to one output schema would otherwise fetch that
schema 1,000 times. An answer, a `NotFound` included, is kept for the run; concurrent askers of
one name wait for the one request (the reads run on a thread pool with `--parallelism`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from reconciler.errors import ReconcilerError

if TYPE_CHECKING:
    from reconciler.providers.provider_target import ProviderTarget

T = TypeVar("T")


class Memo(Generic[T]):
    """`get(key, fetch)`: `fetch()`'s result (or exception) for `key`, computed once; callers of
    one key at the same time wait for the first one's request instead of making their own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._done: dict[str, tuple[bool, Any]] = {}

    def get(self, key: str, fetch: Callable[[], T]) -> T:
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._done:
                try:
                    self._done[key] = (True, fetch())
                except Exception as exc:
                    self._done[key] = (False, exc)
            ok, value = self._done[key]
        if not ok:
            raise value
        return cast(T, value)

    def put(self, key: str, value: T) -> None:
        with self._lock:
            self._done[key] = (True, value)


class UnityCatalog:
    """`tables.get` / `schemas.get` of the target's workspace, memoised for the run."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._tables: Memo[Any] = Memo()
        self._schemas: Memo[Any] = Memo()
        self._schema_names: dict[str, str] = {}  # schema id -> full name
        self._listed = threading.Lock()
        self._all_listed = False

    def table(self, name: str) -> Any:
        """The table's `TableInfo` (`NotFound` when it does not exist)."""
        name = name.lower()
        return self._tables.get(name, lambda: self.client.tables.get(name))

    def schema(self, name: str) -> Any:
        """The schema's `SchemaInfo` (`NotFound` when it does not exist)."""
        name = name.lower()
        info = self._schemas.get(name, lambda: self.client.schemas.get(name))
        if info.schema_id:
            self._schema_names[info.schema_id] = name
        return info

    def table_id(self, name: str) -> str:
        info = self.table(name)
        if not info.table_id:
            raise ReconcilerError(f"Unity Catalog returned no table_id for {name}")
        return str(info.table_id)

    def schema_id(self, name: str) -> str:
        info = self.schema(name)
        if not info.schema_id:
            raise ReconcilerError(f"Unity Catalog returned no schema_id for {name}")
        return str(info.schema_id)

    def known_schema(self, info: Any) -> None:
        """A schema a listing returned: remembered as if fetched (no `schemas.get` for it later)."""
        full = (info.full_name or "").lower()
        if full:
            self._schemas.put(full, info)
            if info.schema_id:
                self._schema_names[info.schema_id] = full

    def schema_name(self, schema_id: str) -> str | None:
        """The full name of the schema `schema_id`: from the schemas fetched so far, else from
        one listing of every catalog's schemas (made once per run)."""
        if schema_id not in self._schema_names:
            with self._listed:
                if not self._all_listed:
                    self._all_listed = True
                    for catalog in self.client.catalogs.list():
                        for schema in self.client.schemas.list(catalog.name):
                            self.known_schema(schema)
        return self._schema_names.get(schema_id)


def unity_catalog(target: ProviderTarget) -> UnityCatalog:
    """The target's one `UnityCatalog` for this run."""
    return target.shared("unity-catalog", lambda: UnityCatalog(target.workspace_client()))
