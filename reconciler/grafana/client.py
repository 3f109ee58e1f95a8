"""The Grafana HTTP calls reconciler makes, behind one small typed class.

Why `grafana-client` (PyPI, maintained by the grafana-toolbox project) rather than raw requests:
it already covers every alerting-provisioning and folder call we need (list/get/create/update/
delete rules, get/put rule groups with `X-Disable-Provenance`, folder CRUD with
`forceDeleteRules`, folder move), handles auth, timeouts and maps 4xx/5xx to exceptions that
carry Grafana's body. The two calls it has no method for (the provisioning exports and the
Prometheus-style rule-state API) go through its own low-level client, so every request shares
one session, one auth and one error path.

This module is the only place that knows the legacy `/api` routes; Grafana 13's App Platform
(`/apis/rules.alerting.grafana.app`) can be added as a second implementation of the same
methods without touching the provider.
"""

from __future__ import annotations

import re
from typing import Any, cast

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaException

from reconciler.errors import ReconcilerError
from reconciler.retrying import RetryPolicy, grafana_retry

DEFAULT_TIMEOUT_SECONDS = 30.0


def _without_userinfo(text: str) -> str:
    """`text` with any `user:password@` of a URL in it removed (messages must not carry them)."""
    return re.sub(r"//[^/@\s]*@", "//", text)


class GrafanaApiError(ReconcilerError):
    """A Grafana answer other than success; carries the status and Grafana's own message."""

    def __init__(self, action: str, status: int, body: Any, hint: str | None = None) -> None:
        self.status = status
        self.body = body
        detail = body.get("message") if isinstance(body, dict) else body
        text = " ".join(str(detail or "no message").split())
        if text.lower().startswith(("<!doctype", "<html")):
            text = "an HTML page, not a Grafana API answer"
        super().__init__(f"Grafana {action}: HTTP {status}: {text[:200]}" + (f". {hint}" if hint else ""))


class GrafanaClient:
    """Typed access to the Grafana endpoints reconciler uses (Grafana 9 through 13 `/api`)."""

    def __init__(
        self,
        url: str,
        token: str | None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        org_id: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        # The token is handed to the library's auth object and never kept in messages or reprs.
        self._api = GrafanaApi.from_url(url.rstrip("/") + "/", credential=token, timeout=timeout)
        if retry is not None:
            # Transient failures are retried by the HTTP layer itself (urllib3's Retry on the
            # library's niquests session), so every call below is covered the same way.
            import niquests

            session = niquests.Session(retries=grafana_retry(retry))
            session.headers.update(self._api.client.s.headers)
            self._api.client.s.close()
            self._api.client.s = session
        if org_id is not None:
            self._api.client.s.headers["X-Grafana-Org-Id"] = str(org_id)
        # For messages: never the user:password a URL may carry.
        self.url = _without_userinfo(url.rstrip("/"))

    def __repr__(self) -> str:
        return f"GrafanaClient({self.url!r})"

    def _call(self, action: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GrafanaException as exc:
            raise GrafanaApiError(action, exc.status_code, exc.response) from None
        except Exception as exc:  # connection refused, DNS, TLS: say where, not how the library failed
            detail = _without_userinfo(str(exc))
            raise ReconcilerError(
                f"Grafana {action}: cannot reach {self.url}: {type(exc).__name__}: {detail}"
            ) from None

    # --- alert rules ---------------------------------------------------------------------------
    def list_rules(self) -> list[dict[str, Any]]:
        """Every rule the token can read, in one call."""
        try:
            result = self._call("list alert rules", self._api.alertingprovisioning.get_alertrules_all)
        except GrafanaApiError as exc:
            # The first call of every run: the place to say what a 404 or 401 most likely means.
            hint = {
                404: f"is {self.url} Grafana's base URL (as in a browser, without /api)? Check grafana.url or GRAFANA_URL",
                401: "the service-account token was refused: check the token in the target's token_env (default GRAFANA_TOKEN)",
                403: "the service-account token may not read alert rules: it needs the alerting provisioning read permission",
            }.get(exc.status)
            if hint is None:
                raise
            raise GrafanaApiError("list alert rules", exc.status, exc.body, hint) from None
        if not isinstance(result, list):
            raise ReconcilerError(f"Grafana list alert rules: unexpected answer from {self.url} (not a JSON list)")
        return result

    def get_rule(self, uid: str) -> dict[str, Any]:
        return cast(
            "dict[str, Any]", self._call(f"get alert rule {uid}", self._api.alertingprovisioning.get_alertrule, uid)
        )

    def create_rule(self, rule: dict[str, Any], disable_provenance: bool) -> dict[str, Any]:
        return cast(
            "dict[str, Any]",
            self._call(
                f"create alert rule '{rule.get('title')}'",
                self._api.alertingprovisioning.create_alertrule,
                rule,
                disable_provenance,
            ),
        )

    def update_rule(self, uid: str, rule: dict[str, Any], disable_provenance: bool) -> dict[str, Any]:
        return cast(
            "dict[str, Any]",
            self._call(
                f"update alert rule {uid}",
                self._api.alertingprovisioning.update_alertrule,
                uid,
                rule,
                disable_provenance,
            ),
        )

    def delete_rule(self, uid: str, disable_provenance: bool) -> None:
        # The library's delete_alertrule sends no provenance header; a rule written editable
        # (provenance none) must be deleted with it, so the low-level client is used here.
        headers = {"X-Disable-Provenance": "true"} if disable_provenance else None
        self._call(
            f"delete alert rule {uid}", self._api.client.DELETE, f"/v1/provisioning/alert-rules/{uid}", headers=headers
        )

    # --- rule groups ---------------------------------------------------------------------------
    def get_group(self, folder_uid: str, group: str) -> dict[str, Any] | None:
        """The group, or None when Grafana answers 404 (a group exists only while it has rules)."""
        try:
            return cast(
                "dict[str, Any] | None",
                self._call(
                    f"get rule group {folder_uid}/{group}",
                    self._api.alertingprovisioning.get_rule_group,
                    folder_uid,
                    _segment(group),
                ),
            )
        except GrafanaApiError as exc:
            if exc.status == 404:
                return None
            raise

    def put_group(self, folder_uid: str, group: str, body: dict[str, Any], disable_provenance: bool) -> dict[str, Any]:
        return cast(
            "dict[str, Any]",
            self._call(
                f"write rule group {folder_uid}/{group}",
                self._api.alertingprovisioning.update_rule_group,
                folder_uid,
                _segment(group),
                body,
                disable_provenance,
            ),
        )

    def export_group(self, folder_uid: str, group: str) -> dict[str, Any]:
        exported: dict[str, Any] = self._call(
            f"export rule group {folder_uid}/{group}",
            self._api.client.GET,
            f"/v1/provisioning/folder/{folder_uid}/rule-groups/{_segment(group)}/export",
            params={"format": "json"},
        )
        return exported

    def export_rules(self) -> dict[str, Any]:
        exported: dict[str, Any] = self._call(
            "export alert rules", self._api.client.GET, "/v1/provisioning/alert-rules/export", params={"format": "json"}
        )
        return exported

    # --- rule state ----------------------------------------------------------------------------
    def rule_states(self) -> list[dict[str, Any]]:
        """Rule groups with each rule's evaluation state and alert instances."""
        answer = self._call("read rule state", self._api.client.GET, "/prometheus/grafana/api/v1/rules")
        return list(((answer or {}).get("data") or {}).get("groups") or [])

    # --- folders -------------------------------------------------------------------------------
    def get_folder(self, uid: str) -> dict[str, Any] | None:
        try:
            return cast("dict[str, Any] | None", self._call(f"get folder {uid}", self._api.folder.get_folder, uid))
        except GrafanaApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list_folders(self, parent_uid: str | None = None) -> list[dict[str, Any]]:
        return cast("list[dict[str, Any]]", self._call("list folders", self._api.folder.get_all_folders, parent_uid))

    def folder_counts(self, uid: str) -> dict[str, int]:
        """What deleting the folder would take with it: descendant folders, dashboards, library
        panels, alert rules (`GET /api/folders/{uid}/counts`, Grafana 10.1+)."""
        answer = self._call(f"count the contents of folder {uid}", self._api.client.GET, f"/folders/{uid}/counts")
        return {str(k): int(v) for k, v in (answer or {}).items() if isinstance(v, (int, float))}

    def create_folder(self, title: str, uid: str, parent_uid: str | None) -> dict[str, Any]:
        return cast(
            "dict[str, Any]", self._call(f"create folder {uid}", self._api.folder.create_folder, title, uid, parent_uid)
        )

    def update_folder(self, uid: str, title: str, version: int) -> dict[str, Any]:
        return cast(
            "dict[str, Any]",
            self._call(f"update folder {uid}", self._api.folder.update_folder, uid, title=title, version=version),
        )

    def move_folder(self, uid: str, parent_uid: str | None) -> dict[str, Any]:
        return cast("dict[str, Any]", self._call(f"move folder {uid}", self._api.folder.move_folder, uid, parent_uid))

    def delete_folder(self, uid: str, force_delete_rules: bool = False) -> None:
        self._call(
            f"delete folder {uid}", self._api.folder.delete_folder, uid, "true" if force_delete_rules else "false"
        )

    def close(self) -> None:
        self._api.client.s.close()


def _segment(name: str) -> str:
    """A rule group name as one URL path segment (group names may hold spaces and slashes)."""
    from urllib.parse import quote

    return quote(name, safe="")
