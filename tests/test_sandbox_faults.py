"""The sandbox's fault injector: latency, seeded random faults, lost answers, targeted faults and
the request log, seen through plain HTTP and the real Databricks client."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config
from databricks.sdk.errors import InternalError

from reconciler.sandbox import SandboxServer, SandboxSettings
from reconciler.sandbox.faults import FaultSettings

FOLDERS = "/api/folders"


def _server(tmp_path: Path, **faults: object) -> SandboxServer:
    return SandboxServer(tmp_path / "s.db", SandboxSettings(faults=FaultSettings(**faults)))  # type: ignore[arg-type]


def _statuses(url: str, n: int) -> list[int]:
    return [requests.get(url + FOLDERS, timeout=5).status_code for _ in range(n)]


def test_seeded_fault_draws_repeat_and_answer_429_with_retry_after(tmp_path: Path) -> None:
    with _server(tmp_path, fault_rate=0.3, fault_seed=7) as one:
        first = _statuses(one.url, 40)
    with _server(tmp_path / "b", fault_rate=0.3, fault_seed=7) as two:
        second = _statuses(two.url, 40)
    assert first == second
    assert {500, 503, 429} & set(first) and 200 in first
    with _server(tmp_path / "c", fault_rate=1.0, fault_statuses=(429,), retry_after_seconds=3) as srv:
        answer = requests.get(srv.url + FOLDERS, timeout=5)
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "3"
    assert answer.json() == {"message": "injected fault"}


def test_after_mode_applies_the_write_and_loses_the_answer(tmp_path: Path) -> None:
    with _server(tmp_path) as srv:
        requests.post(
            srv.url + "/sandbox/faults", json={"method": "POST", "path": "^/api/folders$", "mode": "after"}, timeout=5
        )
        lost = requests.post(srv.url + FOLDERS, json={"uid": "ops", "title": "Ops"}, timeout=5)
        assert lost.status_code == 500
        # The folder was created all the same: a retry would now meet "already exists".
        assert requests.get(srv.url + "/api/folders/ops", timeout=5).status_code == 200
        requests.post(srv.url + "/sandbox/faults", json={"path": "^/api/folders/x$", "status": 503}, timeout=5)
        assert requests.get(srv.url + "/api/folders/x", timeout=5).status_code == 503
        assert requests.get(srv.url + "/api/folders/x", timeout=5).status_code == 404  # times: 1


def test_request_log_counts_api_calls_only(tmp_path: Path) -> None:
    with _server(tmp_path) as srv:
        _statuses(srv.url, 3)
        requests.get(srv.url + "/sandbox/health", timeout=5)
        assert srv.request_counts() == {"GET /api/folders": 3}
        listed = requests.get(srv.url + "/sandbox/requests", timeout=5).json()
        assert listed["requests"] == {"GET /api/folders": 3}
        requests.delete(srv.url + "/sandbox/requests", timeout=5)
        assert srv.request_counts() == {}


def test_databricks_paths_get_databricks_error_bodies_through_the_sdk(tmp_path: Path) -> None:
    with _server(tmp_path) as srv:
        requests.post(
            srv.url + "/sandbox/faults", json={"path": "/api/2.1/unity-catalog/tables/", "times": 50}, timeout=5
        )
        w = WorkspaceClient(config=Config(host=srv.url, token="t", retry_timeout_seconds=2))
        with pytest.raises(InternalError, match="injected fault"):
            w.tables.get("main.sales.orders")


def test_latency_is_added_to_every_api_request(tmp_path: Path) -> None:
    with _server(tmp_path, latency_ms=60) as srv:
        start = time.perf_counter()
        _statuses(srv.url, 3)
        assert time.perf_counter() - start >= 0.18


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="fault_rate"):
        FaultSettings(fault_rate=2)
    with pytest.raises(ValueError, match="fault_mode"):
        FaultSettings(fault_mode="sometimes")
