"""A monitor reconciler creates is never left unrecognised: the ledger records the intent before
the create, so a lost answer, a failed ledger write or a kill between the two converges on the
next run without `reconciler import`."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from helpers import Project, SandboxTarget, inject_fault, ledger_entries

from reconciler.sandbox import SandboxServer

TOKEN = "dapi-test"
ORDERS = "main.sales.orders"
MONITOR_PATH = f"/api/2.1/unity-catalog/tables/{ORDERS}/monitor"
LEDGER = "/Shared/.reconciler/test/ws/ledger.json"
MONITOR = f"""
apiVersion: reconciler/v1
kind: QualityMonitor
metadata: {{name: orders}}
spec:
  table_name: {ORDERS}
  output_schema_name: main.monitoring
  assets_dir: /Shared/monitors/orders
  snapshot: {{}}
"""


@pytest.fixture
def ws(sandbox_target: Callable[..., SandboxTarget]) -> tuple[Project, SandboxServer]:
    target = sandbox_target(retries="{max_attempts: 3, initial_backoff_seconds: 0.01, max_backoff_seconds: 0.02}")
    target.project.write("monitors.yaml", MONITOR)
    return target.project, target.server


def _ledger(server: SandboxServer) -> dict[str, dict[str, object]]:
    return ledger_entries(server, path=LEDGER, token=TOKEN)


def _monitor_exists(server: SandboxServer) -> bool:
    answer = requests.get(server.url + MONITOR_PATH, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    return answer.status_code == 200


def test_a_lost_create_answer_is_reconciled_in_the_same_run(ws: tuple[Project, SandboxServer]) -> None:
    project, server = ws
    # The service creates the monitor, the answer is lost; the retry meets "already exists".
    inject_fault(server, method="POST", path=f"^{MONITOR_PATH}$", status=500, mode="after")
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert _ledger(server)[ORDERS].get("pending") is None
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_a_failed_ledger_confirmation_converges_without_import(ws: tuple[Project, SandboxServer]) -> None:
    project, server = ws
    # The intent write goes through (the ledger's write lock: refused for want of its folder, then
    # created; then the ledger); the confirmation after the create keeps failing.
    inject_fault(server, method="POST", path="^/api/2.0/workspace/import$", status=400, times=10, skip=3)
    failed = project.cli("apply", "--auto-approve")
    assert failed.exit_code == 1
    assert "Re-run apply" in failed.output and "reconciler import" not in failed.output
    assert _monitor_exists(server) and _ledger(server)[ORDERS]["pending"] is True
    requests.delete(server.url + "/sandbox/faults", timeout=5)
    plan = project.cli("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output  # ours, and as specified: nothing to do
    assert "does not manage" not in plan.output
    assert project.cli("apply", "--auto-approve").exit_code == 0


def test_a_failed_intent_write_creates_nothing(ws: tuple[Project, SandboxServer]) -> None:
    project, server = ws
    inject_fault(server, method="POST", path="^/api/2.0/workspace/import$", status=400, times=10)
    failed = project.cli("apply", "--auto-approve")
    assert failed.exit_code == 1
    assert "Nothing was created" in failed.output
    assert not _monitor_exists(server)
    requests.delete(server.url + "/sandbox/faults", timeout=5)
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert _monitor_exists(server) and ORDERS in _ledger(server)
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_a_create_refused_outright_leaves_no_pending_entry(ws: tuple[Project, SandboxServer]) -> None:
    project, server = ws
    inject_fault(server, method="POST", path=f"^{MONITOR_PATH}$", status=400, message="bad config")
    failed = project.cli("apply", "--auto-approve")
    assert failed.exit_code == 1 and "bad config" in failed.output
    assert ORDERS not in _ledger(server)


def test_one_apply_records_every_intent_first_and_keeps_only_what_was_created(
    sandbox_target: Callable[..., SandboxTarget],
) -> None:
    # The ledger is written twice per apply (#15): every create's intent before the first, the
    # outcome after the last. A refused create and the creates never started leave no entry.
    tables = [f"main.batch.t{i}" for i in range(4)]
    target = sandbox_target(retries=None, tables=tables)
    project, server = target.project, target.server
    project.write("monitors.yaml", "---\n".join(MONITOR.replace(ORDERS, t).replace("orders", t[-2:]) for t in tables))
    inject_fault(server, method="POST", path=f"^/api/2.1/unity-catalog/tables/{tables[1]}/monitor$", status=400)
    failed = project.cli("apply", "--auto-approve", "--parallelism", "1")
    assert failed.exit_code == 1
    ledger = _ledger(server)
    assert sorted(ledger) == [tables[0]] and "pending" not in ledger[tables[0]]
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert sorted(_ledger(server)) == tables
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0
