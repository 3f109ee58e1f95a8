"""Apply is never silent: a line per operation as it starts and ends (with its duration and
ok / FAILED), and heartbeats with elapsed time and deadline while `--wait` or a lock wait lasts.
Off a terminal (CI logs: CliRunner, a pipe) these are plain lines; with `--format json` they go
to stderr and stdout stays one JSON document."""

from __future__ import annotations

import io
import json
import re
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import Project, inject_fault
from sqlalchemy import create_engine
from test_quality_monitors import Monitors, monitor_doc

from reconciler.apply.applier import OpResult, OpStatus
from reconciler.apply.lock import SqlLockStore, new_lock
from reconciler.apply.progress import LineReporter, LiveReporter, duration_text, reporter_for
from reconciler.plan.model import Action, Operation
from reconciler.sandbox import SandboxServer, SandboxSettings

POLICIES = "---\n".join(
    f"apiVersion: reconciler/v1\nkind: SlaPolicy\nmetadata: {{name: p{i}}}\n"
    f"spec: {{warehouse_ids: [wh-{i}], sla_seconds: {100 + i}, policy_mode: ALL}}\n"
    for i in range(3)
)
ENDED = re.compile(r"^create SlaPolicy/(p\d): ok after \d+\.\ds$", re.M)


def failing_monitor_create(project: Project, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Monitors:
    """A workspace project of one monitor whose create the workspace refuses (400, every try)."""
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-test")
    mon = Monitors(project, sandbox)
    mon.write(monitor_doc())
    inject_fault(
        sandbox, method="POST", path="/api/2.1/unity-catalog/tables/main.sales.orders/monitor$", status=400, times=5
    )
    return mon


def test_each_operation_prints_a_line_as_it_starts_and_as_it_ends_with_its_duration(project: Project) -> None:
    project.write("policies.yaml", POLICIES)
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for name in ("p0", "p1", "p2"):
        started = lines.index(f"create SlaPolicy/{name}: started")
        ended = next(i for i, line in enumerate(lines) if line.startswith(f"create SlaPolicy/{name}: ok after "))
        assert started < ended
    assert sorted(ENDED.findall(result.output)) == ["p0", "p1", "p2"]
    assert "Apply complete: 3 operation(s) succeeded." in result.output


def test_with_format_json_progress_goes_to_stderr_and_stdout_stays_one_document(project: Project) -> None:
    project.write("policies.yaml", POLICIES)
    result = project.cli("apply", "--auto-approve", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["apply"]["ok"] is True
    assert sorted(ENDED.findall(result.stderr)) == ["p0", "p1", "p2"]


def test_a_failed_operation_says_failed_with_its_duration_and_error(
    project: Project, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = failing_monitor_create(project, sandbox, monkeypatch).cli("apply", "--auto-approve")
    assert result.exit_code == 1
    assert re.search(r"^create QualityMonitor/orders: FAILED after \d+\.\ds: \w+", result.output, re.M), result.output


def test_wait_prints_heartbeats_with_elapsed_time_and_deadline(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 3 s PENDING phase and a 1 s heartbeat: at least one "still waiting" line, whatever the load.
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-test")
    with SandboxServer(tmp_path / "slow.db", SandboxSettings(monitor_active_delay_seconds=3.0)) as server:
        mon = Monitors(project, server)
        mon.write(monitor_doc())
        result = mon.cli("apply", "--auto-approve", "--wait", "--wait-timeout", "600", "--heartbeat", "1")
    assert result.exit_code == 0, result.output
    beats = re.findall(
        r"^still waiting for main\.sales\.orders: MONITOR_STATUS_PENDING, (\d+\.\d)s elapsed of 10m$",
        result.output,
        re.M,
    )
    assert beats, result.output
    assert all(0.9 <= float(b) < 10 for b in beats)
    assert "waiting: main.sales.orders: MONITOR_STATUS_PENDING" in result.output  # the state, once
    assert result.output.count("waiting: main.sales.orders: MONITOR_STATUS_PENDING\n") == 1
    assert "main.sales.orders: ACTIVE, metric tables ready" in result.output
    lines = result.output.splitlines()
    first_beat = next(i for i, line in enumerate(lines) if line.startswith("still waiting"))
    assert first_beat < next(i for i, line in enumerate(lines) if "ACTIVE, metric tables ready" in line)


def test_the_heartbeat_interval_comes_from_the_environment_too(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-test")
    monkeypatch.setenv("RECONCILER_HEARTBEAT", "1")
    with SandboxServer(tmp_path / "slow.db", SandboxSettings(monitor_active_delay_seconds=2.5)) as server:
        mon = Monitors(project, server)
        mon.write(monitor_doc())
        result = mon.cli("apply", "--auto-approve", "--wait", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["apply"]["wait"] == {"ok": True, "error": None}
    assert "still waiting for main.sales.orders: MONITOR_STATUS_PENDING" in result.stderr
    assert "elapsed of 30m" in result.stderr


def test_a_bad_heartbeat_setting_is_an_error(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_HEARTBEAT", "soon")
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 1
    assert "RECONCILER_HEARTBEAT='soon' is not a number of seconds" in result.output
    monkeypatch.delenv("RECONCILER_HEARTBEAT")
    assert project.cli("apply", "--auto-approve", "--heartbeat", "0").exit_code == 1


def test_a_lock_wait_prints_heartbeats_until_the_lock_is_taken(project: Project) -> None:
    project.write("policies.yaml", POLICIES)
    assert project.cli("plan").exit_code == 0
    store = SqlLockStore(create_engine(f"sqlite:///{project.policy_db}"), "local", "test")
    other = replace(new_lock("local", 2.5), user="someone-else", host="ci-runner-7", pid=4242)
    assert store.try_acquire(other) is None  # its lease runs out in 2.5 s: then apply takes over
    result = project.cli("apply", "--auto-approve", "--lock-timeout", "60", "--heartbeat", "1")
    assert result.exit_code == 0, result.output
    held = f"held by someone-else@ci-runner-7 (lock {other.id})"
    assert f"waiting: the lock of target 'local': {held}" in result.output
    assert re.search(
        rf"^still waiting for the lock of target 'local': {re.escape(held)}, \d+\.\ds elapsed of 1m$",
        result.output,
        re.M,
    ), result.output
    assert re.search(r"^waiting: the lock of target 'local': taken after \d+\.\ds$", result.output, re.M)
    assert sorted(ENDED.findall(result.output)) == ["p0", "p1", "p2"]


# ---- the reporters themselves (pure) ----------------------------------------------------------


def _op(name: str) -> Operation:
    return Operation(Action.CREATE, "SlaPolicy", name, name)


def test_durations_read_like_a_log() -> None:
    assert [duration_text(s) for s in (0.04, 1.25, 45, 190, 1800, 3900)] == [
        "0.0s",
        "1.2s",
        "45s",
        "3m10s",
        "30m",
        "1h05m",
    ]


def test_concurrent_operations_finishing_out_of_order_give_whole_lines() -> None:
    lines: list[str] = []
    reporter = LineReporter(lines.append, heartbeat=0.2)
    ops = [_op(f"p{i}") for i in range(40)]

    together = threading.Barrier(len(ops))

    def run(op: Operation, delay: float) -> None:
        reporter.started(op)
        together.wait()  # every sleep starts at once, however late a loaded machine starts a thread
        time.sleep(delay)
        reporter.finished(op, OpResult(op, OpStatus.SUCCEEDED), delay)

    # The last one started is done at once, 0.1 s before any other; the first lasts 0.3 s.
    delays = [0.1 + (len(ops) - 1 - i) * 0.005 for i in range(len(ops) - 1)] + [0.0]
    threads = [threading.Thread(target=run, args=(op, delay)) for op, delay in zip(ops, delays, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reporter.close()
    ended = [line for line in lines if ": ok after " in line]
    assert len(ended) == 40 and ended[0].startswith("create SlaPolicy/p39: ")  # the quickest first
    assert {line.split(":")[0] for line in lines if line.endswith(": started")} == {
        f"create SlaPolicy/p{i}" for i in range(40)
    }
    assert any(line.startswith("still running: create SlaPolicy/p0, ") for line in lines)  # in flight past 0.2 s
    count = len(lines)
    time.sleep(0.5)
    assert len(lines) == count  # nothing in flight, reporter closed: no more heartbeats


def test_a_failed_step_and_a_wait_reported_as_lines() -> None:
    lines: list[str] = []
    reporter = LineReporter(lines.append, heartbeat=60)
    op = _op("p0")
    reporter.started(op)
    reporter.finished(op, OpResult(op, OpStatus.FAILED, "HTTPError: 500"), 12.4)
    reporter.waiting("main.sales.orders", "PENDING", 0.0, 1800)
    reporter.waiting("main.sales.orders", "PENDING", 5.0, 1800)  # unchanged: no second line
    reporter.ready("main.sales.orders", "ACTIVE")
    reporter.close()
    assert lines == [
        "create SlaPolicy/p0: started",
        "create SlaPolicy/p0: FAILED after 12s: HTTPError: 500",
        "waiting: main.sales.orders: PENDING",
        "waiting: main.sales.orders: ACTIVE",
    ]


def test_a_terminal_gets_a_live_display_and_a_pipe_plain_lines() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(reporter_for(Tty()), LiveReporter)
    assert isinstance(reporter_for(io.StringIO()), LineReporter)
    out = Tty()
    live = LiveReporter(out, color=False)
    op = _op("p0")
    live.started(op)
    live.waiting("main.sales.orders", "PENDING", 0.0, 1800)
    live.finished(op, OpResult(op, OpStatus.SUCCEEDED), 0.5)
    live.ready("main.sales.orders", "ACTIVE")
    live.close()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    assert "ok create SlaPolicy/p0 (0.5s)" in text
    assert "ready main.sales.orders: ACTIVE" in text
