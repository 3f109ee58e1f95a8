"""Retries of transient failures, one policy for every provider, built from well-kept libraries.

Why here and not in each provider: a 2 % error rate must not fail a run, and the same bounds
(attempts, total time, backoff with jitter) should hold for every API a target talks to. What is
transient: connection errors, timeouts, 429 (honouring `Retry-After`), 500, 502, 503, 504. What is
not (400/401/403/404/409): answered at once, never retried.

- Grafana (`grafana-client` on niquests): the HTTP layer's own retry, urllib3's `Retry`, set on
  the client's session (`grafana_retry`).
- Databricks (`databricks-sdk`): the SDK already retries 429/503, connection errors and timeouts
  within `retry_timeout_seconds`; it does not retry 500/502/504, nor a multipart upload whose
  stream it cannot rewind (the ledger file). `retry_databricks` wraps the client's one choke point
  (`ApiClient.do`) with `tenacity` for those, rewinding file bodies before each attempt.

A retried write may have been applied the first time (a lost answer): providers treat the
"already exists" / "not found" that a retry can then meet as ambiguous, re-read, and accept a
live object equal to what they wrote.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

log = logging.getLogger("reconciler.retry")

TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
# What the Databricks SDK leaves to us: it retries 429 and 503 itself.
_DATABRICKS_EXTRA_CODES = frozenset({"INTERNAL_ERROR", "BAD_GATEWAY", "DEADLINE_EXCEEDED", "INTERNAL_SERVER_ERROR"})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of the retries of one call: at most `max_attempts` tries within `max_seconds`,
    waiting `initial_backoff_seconds` doubled each time (capped at `max_backoff_seconds`), with
    random jitter so concurrent clients do not retry in lock step."""

    max_attempts: int = 5
    max_seconds: float = 60.0
    initial_backoff_seconds: float = 0.5
    max_backoff_seconds: float = 10.0


def grafana_retry(policy: RetryPolicy) -> Any:
    """urllib3 `Retry` for the Grafana session: every method (a retried write is reconciled by
    the provider), transient statuses, `Retry-After` honoured, the last answer returned (not
    raised) so Grafana's own error body reaches the message."""
    from niquests.packages.urllib3.util.retry import Retry  # type: ignore[import-not-found]

    return Retry(
        total=policy.max_attempts - 1,
        connect=policy.max_attempts - 1,
        read=policy.max_attempts - 1,
        status=policy.max_attempts - 1,
        other=0,
        allowed_methods=None,
        status_forcelist=TRANSIENT_STATUSES,
        backoff_factor=policy.initial_backoff_seconds,
        backoff_max=policy.max_backoff_seconds,
        backoff_jitter=policy.initial_backoff_seconds,
        respect_retry_after_header=True,
        retry_after_max=int(policy.max_seconds),
        raise_on_status=False,
        raise_on_redirect=False,
    )


def is_transient_databricks_error(exc: BaseException) -> bool:
    """500/502/504 answers, which the SDK never retries; and 429/503 or a dropped connection
    when they reach us at all — the SDK retries those itself (then ends in a TimeoutError, which
    is not retried again), except for a body it cannot rewind such as a multipart upload."""
    import requests
    from databricks.sdk.errors import DeadlineExceeded, InternalError, TemporarilyUnavailable, TooManyRequests
    from databricks.sdk.errors.base import DatabricksError

    if isinstance(exc, (InternalError, DeadlineExceeded, TooManyRequests, TemporarilyUnavailable)):
        return True
    if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        return True
    return isinstance(exc, DatabricksError) and getattr(exc, "error_code", None) in _DATABRICKS_EXTRA_CODES


def _rewind(value: Any) -> None:
    if hasattr(value, "seek"):
        value.seek(0)
    elif isinstance(value, (tuple, list)):
        for item in value:
            _rewind(item)
    elif isinstance(value, dict):
        for item in value.values():
            _rewind(item)


def retrying(
    policy: RetryPolicy, is_transient: Callable[[BaseException], bool], what: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator retrying `is_transient` failures within `policy` (tenacity), rewinding any
    file-like arguments before each new attempt."""
    from tenacity import (
        retry,
        retry_if_exception,
        stop_after_attempt,
        stop_after_delay,
        wait_exponential_jitter,
    )

    def before_sleep(state: Any) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.info("%s: attempt %d failed (%s); retrying", what, state.attempt_number, type(exc).__name__)

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def attempt(*args: Any, **kwargs: Any) -> Any:
            _rewind(kwargs.get("files"))
            _rewind(kwargs.get("data"))
            return fn(*args, **kwargs)

        return retry(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(policy.max_attempts) | stop_after_delay(policy.max_seconds),
            wait=wait_exponential_jitter(
                multiplier=policy.initial_backoff_seconds,
                max=policy.max_backoff_seconds,
                jitter=policy.initial_backoff_seconds,
            ),
            before_sleep=before_sleep,
            reraise=True,
        )(attempt)

    return decorate


def retry_databricks(client: WorkspaceClient, policy: RetryPolicy) -> WorkspaceClient:
    """`client` with its `ApiClient.do` (the call every service method makes) retrying the
    transient answers the SDK itself does not. Returns the same client."""
    api = client.api_client
    api.do = retrying(policy, is_transient_databricks_error, "Databricks call")(api.do)  # type: ignore[method-assign]
    return client
