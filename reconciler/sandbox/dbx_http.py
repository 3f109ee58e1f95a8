"""HTTP conventions every Databricks REST emulator in the sandbox shares.

Why a module of its own: the real SDK turns an error response into an exception class by its
`error_code` and HTTP status (databricks-sdk 0.162.0, `databricks/sdk/errors/platform.py`), so every
emulator must answer errors in exactly the service's body shape, `{"error_code": ..., "message":
...}`, and check the bearer token the same way. Not an emulator itself (not listed in EMULATORS).
"""

from __future__ import annotations

from typing import Any, NoReturn

from flask import Flask, Response, jsonify, request

from .settings import SandboxSettings


class ApiError(Exception):
    """Raised inside a handler; rendered as the service's JSON error body."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


def fail(status: int, error_code: str, message: str) -> NoReturn:
    raise ApiError(status, error_code, message)


def invalid(message: str) -> NoReturn:
    """400 INVALID_PARAMETER_VALUE: the service's answer to a request it can parse but refuses."""
    fail(400, "INVALID_PARAMETER_VALUE", message)


def error_response(exc: ApiError) -> Response:
    response = jsonify({"error_code": exc.error_code, "message": exc.message})
    response.status_code = exc.status
    return response


def install(app: Flask, settings: SandboxSettings, prefixes: tuple[str, ...]) -> None:
    """Register the error renderer (once per app) and a token check for `prefixes`.

    The real workspace answers a request without credentials with 401 and one with a wrong PAT
    with 403 "Invalid access token."; the SDK maps these to `Unauthenticated`/`PermissionDenied`.
    With `settings.token` unset any bearer token is accepted (people trying the sandbox out).
    """
    if not app.config.get("DBX_ERROR_HANDLER"):
        app.register_error_handler(ApiError, error_response)
        app.config["DBX_ERROR_HANDLER"] = True
        _install_faults(app)

    @app.before_request
    def _check_token():  # type: ignore[no-untyped-def]
        if not request.path.startswith(prefixes):
            return None
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return error_response(
                ApiError(
                    401,
                    "UNAUTHENTICATED",
                    "Credential was not sent or was of an unsupported type for this API.",
                )
            )
        if settings.token is not None and header[len("Bearer ") :] != settings.token:
            return error_response(ApiError(403, "PERMISSION_DENIED", "Invalid access token."))
        return None


def json_body() -> dict[str, Any]:
    """The request's JSON object; the service answers malformed JSON with 400 MALFORMED_REQUEST."""
    if not request.data:
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        fail(400, "MALFORMED_REQUEST", "Invalid JSON given in the body of the request - expected a map")
    return body


def _install_faults(app: Flask) -> None:
    """Test control: make the next matching request(s) fail with a given error.

    `POST /sandbox/databricks/faults` with `{"method": "POST", "path": "<regex>", "status": 400,
    "error_code": "...", "message": "...", "times": 1}` queues a fault; `DELETE` clears them.
    Lets tests reproduce failures between two calls (e.g. a replace whose create fails after the
    delete) without mocking the client.
    """
    import re
    import threading

    faults: list[dict[str, Any]] = []
    lock = threading.Lock()

    @app.post("/sandbox/databricks/faults")
    def sandbox_add_fault():  # type: ignore[no-untyped-def]
        fault = json_body()
        fault.setdefault("times", 1)
        fault.setdefault("status", 500)
        fault.setdefault("error_code", "INTERNAL_ERROR")
        fault.setdefault("message", "injected failure")
        with lock:
            faults.append(fault)
        return jsonify({})

    @app.delete("/sandbox/databricks/faults")
    def sandbox_clear_faults():  # type: ignore[no-untyped-def]
        with lock:
            faults.clear()
        return jsonify({})

    @app.before_request
    def _inject_fault():  # type: ignore[no-untyped-def]
        if request.path.startswith("/sandbox/"):
            return None
        with lock:
            for fault in faults:
                if fault.get("method", request.method).upper() == request.method and re.search(
                    fault.get("path", ""), request.path
                ):
                    fault["times"] -= 1
                    if fault["times"] <= 0:
                        faults.remove(fault)
                    return error_response(ApiError(int(fault["status"]), fault["error_code"], fault["message"]))
        return None


def paginate(
    items: list[Any], page_size: int | None, page_token: str | None, default_page_size: int
) -> tuple[list[Any], str | None]:
    """One page of `items` and the token of the next one (None on the last page).

    The Databricks list APIs take a page size (`max_results` in Unity Catalog, `page_size`
    elsewhere) and an opaque `page_token`; Unity Catalog answers everything at once when no
    `max_results` is given and picks its own page size for 0. The token here is the offset,
    base64-encoded so no client is tempted to build one.
    """
    import base64
    import binascii

    start = 0
    if page_token:
        try:
            start = int(base64.urlsafe_b64decode(page_token.encode()).decode().removeprefix("offset:"))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            invalid(f"Invalid page_token '{page_token}'.")
        if start < 0:
            invalid(f"Invalid page_token '{page_token}'.")
    if page_size is None and not page_token:
        return items, None
    if page_size is not None and page_size < 0:
        invalid(f"Invalid page size {page_size}: must not be negative.")
    size = page_size or default_page_size
    page = items[start : start + size]
    end = start + size
    token = base64.urlsafe_b64encode(f"offset:{end}".encode()).decode() if end < len(items) else None
    return page, token


def int_arg(name: str) -> int | None:
    """An integer query parameter, or the service's 400 for one that is not."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        invalid(f"Invalid value '{raw}' for parameter {name}: expected an integer.")


def listing(key: str, items: list[Any], page: tuple[list[Any], str | None]) -> Response:
    """A list response `{key: [...], next_page_token?}`; the key is left out when the page is empty,
    as the services do (the SDK then yields nothing)."""
    rows, token = page
    body: dict[str, Any] = {}
    if rows:
        body[key] = rows
    if token:
        body["next_page_token"] = token
    return jsonify(body)
