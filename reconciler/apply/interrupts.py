"""SIGINT / SIGTERM during an apply: stop starting operations, finish the one running, report.

Why not let the signal kill the run: a write cut off mid-call leaves the live system in a state
nobody is told about, and the report — which operations ran, which failed, which never started —
is exactly what the person who pressed Ctrl-C (or the CI runner that sent SIGTERM on a timeout)
needs. Like Terraform, the first signal asks the apply to stop gracefully (the operation in
flight completes, bounded by its request timeouts and retries); a second one stops at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interrupts:
    """The signals received while `installed()` is active."""

    def __init__(self) -> None:
        self.received: str | None = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            # The second signal: the person means it. Stop now.
            raise KeyboardInterrupt(signal.Signals(signum).name)
        self.received = signal.Signals(signum).name

    @contextmanager
    def installed(self) -> Iterator[Interrupts]:
        """Catch SIGINT/SIGTERM for the block (only the main thread can install handlers; in
        another thread signals keep their default behaviour)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {sig: signal.getsignal(sig) for sig in HANDLED}
        for sig in HANDLED:
            signal.signal(sig, self._handle)
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
