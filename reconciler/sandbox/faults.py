"""Latency, injected faults and a request log, wrapped around every emulator of the sandbox.

Why a WSGI middleware rather than per-emulator hooks: the faults a reconciler must survive are
those of the network and the service front end (a 503 from a load balancer, a 429 from a rate
limiter, an answer lost after the server committed the write), and they hit every API alike. One
wrapper makes them reproducible for the Databricks and the Grafana emulators with the same knobs:

- `latency_ms`: every request waits that long before it is served (a cloud API seen from CI).
- `fault_rate` / `fault_seed`: that share of API requests fails, drawn from a seeded generator so
  a run is reproducible; the status is drawn from `fault_statuses` (429 answers carry
  `Retry-After`).
- `fault_mode`: `before` fails the request without serving it; `after` serves it (the write is
  applied) and then answers the error instead, i.e. a lost response; `mixed` draws either.
- `POST /sandbox/faults` queues targeted faults (`{"method", "path" (regex), "status", "mode",
  "times", "skip", "message"}`; `skip` lets that many matching requests through first) for tests that need one failure at one exact call; `DELETE` clears them.
- `mode: "hold"` is no failure: the matching request waits until `POST /sandbox/faults/release`
  (or `hold_seconds`, 10 by default), then is served. A test holds one write of an apply that way,
  changes the service behind the tool's back (a person editing Grafana while an apply runs), and
  releases it: the edit lands exactly between the apply's read and that write.
- `GET /sandbox/requests` lists the counts of requests served per `METHOD path` and the most
  API requests served at once (`peak_in_flight`, how a test sees a client's parallelism) (test controls
  under `/sandbox/` are neither counted nor faulted); `DELETE` resets them.

Error bodies follow each service's shape: Databricks' `{"error_code", "message"}` for its paths
(`/api/2.x/...`, `/api/data-quality/...`), Grafana's `{"message"}` elsewhere.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

FAULT_MODES = ("before", "after", "mixed")
DEFAULT_FAULT_STATUSES = (500, 503, 429)
_DATABRICKS_PATH = re.compile(r"^/api/(2\.\d|data-quality)/")
_ERROR_CODES = {
    400: "INVALID_PARAMETER_VALUE",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    409: "RESOURCE_ALREADY_EXISTS",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    503: "TEMPORARILY_UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class FaultSettings:
    """The knobs of `reconciler sandbox serve --fault-rate ... --latency-ms ...` and the tests."""

    fault_rate: float = 0.0
    fault_seed: int = 0
    fault_mode: str = "before"
    fault_statuses: tuple[int, ...] = DEFAULT_FAULT_STATUSES
    latency_ms: float = 0.0
    # Seconds a 429 asks the client to wait (kept small so tests stay fast).
    retry_after_seconds: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be between 0 and 1, not {self.fault_rate}")
        if self.fault_mode not in FAULT_MODES:
            raise ValueError(f"fault_mode must be one of {', '.join(FAULT_MODES)}, not {self.fault_mode!r}")


@dataclass
class _Targeted:
    method: str
    path: re.Pattern[str]
    status: int
    mode: str
    times: int
    message: str
    skip: int = 0
    hold_seconds: float = 10.0


@dataclass
class FaultInjector:
    """The middleware; `wrap(app)` returns the WSGI callable to serve."""

    settings: FaultSettings = field(default_factory=FaultSettings)
    requests: Counter[str] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(self.settings.fault_seed)
        self._targeted: list[_Targeted] = []
        # Requests held by a `hold` fault: how many wait now, and how many releases were given.
        self._holds = threading.Condition(self._lock)
        self._holding = 0
        self._releases = 0
        # API requests being served now, and the most at once since the counts were reset.
        self._in_flight = 0
        self.peak_in_flight = 0

    # --- control -------------------------------------------------------------------------
    def add(
        self,
        path: str,
        *,
        method: str = "",
        status: int = 500,
        mode: str = "before",
        times: int = 1,
        message: str = "",
        skip: int = 0,
        hold_seconds: float = 10.0,
    ) -> None:
        """Queue a targeted fault: after letting `skip` matching requests through, the next
        `times` requests matching `method` and the `path` regex fail with `status`, before or
        after being served, or (`hold`) wait for `release()` and are then served."""
        if mode not in ("before", "after", "hold"):
            raise ValueError(f"mode must be before, after or hold, not {mode!r}")
        with self._lock:
            self._targeted.append(
                _Targeted(
                    method.upper(),
                    re.compile(path),
                    int(status),
                    mode,
                    int(times),
                    message or "injected fault",
                    int(skip),
                    float(hold_seconds),
                )
            )

    def wait_held(self, count: int = 1, timeout: float = 30.0) -> bool:
        """Block until `count` requests are held (by `hold` faults); False after `timeout`."""
        with self._holds:
            return self._holds.wait_for(lambda: self._holding >= count, timeout)

    def release(self) -> None:
        """Let every request held now go on to be served."""
        with self._holds:
            self._releases += 1
            self._holds.notify_all()

    def clear(self) -> None:
        with self._lock:
            self._targeted.clear()

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.injected.clear()
            self.peak_in_flight = self._in_flight

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def configure(
        self, *, fault_rate: float | None = None, fault_mode: str | None = None, fault_seed: int | None = None
    ) -> None:
        """Change the random faults of a running sandbox (a test turns them on after its set-up);
        a new seed restarts the draw."""
        with self._lock:
            changed = {
                k: v
                for k, v in (("fault_rate", fault_rate), ("fault_mode", fault_mode), ("fault_seed", fault_seed))
                if v is not None
            }
            self.settings = FaultSettings(**{**self.settings.__dict__, **changed})
            if fault_seed is not None:
                self._random.seed(fault_seed)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self.requests)

    # --- serving -------------------------------------------------------------------------
    def wrap(self, app: WsgiApp) -> WsgiApp:
        def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "")
            method = environ.get("REQUEST_METHOD", "GET").upper()
            if path.startswith("/sandbox/faults") or path.startswith("/sandbox/requests"):
                return self._control(environ, start_response, path, method)
            if path.startswith("/sandbox/"):
                return app(environ, start_response)
            self._enter()
            try:
                return self._serve(app, environ, start_response, path, method)
            finally:
                self._leave()

        return middleware

    def _serve(
        self, app: WsgiApp, environ: dict[str, Any], start_response: Callable[..., Any], path: str, method: str
    ) -> Iterable[bytes]:
        """One API request through latency and faults (counted while it is in flight: the peak
        tells a test how many requests a client had open at once)."""
        if self.settings.latency_ms:
            time.sleep(self.settings.latency_ms / 1000.0)
        fault = self._draw(method, path)
        with self._lock:
            self.requests[f"{method} {path}"] += 1
        if fault is None:
            return app(environ, start_response)
        status, mode, message, hold_seconds = fault
        if mode == "hold":
            self._hold(hold_seconds)
            return app(environ, start_response)
        with self._lock:
            self.injected[f"{mode} {status} {method} {path}"] += 1
        if mode == "after":
            # Serve the request (the write is applied), then lose the answer.
            body = app(environ, lambda *a, **k: lambda data: None)
            try:
                for _ in body:
                    pass
            finally:
                close = getattr(body, "close", None)
                if close:
                    close()
        return self._error(start_response, path, status, message)

    def _draw(self, method: str, path: str) -> tuple[int, str, str, float] | None:
        with self._lock:
            for fault in self._targeted:
                if (not fault.method or fault.method == method) and fault.path.search(path):
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    fault.times -= 1
                    if fault.times <= 0:
                        self._targeted.remove(fault)
                    return fault.status, fault.mode, fault.message, fault.hold_seconds
            if self.settings.fault_rate and self._random.random() < self.settings.fault_rate:
                status = self._random.choice(self.settings.fault_statuses)
                mode = self.settings.fault_mode
                if mode == "mixed":
                    mode = self._random.choice(("before", "after"))
                return status, mode, "injected fault", 0.0
        return None

    def _hold(self, seconds: float) -> None:
        with self._holds:
            self._holding += 1
            releases = self._releases
            self._holds.notify_all()
            self._holds.wait_for(lambda: self._releases != releases, seconds)
            self._holding -= 1

    def _error(self, start_response: Callable[..., Any], path: str, status: int, message: str) -> list[bytes]:
        if _DATABRICKS_PATH.match(path):
            payload: dict[str, Any] = {"error_code": _ERROR_CODES.get(status, "INTERNAL_ERROR"), "message": message}
        else:
            payload = {"message": message}
        body = json.dumps(payload).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        if status == 429:
            headers.append(("Retry-After", str(self.settings.retry_after_seconds)))
        start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
        return [body]

    def _control(
        self, environ: dict[str, Any], start_response: Callable[..., Any], path: str, method: str
    ) -> list[bytes]:
        status = "200 OK"
        payload: dict[str, Any] = {}
        try:
            if path.startswith("/sandbox/requests"):
                if method == "DELETE":
                    self.reset_counts()
                else:
                    payload = {
                        "requests": self.counts(),
                        "injected": dict(self.injected),
                        "peak_in_flight": self.peak_in_flight,
                    }
            elif path.startswith("/sandbox/faults/release") and method == "POST":
                self.release()
            elif method == "DELETE":
                self.clear()
            elif method == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                spec = json.loads(environ["wsgi.input"].read(length) or b"{}")
                self.add(
                    str(spec.get("path", "")),
                    method=str(spec.get("method", "")),
                    status=int(spec.get("status", 500)),
                    mode=str(spec.get("mode", "before")),
                    times=int(spec.get("times", 1)),
                    message=str(spec.get("message", "")),
                    skip=int(spec.get("skip", 0)),
                    hold_seconds=float(spec.get("hold_seconds", 10.0)),
                )
            else:
                status = "405 Method Not Allowed"
        except (ValueError, TypeError, re.error) as exc:
            status, payload = "400 Bad Request", {"message": str(exc)}
        body = json.dumps(payload).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
