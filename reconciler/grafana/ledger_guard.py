"""The guard of the notification ledger's first write (issue #13: no lost ledger entries).

Every later ledger write is a compare-and-swap on the template's `version`; the first cannot be:
Grafana's template PUT creates a template that does not exist only when it is sent without a
version, and without a version it also overwrites one that does. Two applies that both read "no
ledger" would both create it, and the second would erase what the first recorded.

So the creation is made under a guard Grafana itself arbitrates: a mute timing named like the
ledger, created with `POST /mute-timings`, which Grafana refuses (409) when the name exists. Only
the writer whose POST created it may create the ledger; it re-reads the ledger first (another
writer may have created it and released the guard meanwhile), writes, and deletes the guard. The
others wait for the ledger to appear and write onto it with a version, as every later write.

The guard carries a random time range, so a writer recognises its own guard after a lost answer
(a retried POST answered 409), and its delete is sent with the guard's `version`, so a writer
removing a guard left by a killed one (after the target's lock lease) cannot remove a newer one.
No notification policy names the guard: it mutes nothing while it exists.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from reconciler.errors import ReconcilerError

from .client import GrafanaApiError
from .notification_model import time_intervals_state

if TYPE_CHECKING:
    from .notification_providers import NotificationsApi

POLL_SECONDS = 0.2


def _nonce_interval() -> dict[str, Any]:
    """A time range picked at random: which writer's guard this is."""
    start = secrets.randbelow(1439)
    end = start + 1 + secrets.randbelow(1439 - start)
    return {
        "times": [{"start_time": f"{start // 60:02d}:{start % 60:02d}", "end_time": f"{end // 60:02d}:{end % 60:02d}"}]
    }


class LedgerCreationGuard:
    """One writer's attempt to be the one that creates the ledger `name`."""

    def __init__(
        self, api: NotificationsApi, name: str, lease_seconds: float, ledger_exists: Callable[[], bool]
    ) -> None:
        self.api = api
        self.name = name
        self.lease_seconds = lease_seconds
        self.ledger_exists = ledger_exists
        self.intervals = [_nonce_interval()]
        self.version: str | None = None

    def _mine(self, live: dict[str, Any]) -> bool:
        return time_intervals_state(live.get("time_intervals") or []) == time_intervals_state(self.intervals)

    def acquire(self) -> bool:
        """Hold the guard (True), or find the ledger created by another writer (False). A guard
        whose holder neither creates the ledger nor releases it within the lease is taken as
        left by a killed writer and removed."""
        give_up = time.monotonic() + 3 * self.lease_seconds + 30
        seen: str | None = None
        stale_at = 0.0
        while time.monotonic() < give_up:
            try:
                answer = self.api.create_mute_timing({"name": self.name, "time_intervals": self.intervals}, False)
                self.version = _version_of(answer)
                return True
            except GrafanaApiError as exc:
                if exc.status != 409:
                    raise
            current = self.api.mute_timing(self.name)
            if current is None:
                continue  # released just now: try again
            if self._mine(current):  # our own create, its answer lost
                self.version = _version_of(current)
                return True
            if self.ledger_exists():
                return False
            version = str(current.get("version") or "")
            if version != seen:  # a holder not seen before: its lease starts now
                seen, stale_at = version, time.monotonic() + self.lease_seconds
            elif time.monotonic() >= stale_at:
                self._delete(version)
                continue
            time.sleep(POLL_SECONDS)
        raise ReconcilerError(
            f"Grafana mute timing '{self.name}' (the guard of reconciler's ownership ledger's first write) "
            "is held by other writers without end; re-run `reconciler apply`"
        )

    def release(self) -> None:
        """Delete the guard, if it is still ours (a failure leaves it to the lease)."""
        try:
            version = self.version
            if version is None:  # Grafana's answer named none: the one read now, if ours
                current = self.api.mute_timing(self.name)
                if current is None or not self._mine(current):
                    return
                version = _version_of(current)
            self._delete(version)
        except GrafanaApiError:
            pass

    def _delete(self, version: str | None) -> None:
        try:
            self.api.delete_mute_timing(self.name, version, editable=False)
        except GrafanaApiError as exc:
            if exc.status not in (404, 409):  # gone already / not the guard we saw
                raise


def _version_of(answer: Any) -> str | None:
    version = answer.get("version") if isinstance(answer, dict) else None
    return str(version) if version else None
