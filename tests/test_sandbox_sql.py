"""The sandbox's SQL warehouse, through databricks-sdk's real `statement_execution` client."""

from __future__ import annotations

import json

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import BadRequest, NotFound
from databricks.sdk.service.sql import (
    ExecuteStatementRequestOnWaitTimeout,
    StatementParameterListItem,
    StatementResponse,
    StatementState,
)

from reconciler.sandbox import SandboxServer

WAREHOUSE = "sandbox-warehouse"
TABLE = "main.sla_monitoring.query_sla_policies"


@pytest.fixture
def client(sandbox: SandboxServer) -> WorkspaceClient:
    return WorkspaceClient(host=sandbox.url, token="dapi-test")


def sql(client: WorkspaceClient, statement: str, **params: str | tuple[str, str]) -> StatementResponse:
    items = [
        StatementParameterListItem(name=k, value=v[0], type=v[1])
        if isinstance(v, tuple)
        else StatementParameterListItem(name=k, value=v)
        for k, v in params.items()
    ]
    return client.statement_execution.execute_statement(
        statement, WAREHOUSE, parameters=items or None, wait_timeout="10s"
    )


def ok(response: StatementResponse) -> StatementResponse:
    assert response.status is not None
    assert response.status.state == StatementState.SUCCEEDED, response.status.error
    return response


def control(sandbox: SandboxServer, path: str, body: dict | None = None, method: str = "POST") -> dict:
    reply = requests.request(method, f"{sandbox.url}/sandbox/sql/{path}", json=body, timeout=5)
    reply.raise_for_status()
    return reply.json()


def make_table(client: WorkspaceClient) -> None:
    ok(sql(client, "CREATE SCHEMA IF NOT EXISTS main.sla_monitoring"))
    ok(
        sql(
            client,
            f"CREATE TABLE IF NOT EXISTS {TABLE} (policy_id BIGINT GENERATED ALWAYS AS IDENTITY, "
            "policy_hash STRING NOT NULL, warehouse_ids ARRAY<STRING>, sla_seconds INT, applied_at TIMESTAMP) "
            "USING DELTA COMMENT 'Managed by reconciler' TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true')",
        )
    )


MERGE = f"""
MERGE INTO {TABLE} AS t
USING (SELECT :policy_hash AS policy_hash, from_json(:warehouse_ids, 'ARRAY<STRING>') AS warehouse_ids,
              :sla_seconds AS sla_seconds) AS s
ON t.policy_hash = s.policy_hash
WHEN MATCHED THEN UPDATE SET t.warehouse_ids = s.warehouse_ids, t.sla_seconds = s.sla_seconds
WHEN NOT MATCHED THEN INSERT (policy_hash, warehouse_ids, sla_seconds) VALUES (s.policy_hash, s.warehouse_ids, s.sla_seconds)
"""


def test_select_answers_with_the_real_response_shapes(client: WorkspaceClient) -> None:
    response = ok(
        sql(client, "SELECT 1 AS n, 'a' AS s, CAST(NULL AS STRING) AS missing, array('x', 'y') AS arr, true AS b")
    )
    assert response.statement_id
    manifest = response.manifest
    assert manifest is not None and manifest.format is not None and manifest.format.value == "JSON_ARRAY"
    assert manifest.schema is not None and manifest.schema.column_count == 5
    columns = [
        (c.name, c.type_name.value if c.type_name else None, c.type_text, c.position)
        for c in manifest.schema.columns or []
    ]
    assert columns == [
        ("n", "INT", "INT", 0),
        ("s", "STRING", "STRING", 1),
        ("missing", "STRING", "STRING", 2),
        ("arr", "ARRAY", "ARRAY<STRING>", 3),
        ("b", "BOOLEAN", "BOOLEAN", 4),
    ]
    assert manifest.total_row_count == 1 and manifest.total_chunk_count == 1
    assert response.result is not None
    assert response.result.data_array == [["1", "a", None, '["x","y"]', "true"]]
    assert response.result.chunk_index == 0 and response.result.row_offset == 0 and response.result.row_count == 1
    assert response.result.next_chunk_index is None


def test_create_merge_select_delete_round_trip(client: WorkspaceClient) -> None:
    make_table(client)
    inserted = ok(sql(client, MERGE, policy_hash="h1", warehouse_ids='["w1", "w2"]', sla_seconds=("300", "INT")))
    assert inserted.manifest and [c.name for c in inserted.manifest.schema.columns] == [
        "num_affected_rows",
        "num_updated_rows",
        "num_deleted_rows",
        "num_inserted_rows",
    ]
    assert inserted.result and inserted.result.data_array == [["1", "0", "0", "1"]]
    updated = ok(sql(client, MERGE, policy_hash="h1", warehouse_ids='["w1"]', sla_seconds=("60", "INT")))
    assert updated.result and updated.result.data_array == [["1", "1", "0", "0"]]

    rows = ok(sql(client, f"SELECT policy_id, policy_hash, warehouse_ids, sla_seconds FROM {TABLE}"))
    assert rows.result and rows.result.data_array == [["1", "h1", '["w1"]', "60"]]
    types = {c.name: c.type_text for c in rows.manifest.schema.columns}  # type: ignore[union-attr]
    assert types == {
        "policy_id": "BIGINT",
        "policy_hash": "STRING",
        "warehouse_ids": "ARRAY<STRING>",
        "sla_seconds": "INT",
    }

    deleted = ok(sql(client, f"DELETE FROM {TABLE} WHERE policy_hash = :h", h="h1"))
    assert deleted.result and deleted.result.data_array == [["1"]]
    empty = ok(sql(client, f"SELECT * FROM {TABLE}"))
    assert empty.manifest and empty.manifest.total_row_count == 0 and empty.result is None


def test_catalog_and_schema_of_the_request_qualify_short_names(client: WorkspaceClient) -> None:
    make_table(client)
    ok(sql(client, MERGE, policy_hash="h", warehouse_ids='["w"]', sla_seconds=("1", "INT")))
    response = client.statement_execution.execute_statement(
        "SELECT count(*) AS n FROM query_sla_policies", WAREHOUSE, catalog="main", schema="sla_monitoring"
    )
    assert ok(response).result.data_array == [["1"]]  # type: ignore[union-attr]


def test_values_with_quotes_and_sql_are_bound_verbatim(client: WorkspaceClient) -> None:
    make_table(client)
    nasty = "it's \"quoted\"'; DROP TABLE main.sla_monitoring.query_sla_policies; --"
    ok(sql(client, MERGE, policy_hash=nasty, warehouse_ids=json.dumps([nasty, "a,b"]), sla_seconds=("5", "INT")))
    rows = ok(sql(client, f"SELECT policy_hash, warehouse_ids FROM {TABLE} WHERE policy_hash = :h", h=nasty))
    assert rows.result and rows.result.data_array == [[nasty, json.dumps([nasty, "a,b"], separators=(",", ":"))]]


def test_a_rejected_statement_fails_with_the_engines_message(client: WorkspaceClient) -> None:
    missing = sql(client, "SELECT * FROM main.nowhere.nothing")
    assert missing.status and missing.status.state == StatementState.FAILED
    assert (
        missing.status.error
        and missing.status.error.error_code
        and missing.status.error.error_code.value == "BAD_REQUEST"
    )
    assert missing.status.error.message.startswith(
        "[TABLE_OR_VIEW_NOT_FOUND] The table or view `main`.`nowhere`.`nothing` cannot be found"
    )
    assert missing.status.sql_state == "42P01"

    make_table(client)
    bad_column = sql(client, f"SELECT no_such_column FROM {TABLE}")
    assert bad_column.status.state == StatementState.FAILED and "no_such_column" in bad_column.status.error.message  # type: ignore[union-attr]

    bad_cast = sql(client, "SELECT :n + 1 AS x", n=("twelve", "INT"))
    assert bad_cast.status.state == StatementState.FAILED and "twelve" in bad_cast.status.error.message  # type: ignore[union-attr]

    unbound = sql(client, "SELECT :nope AS x")
    assert "[UNBOUND_SQL_PARAMETER]" in unbound.status.error.message  # type: ignore[union-attr]

    syntax = sql(client, "SELEC 1")
    assert syntax.status.state == StatementState.FAILED and "[PARSE_SYNTAX_ERROR]" in syntax.status.error.message  # type: ignore[union-attr]

    no_schema = sql(client, "CREATE TABLE main.nowhere.t (a INT)")
    assert "[SCHEMA_NOT_FOUND] The schema `main`.`nowhere`" in no_schema.status.error.message  # type: ignore[union-attr]


def test_only_one_statement_per_request(client: WorkspaceClient) -> None:
    make_table(client)
    response = sql(client, f"SELECT 1; DROP TABLE {TABLE}")
    assert response.status.state == StatementState.FAILED  # type: ignore[union-attr]
    assert ok(sql(client, f"SELECT count(*) FROM {TABLE}")).result.data_array == [["0"]]  # type: ignore[union-attr]


def test_large_results_are_paged_in_chunks(client: WorkspaceClient, sandbox: SandboxServer) -> None:
    control(sandbox, "config", {"chunk_row_limit": 4})
    response = ok(sql(client, "SELECT id FROM range(10) AS r(id) ORDER BY id"))
    manifest = response.manifest
    assert manifest and manifest.total_row_count == 10 and manifest.total_chunk_count == 3
    assert [(c.chunk_index, c.row_offset, c.row_count) for c in manifest.chunks or []] == [
        (0, 0, 4),
        (1, 4, 4),
        (2, 8, 2),
    ]

    rows, chunk = [], response.result
    while chunk is not None:
        rows += chunk.data_array or []
        if chunk.next_chunk_index is None:
            break
        assert (
            chunk.next_chunk_internal_link
            == f"/api/2.0/sql/statements/{response.statement_id}/result/chunks/{chunk.next_chunk_index}"
        )
        chunk = client.statement_execution.get_statement_result_chunk_n(response.statement_id, chunk.next_chunk_index)
    assert rows == [[str(i)] for i in range(10)]
    assert chunk.chunk_index == 2 and chunk.row_offset == 8


def test_zero_wait_returns_pending_then_polling_finishes(client: WorkspaceClient) -> None:
    pending = client.statement_execution.execute_statement("SELECT 42 AS answer", WAREHOUSE, wait_timeout="0s")
    assert pending.status.state == StatementState.PENDING and pending.statement_id  # type: ignore[union-attr]
    assert pending.manifest is None and pending.result is None
    done = ok(client.statement_execution.get_statement(pending.statement_id))
    assert done.result.data_array == [["42"]]  # type: ignore[union-attr]


def test_a_slow_statement_stays_running_for_n_polls_and_runs_after(
    client: WorkspaceClient, sandbox: SandboxServer
) -> None:
    make_table(client)
    control(sandbox, "config", {"running_polls": 2})
    started = sql(client, MERGE, policy_hash="slow", warehouse_ids='["w"]', sla_seconds=("1", "INT"))
    assert started.status.state == StatementState.RUNNING  # type: ignore[union-attr]
    sid = started.statement_id
    assert client.statement_execution.get_statement(sid).status.state == StatementState.RUNNING  # type: ignore[union-attr]
    assert client.statement_execution.get_statement(sid).status.state == StatementState.RUNNING  # type: ignore[union-attr]
    control(sandbox, "config", {"running_polls": 0})
    # Nothing ran yet: the row appears only once the statement finishes.
    assert ok(sql(client, f"SELECT count(*) FROM {TABLE}")).result.data_array == [["0"]]  # type: ignore[union-attr]
    assert ok(client.statement_execution.get_statement(sid)).result.data_array == [["1", "0", "0", "1"]]  # type: ignore[union-attr]
    assert ok(sql(client, f"SELECT count(*) FROM {TABLE}")).result.data_array == [["1"]]  # type: ignore[union-attr]


def test_cancel_stops_a_running_statement_before_it_runs(client: WorkspaceClient, sandbox: SandboxServer) -> None:
    make_table(client)
    control(sandbox, "config", {"running_polls": 3})
    started = sql(client, MERGE, policy_hash="never", warehouse_ids='["w"]', sla_seconds=("1", "INT"))
    client.statement_execution.cancel_execution(started.statement_id)
    assert client.statement_execution.get_statement(started.statement_id).status.state == StatementState.CANCELED  # type: ignore[union-attr]
    control(sandbox, "config", {"running_polls": 0})
    assert ok(sql(client, f"SELECT count(*) FROM {TABLE}")).result.data_array == [["0"]]  # type: ignore[union-attr]

    # A statement that outlasts wait_timeout with on_wait_timeout=CANCEL comes back CANCELED.
    control(sandbox, "config", {"running_polls": 1})
    cancelled_at_timeout = client.statement_execution.execute_statement(
        "SELECT 1", WAREHOUSE, wait_timeout="5s", on_wait_timeout=ExecuteStatementRequestOnWaitTimeout.CANCEL
    )
    assert cancelled_at_timeout.status.state == StatementState.CANCELED  # type: ignore[union-attr]


def test_unknown_statement_is_a_404_and_bad_requests_are_400(client: WorkspaceClient) -> None:
    with pytest.raises(NotFound):
        client.statement_execution.get_statement("01ef0000-0000-0000-0000-000000000000")
    with pytest.raises(BadRequest, match="wait_timeout"):
        client.statement_execution.execute_statement("SELECT 1", WAREHOUSE, wait_timeout="3s")


def test_injected_fault_fails_the_matching_statement_only(client: WorkspaceClient, sandbox: SandboxServer) -> None:
    make_table(client)
    control(
        sandbox,
        "faults",
        {
            "statement_contains": "MERGE",
            "parameter": {"name": "sla_seconds", "value": "666"},
            "message": "[DELTA_CONCURRENT_APPEND] disk quota exceeded",
            "times": 1,
        },
    )
    failed = sql(client, MERGE, policy_hash="a", warehouse_ids='["w"]', sla_seconds=("666", "INT"))
    assert failed.status.state == StatementState.FAILED  # type: ignore[union-attr]
    assert failed.status.error.message == "[DELTA_CONCURRENT_APPEND] disk quota exceeded"  # type: ignore[union-attr]
    ok(sql(client, MERGE, policy_hash="a", warehouse_ids='["w"]', sla_seconds=("666", "INT")))  # used up
    log = control(sandbox, "statements", method="GET")["statements"]
    assert [s["state"] for s in log[-2:]] == ["FAILED", "SUCCEEDED"]


def test_table_comment_kept_and_state_survives_a_restart(tmp_path) -> None:
    state = tmp_path / "sandbox.db"
    with SandboxServer(state) as first:
        make_table(WorkspaceClient(host=first.url, token="dapi-test"))
        ok(
            sql(
                WorkspaceClient(host=first.url, token="dapi-test"),
                MERGE,
                policy_hash="p",
                warehouse_ids='["w"]',
                sla_seconds=("9", "INT"),
            )
        )
    assert (tmp_path / "sandbox.duckdb").exists()
    with SandboxServer(state) as second:
        client = WorkspaceClient(host=second.url, token="dapi-test")
        assert ok(sql(client, f"SELECT policy_hash, sla_seconds FROM {TABLE}")).result.data_array == [["p", "9"]]  # type: ignore[union-attr]
        comment = ok(sql(client, "SELECT comment FROM duckdb_tables() WHERE table_name = 'query_sla_policies'"))
        assert comment.result.data_array == [["Managed by reconciler"]]  # type: ignore[union-attr]
