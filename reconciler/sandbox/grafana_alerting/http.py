"""HTTP around the Grafana emulator's routes: auth, JSON bodies and Grafana's error responses."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, request

from ..settings import SandboxSettings
from ..state import SandboxState
from .store import ApiError, GrafanaStore, _bad_request_data


@dataclass
class GrafanaApi:
    """What every Blueprint of the emulator shares: the state, the store and the settings."""

    state: SandboxState
    store: GrafanaStore
    settings: SandboxSettings

    def api(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Auth, JSON bodies and Grafana's error responses around one route."""

        def wrapper(**kwargs: Any) -> Any:
            try:
                authenticate(self.settings)
                result = fn(**kwargs)
            except ApiError as exc:
                if exc.body is None:
                    return Response(status=exc.status)
                return json_response(exc.body, exc.status)
            return result

        wrapper.__name__ = f"grafana_{fn.__name__}"
        return wrapper

    @staticmethod
    def body() -> Any:
        try:
            return json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            raise _bad_request_data() from None

    def rule_fields(self) -> tuple[str, ...]:
        """Top-level rule fields of a newer Grafana the tests ask this emulator to know."""
        return tuple(str(k) for k in self.settings.extra.get("grafana_rule_fields", ()) or ())  # type: ignore[attr-defined]

    @staticmethod
    def provenance_of_request() -> str:
        return "" if "X-Disable-Provenance" in request.headers else "api"


def authenticate(settings: SandboxSettings) -> None:
    if settings.token is None:
        return
    header = request.headers.get("Authorization", "")
    if not header:
        raise ApiError(
            401,
            {
                "extra": None,
                "message": "Unauthorized",
                "messageId": "auth.unauthorized",
                "statusCode": 401,
                "traceID": "",
            },
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or token.strip() != settings.token:
        raise ApiError(
            401,
            {
                "extra": None,
                "message": "Invalid API key",
                "messageId": "api-key.invalid",
                "statusCode": 401,
                "traceID": "",
            },
        )


def json_response(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value), status=status, mimetype="application/json")
