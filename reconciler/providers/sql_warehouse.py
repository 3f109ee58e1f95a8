"""Run one SQL statement on a Databricks SQL warehouse and get its rows back, typed.

Through databricks-sdk's Statement Execution API (`w.statement_execution`): the statement is
submitted with named parameters (`:name` markers, values bound by the warehouse, never put into
SQL text), waited for up to a few seconds server-side, then polled with backoff until it reaches
a terminal state or `timeout_seconds` pass (then it is cancelled). A FAILED or CANCELED
statement raises `StatementError` carrying the warehouse's own message. Results of several
chunks are paged through `next_chunk_index`; JSON_ARRAY strings are converted back to Python
values by the column types in the manifest. Every call to the workspace (submit, poll, cancel,
fetch a chunk) turns the SDK's failures (wrong token, unreachable host, ...) into a
ReconcilerError naming the call and the host (`databricks_errors.live_errors`), never the token.
"""

from __future__ import annotations

import json
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from reconciler.errors import ReconcilerError

from .databricks_errors import live_errors

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.sql import StatementResponse

# Server-side wait per request (the API allows 0 or 5-50 s); longer statements are polled.
WAIT_TIMEOUT = "10s"
FIRST_POLL_SECONDS = 0.05
MAX_POLL_SECONDS = 2.0


class StatementError(ReconcilerError):
    """A statement the warehouse did not complete (FAILED, CANCELED, CLOSED or timed out)."""

    def __init__(
        self, message: str, warehouse_message: str = "", error_code: str | None = None, sql_state: str | None = None
    ) -> None:
        super().__init__(message)
        self.warehouse_message = warehouse_message
        self.error_code = error_code
        self.sql_state = sql_state

    @property
    def table_not_found(self) -> bool:
        return self.sql_state == "42P01" or "TABLE_OR_VIEW_NOT_FOUND" in self.warehouse_message


@dataclass(frozen=True)
class Param:
    """A named parameter: `value` is sent as a string (None: SQL NULL) and cast by the warehouse
    to `type` (a Databricks SQL type name)."""

    name: str
    value: Any
    type: str = "STRING"


@dataclass
class Rows:
    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def first_int(self, column: str) -> int:
        return int(self.rows[0][column]) if self.rows and self.rows[0].get(column) is not None else 0


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return str(value)


def convert(value: str | None, type_name: str | None) -> Any:
    """A JSON_ARRAY value (always a string) as the Python value of its column type."""
    if value is None:
        return None
    kind = (type_name or "STRING").upper()
    if kind in ("INT", "LONG", "SHORT", "BYTE"):
        return int(value)
    if kind in ("FLOAT", "DOUBLE"):
        return float(value)
    if kind == "DECIMAL":
        return Decimal(value)
    if kind == "BOOLEAN":
        return value.lower() == "true"
    if kind in ("ARRAY", "MAP", "STRUCT"):
        return json.loads(value)
    return value


class SqlWarehouse:
    """Statements on one warehouse through one workspace client."""

    def __init__(self, client: WorkspaceClient, warehouse_id: str, timeout_seconds: float = 300) -> None:
        self.client = client
        self.warehouse_id = warehouse_id
        self.timeout_seconds = timeout_seconds

    def run(self, statement: str, params: list[Param] | None = None) -> Rows:
        from databricks.sdk.service.sql import (
            Disposition,
            ExecuteStatementRequestOnWaitTimeout,
            Format,
            StatementParameterListItem,
        )

        api = self.client.statement_execution
        with self._calling("running a statement"):
            response = api.execute_statement(
                statement=statement,
                warehouse_id=self.warehouse_id,
                parameters=[
                    StatementParameterListItem(name=p.name, value=_as_text(p.value), type=p.type) for p in params or []
                ],
                wait_timeout=WAIT_TIMEOUT,
                on_wait_timeout=ExecuteStatementRequestOnWaitTimeout.CONTINUE,
                disposition=Disposition.INLINE,
                format=Format.JSON_ARRAY,
            )
        response = self._wait(response)
        return self._rows(response)

    def _calling(self, operation: str) -> AbstractContextManager[None]:
        """SDK failures of `operation` as a ReconcilerError naming the warehouse and the host."""
        config = self.client.config
        return live_errors(f"{operation} on SQL warehouse {self.warehouse_id} at {config.host}", secret=config.token)

    def _wait(self, response: StatementResponse) -> StatementResponse:
        from databricks.sdk.service.sql import StatementState

        api = self.client.statement_execution
        deadline = time.monotonic() + self.timeout_seconds
        delay = FIRST_POLL_SECONDS
        while _state(response) in (StatementState.PENDING, StatementState.RUNNING):
            if time.monotonic() >= deadline:
                if response.statement_id:
                    with self._calling(f"cancelling statement {response.statement_id}"):
                        api.cancel_execution(response.statement_id)
                raise StatementError(
                    f"statement on SQL warehouse {self.warehouse_id} did not finish within "
                    f"{self.timeout_seconds:g} s (statement_timeout_seconds); it was cancelled"
                )
            statement_id = response.statement_id
            if not statement_id:
                raise StatementError(
                    f"SQL warehouse {self.warehouse_id} answered a pending statement without a statement_id"
                )
            time.sleep(delay)
            delay = min(delay * 2, MAX_POLL_SECONDS)
            with self._calling(f"polling statement {statement_id}"):
                response = api.get_statement(statement_id)
        state = _state(response)
        if state is StatementState.SUCCEEDED:
            return response
        error = response.status.error if response.status else None
        shown = state.value if state else "no state"
        message = (error.message if error else None) or f"the statement ended {shown}"
        raise StatementError(
            f"SQL warehouse {self.warehouse_id}: statement {shown}: {message}",
            warehouse_message=message,
            error_code=error.error_code.value if error and error.error_code else None,
            sql_state=response.status.sql_state if response.status else None,
        )

    def _rows(self, response: StatementResponse) -> Rows:
        manifest = response.manifest
        columns = list(manifest.schema.columns or []) if manifest and manifest.schema else []
        names = [c.name or f"col{i}" for i, c in enumerate(columns)]
        types = [c.type_name.value if c.type_name else None for c in columns]
        data: list[list[str | None]] = []
        chunk = response.result
        while chunk is not None:
            data.extend(list(row) for row in chunk.data_array or [])
            if chunk.next_chunk_index is None or response.statement_id is None:
                break
            with self._calling(f"fetching result chunk {chunk.next_chunk_index} of statement {response.statement_id}"):
                chunk = self.client.statement_execution.get_statement_result_chunk_n(
                    response.statement_id,
                    chunk.next_chunk_index,
                )
        rows = [{n: convert(v, t) for n, t, v in zip(names, types, row)} for row in data]
        return Rows(columns=names, rows=rows)


def _state(response: StatementResponse) -> Any:
    return response.status.state if response.status else None
