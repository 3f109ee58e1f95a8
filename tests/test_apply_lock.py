"""One apply at a time per target: the lock lives on the live side, names its holder, expires
with its lease, and can be removed with force-unlock."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from helpers import Project, run
from sqlalchemy import create_engine

from reconciler.apply.lock import LockBusy, LockStore, SqlLockStore, WorkspaceLockStore, new_lock, target_lock
from reconciler.sandbox import SandboxServer

POLICY = """
apiVersion: reconciler/v1
kind: SlaPolicy
metadata: {name: etl}
spec: {warehouse_ids: [wh-1], sla_seconds: 600, policy_mode: ALL}
"""


def _sql_store(tmp_path: Path) -> SqlLockStore:
    return SqlLockStore(create_engine(f"sqlite:///{tmp_path / 'locks.db'}"), "prod", "test")


def _workspace_store(server: SandboxServer) -> WorkspaceLockStore:
    client = WorkspaceClient(host=server.url, token="t")
    return WorkspaceLockStore(client, "/Shared/.reconciler/test/prod/apply.lock")


@pytest.fixture(params=["sql", "workspace"])
def store(request: pytest.FixtureRequest, tmp_path: Path, sandbox: SandboxServer) -> LockStore:
    return _sql_store(tmp_path) if request.param == "sql" else _workspace_store(sandbox)


def test_one_holder_at_a_time_and_an_expired_lease_is_taken_over(store: LockStore) -> None:
    first = new_lock("prod", 60)
    assert store.try_acquire(first) is None
    second = new_lock("prod", 60)
    holder = store.try_acquire(second)
    assert holder is not None and holder.id == first.id
    assert store.current() == first
    # The first holder dies: its lease runs out and the next apply takes over.
    assert store.renew(replace(first, expires_at=time.time() - 1))
    assert store.try_acquire(second) is None
    assert store.current() == second
    assert not store.renew(first)  # no longer ours
    assert store.release(first.id) is None  # removing someone else's lock does nothing
    assert store.release(second.id) == second
    assert store.current() is None


def test_a_busy_lock_waits_then_fails_naming_the_holder_and_the_unlock_command(tmp_path: Path) -> None:
    store = _sql_store(tmp_path)
    waited: list[str] = []
    with target_lock(store, "prod", 0, waited.append) as held:
        start = time.monotonic()
        with pytest.raises(LockBusy) as refused, target_lock(store, "prod", 0.3, waited.append, poll_seconds=0.05):
            pass
        assert time.monotonic() - start >= 0.3
        message = str(refused.value)
        assert held.id in message and f"reconciler force-unlock {held.id}" in message
        assert f"pid {os.getpid()}" in message
        assert waited and waited[0].id == held.id  # told once that it waits
    assert store.current() is None  # released at the end of the block


def test_the_heartbeat_keeps_a_long_apply_locked(tmp_path: Path) -> None:
    store = _sql_store(tmp_path)
    with target_lock(store, "prod", 0, lambda _: None, lease_seconds=0.3) as held:
        time.sleep(0.8)  # past the first lease: only renewals keep it
        current = store.current()
        assert current is not None and current.id == held.id and not current.expired


def _project(project: Project) -> Project:
    project.write("policies.yaml", POLICY)
    return project


def test_apply_refuses_while_another_holds_the_lock_and_force_unlock_frees_it(project: Project) -> None:
    _project(project)
    assert project.cli("plan").exit_code == 0
    engine = create_engine(f"sqlite:///{project.root / '.reconciler' / 'local' / 'policies.db'}")
    store = SqlLockStore(engine, "local", "test")
    other = replace(new_lock("local", 600), user="someone-else", host="ci-runner-7", pid=4242)
    assert store.try_acquire(other) is None
    refused = project.cli("apply", "--auto-approve")
    assert refused.exit_code == 1
    assert "someone-else@ci-runner-7 (pid 4242)" in refused.output
    assert f"reconciler force-unlock {other.id}" in refused.output
    wrong = run("force-unlock", "nope", project.root)
    assert wrong.exit_code == 1 and other.id in wrong.output
    freed = run("force-unlock", other.id, project.root)
    assert freed.exit_code == 0, freed.output
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert store.current() is None


def test_two_applies_at_once_one_waits_and_both_succeed(project: Project) -> None:
    docs = "---\n".join(
        f"apiVersion: reconciler/v1\nkind: SlaPolicy\nmetadata: {{name: p{i}}}\n"
        f"spec: {{warehouse_ids: [wh-{i}], sla_seconds: {100 + i}, policy_mode: ALL}}\n"
        for i in range(30)
    )
    project.write("policies.yaml", docs)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    command = [sys.executable, "-m", "reconciler", "apply", str(project.root), "--auto-approve", "--lock-timeout", "60"]
    results: list[subprocess.CompletedProcess[str]] = []

    def run() -> None:
        results.append(subprocess.run(command, env=env, capture_output=True, text=True, timeout=120))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.returncode for r in results] == [0, 0], [r.stdout + r.stderr for r in results]
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_a_lock_whose_create_answer_was_lost_is_still_ours(sandbox: SandboxServer) -> None:
    import requests

    store = _workspace_store(sandbox)
    requests.post(
        sandbox.url + "/sandbox/faults",
        json={"method": "POST", "path": "^/api/2.0/workspace/import$", "status": 500, "mode": "after"},
        timeout=5,
    ).raise_for_status()
    mine = new_lock("prod", 60)
    # The upload lands, its answer is lost: the SDK call fails; a second try meets our own lock.
    with pytest.raises(Exception):  # noqa: B017 - the SDK's 500, whichever class it maps to
        store.try_acquire(mine)
    assert store.try_acquire(mine) is None
    assert store.current() == mine
