"""Runs the sandbox on 127.0.0.1 in a background thread (tests, the in-process `local` target)
or in the foreground (`reconciler sandbox serve`)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, make_server

from .app import create_app
from .faults import FaultInjector
from .settings import SandboxSettings


class SandboxServer:
    """The sandbox on a loopback port; port 0 picks a free ephemeral port."""

    def __init__(
        self,
        state_path: str | Path,
        settings: SandboxSettings | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.app = create_app(state_path, settings)
        self.state = self.app.config["SANDBOX_STATE"]
        self.settings = self.app.config["SANDBOX_SETTINGS"]
        # werkzeug logs every request at INFO; keep in-process runs quiet.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # Every request passes the fault injector: latency, faults and the request log.
        self.faults = FaultInjector(self.settings.faults)
        self._server: BaseWSGIServer = make_server(host, port, self.faults.wrap(self.app), threaded=True)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{port}"

    def request_counts(self) -> dict[str, int]:
        """Requests served so far per `METHOD path` (test controls under /sandbox/ excluded)."""
        return self.faults.counts()

    def start(self) -> SandboxServer:
        # A short poll interval: stop() waits for the serving loop to notice, and every CLI run on
        # the embedded target starts and stops the sandbox once.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
