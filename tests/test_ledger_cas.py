"""The monitor ledger is written read-modify-write under its write lock: two applies at once (`--no-lock`, as
after a lock's lease ran out) each creating their own monitors both end recorded, and nothing
is orphaned; writers racing on the ledger through the public API lose no entry."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable

import pytest
import yaml
from databricks.sdk import WorkspaceClient
from helpers import SandboxTarget, ledger_entries

from reconciler.providers.workspace_ledger import WorkspaceLedger
from reconciler.sandbox.faults import FaultSettings

TOKEN = "dapi-test"
PER_APPLY = 4
LEDGER = "/Shared/.reconciler/test/ws/ledger.json"


def _monitor(name: str) -> dict[str, object]:
    return {
        "apiVersion": "reconciler/v1",
        "kind": "QualityMonitor",
        "metadata": {"name": name},
        "spec": {
            "table_name": f"main.cas.{name}",
            "output_schema_name": "main.monitoring",
            "assets_dir": f"/Shared/cas/{name}",
            "snapshot": {},
        },
    }


NAMES = [f"{side}{i}" for side in ("a", "b") for i in range(PER_APPLY)]


@pytest.fixture
def ws(sandbox_target: Callable[..., SandboxTarget]) -> SandboxTarget:
    # Latency makes the two applies' ledger writes interleave, as they do against a real workspace.
    target = sandbox_target(
        databricks="", retries=None, tables=[f"main.cas.{n}" for n in NAMES], faults=FaultSettings(latency_ms=15)
    )
    target.project.write("monitors.yaml", yaml.safe_dump_all([_monitor(n) for n in NAMES], sort_keys=False))
    return target


def test_two_applies_at_once_both_record_their_monitors(ws: SandboxTarget) -> None:
    project, server = ws.project, ws.server
    apply = [sys.executable, "-m", "reconciler", "apply", str(project.root), "--auto-approve", "--no-lock"]
    runs = [
        subprocess.Popen(
            [*apply, "--only", f"QualityMonitor/{side}*"],
            env=ws.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for side in ("a", "b")
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    for run, out in zip(runs, outputs, strict=True):
        assert run.returncode == 0, out
    ledger = ledger_entries(server, path=LEDGER, token=TOKEN)
    assert sorted(ledger) == sorted(f"main.cas.{n}" for n in NAMES)
    assert not [key for key, entry in ledger.items() if entry.get("pending")]
    plan = project.cli("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output  # every monitor ours and as specified


def test_racing_ledger_writers_lose_no_entry(ws: SandboxTarget) -> None:
    server = ws.server
    writers = 8
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(i: int) -> None:
        ledger = WorkspaceLedger(WorkspaceClient(host=server.url, token=TOKEN), LEDGER, "reconciler/test", "ws")
        barrier.wait()
        try:
            for j in range(3):
                ledger.put("QualityMonitor", f"main.cas.t{i}_{j}", {"spec_name": f"t{i}_{j}", "write_only": {}})
            ledger.remove("QualityMonitor", f"main.cas.t{i}_0")
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sorted(ledger_entries(server, path=LEDGER, token=TOKEN)) == sorted(
        f"main.cas.t{i}_{j}" for i in range(writers) for j in (1, 2)
    )
