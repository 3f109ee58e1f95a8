"""Progress of an apply while it runs: a line per operation as it starts and ends, and
heartbeats while something takes long (an operation, `--wait`, a wait for the target's lock).

Why: real monitors take 15-20 minutes to become ready, and a CI job that prints nothing for 10
minutes is killed as hung. So the applier reports *events* to an `ApplyObserver` and the
observer decides how to show them: `LineReporter` writes plain lines (CI logs, pipes) and a
"still waiting for ..." line every `heartbeat` seconds for whatever is in flight;
`LiveReporter` draws a live rich display on a terminal. Operations may run concurrently and
finish out of order, so every observer is thread-safe and keys what is in flight by its label.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rich.live import Live
    from rich.table import Table

    from reconciler.plan.model import Migration, Operation

DEFAULT_HEARTBEAT_SECONDS = 15.0
HEARTBEAT_ENV = "RECONCILER_HEARTBEAT"


class StepResult(Protocol):
    """What `finished` gets: an `OpResult` or a `MigrationResult` (reconciler.apply.applier)."""

    @property
    def status(self) -> object: ...

    @property
    def error(self) -> str | None: ...


class ApplyObserver:
    """The events of an apply, in the order they happen for each step. The base class ignores
    them all; implementations must be thread-safe (operations may run concurrently)."""

    def started(self, op: Operation | Migration) -> None:
        """An operation (or schema migration) begins."""

    def finished(self, op: Operation | Migration, result: StepResult, duration: float) -> None:
        """It ended after `duration` seconds, succeeded or failed (result.status, result.error)."""

    def waiting(self, subject: str, state: str, elapsed: float, deadline: float) -> None:
        """`subject` (a monitor's table, the target's lock) is not ready yet: it is in `state`,
        `elapsed` seconds into a wait of at most `deadline` seconds. Called on every look."""

    def ready(self, subject: str, state: str) -> None:
        """The wait for `subject` is over (`state` says how, e.g. "ACTIVE, metric tables ready")."""

    def pause(self) -> None:
        """Stop drawing (a prompt follows); the next event draws again."""

    def close(self) -> None:
        """The apply is over: stop any display and background thread."""


class WaitProgress:
    """What a provider's `wait_ready` reports to: each look's `state` of an object not ready yet,
    and `ready` once it is; elapsed time and deadline are added here, so providers only say
    what they see."""

    def __init__(self, observer: ApplyObserver, timeout: float) -> None:
        self._observer = observer
        self._timeout = timeout
        self._start = time.monotonic()

    def state(self, subject: str, state: str) -> None:
        self._observer.waiting(subject, state, time.monotonic() - self._start, self._timeout)

    def ready(self, subject: str, state: str) -> None:
        self._observer.ready(subject, state)


def step_label(op: Operation | Migration) -> str:
    """`create QualityMonitor/orders`, or `migrate SlaPolicy/...` for a schema migration."""
    action = getattr(op, "action", None)
    return f"{action.value} {op.address}" if action is not None else f"migrate {op.address}"


def duration_text(seconds: float) -> str:
    """1.2s, 45s, 3m10s, 30m, 1h05m: short enough for a log line, exact enough to compare."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole}s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if secs else f"{minutes}m"


def _outcome(result: StepResult) -> tuple[bool, str]:
    ok = str(getattr(result.status, "value", result.status)) == "succeeded"
    return ok, "ok" if ok else "FAILED"


def heartbeat_seconds(value: float | None = None) -> float:
    """The heartbeat interval: `value` (--heartbeat), else $RECONCILER_HEARTBEAT, else 15 s."""
    if value is not None:
        return value
    env = os.environ.get(HEARTBEAT_ENV)
    if env:
        try:
            seconds = float(env)
        except ValueError:
            raise ValueError(f"{HEARTBEAT_ENV}={env!r} is not a number of seconds") from None
        if seconds > 0:
            return seconds
    return DEFAULT_HEARTBEAT_SECONDS


@dataclass
class _InFlight:
    """Something the reporter has seen start and not yet end."""

    text: str  # what is in flight: "create QualityMonitor/orders", "main.sales.orders"
    state: str  # "running", or the waited-for object's last state
    since: float  # monotonic time it started
    deadline: float | None = None  # seconds a wait lasts at most
    said_at: float = 0.0  # monotonic time of the last line about it


class LineReporter(ApplyObserver):
    """Plain lines to `out`, one per event, and heartbeats for what is in flight. One lock
    around every write: lines of concurrent operations never interleave mid-line."""

    def __init__(self, out: Callable[[str], None], heartbeat: float = DEFAULT_HEARTBEAT_SECONDS) -> None:
        self._out = out
        self._heartbeat = heartbeat
        self._lock = threading.RLock()
        self._flight: dict[str, _InFlight] = {}
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    # -- events ------------------------------------------------------------------------------

    def started(self, op: Operation | Migration) -> None:
        label = step_label(op)
        with self._lock:
            now = time.monotonic()
            self._flight[label] = _InFlight(label, "running", now, said_at=now)
            self._say(f"{label}: started")
            self._ensure_beat()

    def finished(self, op: Operation | Migration, result: StepResult, duration: float) -> None:
        label = step_label(op)
        _, word = _outcome(result)
        error = f": {result.error}" if result.error else ""
        with self._lock:
            self._flight.pop(label, None)
            self._say(f"{label}: {word} after {duration_text(duration)}{error}")

    def waiting(self, subject: str, state: str, elapsed: float, deadline: float) -> None:
        with self._lock:
            now = time.monotonic()
            current = self._flight.get(subject)
            if current is not None and current.state == state:
                return  # unchanged: the heartbeat says it is still so
            self._flight[subject] = _InFlight(subject, state, now - elapsed, deadline, said_at=now)
            self._say(f"waiting: {subject}: {state}")
            self._ensure_beat()

    def ready(self, subject: str, state: str) -> None:
        with self._lock:
            self._flight.pop(subject, None)
            self._say(f"waiting: {subject}: {state}")

    def close(self) -> None:
        self._stop.set()
        beat = self._beat
        if beat is not None and beat is not threading.current_thread():
            beat.join(timeout=5)

    # -- output ------------------------------------------------------------------------------

    def _say(self, line: str) -> None:
        try:
            self._out(line)
        except (OSError, ValueError):  # a closed stream must not fail the apply
            pass

    def _ensure_beat(self) -> None:
        if self._beat is None and self._heartbeat > 0:
            self._beat = threading.Thread(target=self._beats, name="apply-heartbeat", daemon=True)
            self._beat.start()

    def _beats(self) -> None:
        tick = min(max(self._heartbeat / 4, 0.05), 1.0)
        while not self._stop.wait(tick):
            with self._lock:
                now = time.monotonic()
                for item in list(self._flight.values()):
                    if now - item.said_at >= self._heartbeat:
                        item.said_at = now
                        self._say(heartbeat_line(item, now))


def heartbeat_line(item: _InFlight, now: float) -> str:
    """ "still waiting for main.sales.orders: PENDING, 3m10s elapsed of 30m" (or "still
    running: create QualityMonitor/orders, 45s elapsed" for an operation)."""
    elapsed = duration_text(now - item.since)
    if item.deadline is None:
        return f"still running: {item.text}, {elapsed} elapsed"
    return f"still waiting for {item.text}: {item.state}, {elapsed} elapsed of {duration_text(item.deadline)}"


class LiveReporter(ApplyObserver):
    """On a terminal: finished steps printed as lines, what is in flight drawn below them as a
    live list with spinners and elapsed times (rich), so nothing needs a heartbeat line."""

    def __init__(self, stream: IO[str], color: bool | None = None) -> None:
        from rich.console import Console

        self._console = Console(file=stream, no_color=color is False, highlight=False)
        self._lock = threading.RLock()
        self._flight: dict[str, _InFlight] = {}
        self._live: Live | None = None

    def started(self, op: Operation | Migration) -> None:
        label = step_label(op)
        with self._lock:
            self._flight[label] = _InFlight(label, "running", time.monotonic())
            self._refresh()

    def finished(self, op: Operation | Migration, result: StepResult, duration: float) -> None:
        label = step_label(op)
        ok, word = _outcome(result)
        error = f": {result.error}" if result.error else ""
        style = "green" if ok else "bold red"
        with self._lock:
            self._flight.pop(label, None)
            self._print(f"[{style}]{word}[/] {_escape(label)} [dim]({duration_text(duration)})[/]{_escape(error)}")
            self._refresh()

    def waiting(self, subject: str, state: str, elapsed: float, deadline: float) -> None:
        with self._lock:
            current = self._flight.get(subject)
            if current is None or current.state != state:
                self._print(f"[dim]waiting:[/] {_escape(subject)}: {_escape(state)}")
            since = time.monotonic() - elapsed if current is None else current.since
            self._flight[subject] = _InFlight(subject, state, since, deadline)
            self._refresh()

    def ready(self, subject: str, state: str) -> None:
        with self._lock:
            self._flight.pop(subject, None)
            self._print(f"[green]ready[/] {_escape(subject)}: {_escape(state)}")
            self._refresh()

    def pause(self) -> None:
        with self._lock:
            self._stop_live()

    def close(self) -> None:
        with self._lock:
            self._flight.clear()
            self._stop_live()

    def _print(self, markup: str) -> None:
        (self._live.console if self._live is not None else self._console).print(markup)

    def _stop_live(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()

    def _refresh(self) -> None:
        from rich.live import Live

        if not self._flight:
            self._stop_live()
            return
        if self._live is None:
            live = Live(_InFlightView(self), console=self._console, transient=True, refresh_per_second=4)
            live.start()
            self._live = live

    def snapshot(self) -> list[_InFlight]:
        with self._lock:
            return list(self._flight.values())


class _InFlightView:
    """The live region: one spinner line per step or wait in flight, redrawn by rich."""

    def __init__(self, reporter: LiveReporter) -> None:
        self._reporter = reporter
        self._started = time.monotonic()

    def __rich__(self) -> Table:
        from rich.spinner import Spinner
        from rich.table import Table

        table = Table.grid(padding=(0, 1))
        now = time.monotonic()
        for item in self._reporter.snapshot():
            elapsed = duration_text(now - item.since)
            if item.deadline is None:
                text = f"{item.text} [dim]{elapsed}[/]"
            else:
                text = f"{item.text}: {item.state} [dim]{elapsed} of {duration_text(item.deadline)}[/]"
            table.add_row(Spinner("dots"), text)
        return table


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def reporter_for(
    stream: IO[str], heartbeat: float | None = None, color: bool | None = None, live: bool | None = None
) -> ApplyObserver:
    """A live display when `stream` is a terminal (or `live` says so), plain lines otherwise."""
    interval = heartbeat_seconds(heartbeat)
    is_tty = bool(getattr(stream, "isatty", lambda: False)())
    if live if live is not None else is_tty and os.environ.get("TERM") != "dumb":
        return LiveReporter(stream, color)

    def write(line: str) -> None:
        stream.write(line + "\n")
        stream.flush()

    return LineReporter(write, interval)


__all__ = [
    "DEFAULT_HEARTBEAT_SECONDS",
    "HEARTBEAT_ENV",
    "ApplyObserver",
    "LineReporter",
    "LiveReporter",
    "WaitProgress",
    "duration_text",
    "heartbeat_seconds",
    "reporter_for",
    "step_label",
]
