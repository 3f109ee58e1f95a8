"""Providers of contact points, the notification policy tree, mute timings and templates (I/O).

One `NotificationBackend` per run (shared by the four providers) reads Grafana once: the
project's ownership ledger and, when a spec declares such objects or the ledger records some,
the contact points, the policy tree, the mute timings and the templates.

Ownership (see `notification_model.Ledger`): an object is reconciler's when the project's ledger
names it. A write claims the object in the ledger *before* creating it (a claim of something that
does not exist is harmless and dropped by the next write; an object created but not claimed would
be another's), and records contact-point secret digests only *after* Grafana accepted them (a
digest recorded for a write that failed would hide a secret that was never written). The ledger
is written with Grafana's template `version`, so two concurrent applies cannot lose each other's
entries: a write refused (409) because the ledger moved re-reads it and merges again.

A retry after a lost answer meets what the first attempt did ("already exists", "version
conflict"): the write then re-reads the object and is done when it reads as written.

The policy tree always exists in Grafana. A declared tree takes over a live tree that is still
Grafana's default (a receiver and no child policy: nothing to lose); any other tree needs
`reconciler import GrafanaNotificationPolicy policy-tree` first. Its delete resets the tree to
Grafana's default.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from typing_extensions import TypeVar

from reconciler.errors import ReconcilerError
from reconciler.kinds.base import LiveObject, Resource, SpecT, facts_of
from reconciler.last_applied import FIELD as APPLIED_FIELD
from reconciler.last_applied import applied_digest
from reconciler.providers.base import Adopted, Provider
from reconciler.providers.request import ProviderRequest

from .client import GrafanaApiError, GrafanaClient
from .facts import ContactPointFacts, NotificationFacts, VersionedFacts
from .ledger_guard import LedgerCreationGuard
from .notification_model import (
    LEDGER_PREFIX,
    POLICY_KEY,
    GrafanaContactPointSpec,
    GrafanaMuteTimingSpec,
    GrafanaNotificationPolicySpec,
    GrafanaTemplateSpec,
    Ledger,
    Section,
    api_integration,
    api_policy_tree,
    integration_uid,
    is_default_tree,
    ledger_name,
    live_contact_point_state,
    policy_references,
    route_state,
    secret_digest,
    time_intervals_state,
)
from .snapshot import backend_for, changed_fields

if TYPE_CHECKING:
    from reconciler.providers.provider_target import ProviderTarget

NOTIFICATION_KINDS = ("GrafanaContactPoint", "GrafanaNotificationPolicy", "GrafanaMuteTiming", "GrafanaTemplate")
LEDGER_WRITE_ATTEMPTS = 5
_N = TypeVar("_N", bound=NotificationFacts, default=NotificationFacts)
FILE_LOCKED = (
    "it is provisioned from a file (provenance 'file'): Grafana refuses changes to it through the API; "
    "change it in the provisioning files instead"
)


class NotificationsApi:
    """The provisioning calls for notification objects, over the run's Grafana client (one
    session, one auth, one error path)."""

    def __init__(self, client: GrafanaClient) -> None:
        self._client = client

    def _request(
        self, method: str, action: str, path: str, body: Any = None, editable: bool = False, **params: Any
    ) -> Any:
        low = self._client._api.client
        headers = {"X-Disable-Provenance": "true"} if editable else None
        fn = getattr(low, method)
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs["json"] = body
        if params:
            kwargs["params"] = params
        return self._client._call(action, fn, f"/v1/provisioning{path}", **kwargs)

    def _get_or_none(self, action: str, path: str) -> dict[str, Any] | None:
        """One object, or None when Grafana answers 404."""
        try:
            found: dict[str, Any] = self._request("GET", action, path)
            return found
        except GrafanaApiError as exc:
            if exc.status == 404:
                return None
            raise

    # contact points
    def contact_points(self) -> list[dict[str, Any]]:
        return list(self._request("GET", "list contact points", "/contact-points") or [])

    def create_integration(self, body: dict[str, Any], editable: bool) -> dict[str, Any]:
        answer: dict[str, Any] = self._request(
            "POST", f"create contact point '{body['name']}'", "/contact-points", body, editable
        )
        return answer

    def update_integration(self, uid: str, body: dict[str, Any], editable: bool) -> None:
        self._request("PUT", f"update contact point '{body['name']}' ({uid})", f"/contact-points/{uid}", body, editable)

    def delete_integration(self, uid: str, name: str, editable: bool) -> None:
        self._request("DELETE", f"delete contact point '{name}' ({uid})", f"/contact-points/{uid}", editable=editable)

    # policy tree
    def policy_tree(self) -> dict[str, Any]:
        return dict(self._request("GET", "read the notification policy tree", "/policies") or {})

    def put_policy_tree(self, tree: dict[str, Any], editable: bool) -> None:
        self._request("PUT", "write the notification policy tree", "/policies", tree, editable)

    def reset_policy_tree(self, editable: bool) -> None:
        self._request("DELETE", "reset the notification policy tree", "/policies", editable=editable)

    # mute timings
    def mute_timings(self) -> list[dict[str, Any]]:
        return list(self._request("GET", "list mute timings", "/mute-timings") or [])

    def mute_timing(self, name: str) -> dict[str, Any] | None:
        return self._get_or_none(f"read mute timing '{name}'", f"/mute-timings/{_seg(name)}")

    def create_mute_timing(self, body: dict[str, Any], editable: bool) -> Any:
        return self._request("POST", f"create mute timing '{body['name']}'", "/mute-timings", body, editable)

    def update_mute_timing(self, name: str, body: dict[str, Any], editable: bool) -> None:
        self._request("PUT", f"update mute timing '{name}'", f"/mute-timings/{_seg(name)}", body, editable)

    def delete_mute_timing(self, name: str, version: str | None, editable: bool) -> None:
        params = {"version": version} if version else {}
        self._request("DELETE", f"delete mute timing '{name}'", f"/mute-timings/{_seg(name)}", None, editable, **params)

    # templates
    def templates(self) -> list[dict[str, Any]]:
        return list(self._request("GET", "list templates", "/templates") or [])

    def template(self, name: str) -> dict[str, Any] | None:
        return self._get_or_none(f"read template '{name}'", f"/templates/{_seg(name)}")

    def put_template(self, name: str, text: str, version: str | None, editable: bool) -> dict[str, Any]:
        body = {"name": name, "template": text, "version": version or ""}
        written: dict[str, Any] = self._request(
            "PUT", f"write template '{name}'", f"/templates/{_seg(name)}", body, editable
        )
        return written

    def delete_template(self, name: str, editable: bool) -> None:
        self._request("DELETE", f"delete template '{name}'", f"/templates/{_seg(name)}", editable=editable)


def _seg(name: str) -> str:
    return quote(name, safe="")


def accept_if(exc: GrafanaApiError, statuses: tuple[int, ...], written: bool) -> None:
    """After a write answered `exc`: a retry of a write whose answer was lost meets what that
    write did ("already exists", "version conflict"). Done when a re-read found the object as
    written (`written`); any other answer stands."""
    if exc.status not in statuses or not written:
        raise exc


def same_integration(live: dict[str, Any], body: dict[str, Any], integ: Any) -> bool:
    """Whether a listed integration is the one `body` creates: Grafana lists secrets redacted
    (so only their presence is compared) and omits empty values (empty and absent are equal)."""
    settings = live.get("settings") or {}
    if (live.get("name"), live.get("type")) != (body["name"], body["type"]):
        return False
    if bool(live.get("disableResolveMessage")) != bool(body.get("disableResolveMessage")):
        return False
    plain = all((settings.get(k) or None) == (v or None) for k, v in integ.settings.items())
    return plain and all(bool(settings.get(k)) == bool(v) for k, v in integ.secure_settings.items())


def changed_integrations(planned: dict[str, dict[str, Any]], now: dict[str, dict[str, Any]]) -> list[str]:
    """What moved in a contact point's integrations (by uid) between two reads: integrations
    added or removed, and the fields (`settings.KEY` for a setting) of those in both."""
    out = [f"integration {uid} added" for uid in sorted(set(now) - set(planned))]
    out += [f"integration {uid} removed" for uid in sorted(set(planned) - set(now))]
    for uid in sorted(set(planned) & set(now)):
        before, after = planned[uid], now[uid]
        out += [f for f in changed_fields(before, after) if f != "settings"]
        settings_before, settings_after = before.get("settings") or {}, after.get("settings") or {}
        keys = set(settings_before) | set(settings_after)
        out += [
            f"settings.{k}" for k in sorted(keys) if (settings_before.get(k) or None) != (settings_after.get(k) or None)
        ]
    return out


@dataclass
class NotificationSnapshot:
    ledger: Ledger
    ledger_version: str | None
    contact_points: list[dict[str, Any]] = field(default_factory=list)
    policy_tree: dict[str, Any] | None = None
    mute_timings: list[dict[str, Any]] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(default_factory=list)


class NotificationBackend:
    """The run's one read of Grafana's notification objects, and the ledger writes."""

    def __init__(self, target: ProviderTarget) -> None:
        self.target = target
        self.grafana = backend_for(target)
        self._api: NotificationsApi | None = None
        self._snapshot: NotificationSnapshot | None = None
        self._ledger: tuple[Ledger, str | None] | None = None

    @property
    def api(self) -> NotificationsApi:
        if self._api is None:
            self._api = NotificationsApi(self.grafana.client)
        return self._api

    @property
    def owner(self) -> str:
        return self.target.owner

    @property
    def editable(self) -> bool:
        return self.grafana.editable

    def snapshot(self, request: ProviderRequest | None = None) -> NotificationSnapshot:
        """The run's one read, scoped by `request` (whether any notification object is declared)
        when it is made; the calls after it (the run's writes follow its read) may leave it out."""
        if self._snapshot is None:
            if request is None:
                raise ReconcilerError("Grafana was asked for its notification objects before the run read them")
            self._snapshot = self._read(request.any_of(NOTIFICATION_KINDS))
        return self._snapshot

    def _read(self, declared: bool) -> NotificationSnapshot:
        if not declared and self.target.known_empty("grafana"):
            return NotificationSnapshot(Ledger(self.owner), None)
        ledger, version = self.ledger()
        snap = NotificationSnapshot(ledger, version)
        if not declared and not ledger.owns_any():
            return snap  # nothing declared, nothing owned: one call
        snap.contact_points = self.api.contact_points()
        snap.policy_tree = self.api.policy_tree()
        # The ledger's creation guard (`ledger_guard`) is reconciler's bookkeeping, never an object.
        snap.mute_timings = [t for t in self.api.mute_timings() if not str(t.get("name", "")).startswith(LEDGER_PREFIX)]
        snap.templates = [t for t in self.api.templates() if not str(t.get("name", "")).startswith(LEDGER_PREFIX)]
        return snap

    def ledger(self) -> tuple[Ledger, str | None]:
        """The ledger as the run first read it: one read per run, shared by the notification
        kinds and the folders (whose applied digests it records)."""
        if self._ledger is None:
            self._ledger = self.read_ledger()
        return self._ledger

    def read_ledger(self) -> tuple[Ledger, str | None]:
        name = ledger_name(self.owner)
        answer = self.api.template(name)
        if answer is None:
            return Ledger(self.owner), None
        try:
            return Ledger.parse(self.owner, str(answer.get("template") or "")), str(answer.get("version") or "")
        except ValueError as exc:
            raise ReconcilerError(
                f"Grafana template '{name}' is reconciler's ownership ledger for {self.owner}, but it cannot be read "
                f"({exc}); restore it from Grafana's history or delete it and re-import the objects"
            ) from None

    def update_ledger(self, change: Any) -> None:
        """Re-read the ledger, apply `change(ledger)`, write it back under the version read (a
        compare-and-swap). Grafana answers 409 when the ledger moved since the read: either this
        write's own earlier attempt, whose answer was lost (the ledger then reads as written:
        done), or another apply's write (merged again onto it; `change` is idempotent). A ledger
        not there yet is created under a guard (`ledger_guard`): one creator, the others write
        onto what it created."""
        name = ledger_name(self.owner)
        for _ in range(LEDGER_WRITE_ATTEMPTS):
            ledger, version = self.read_ledger()
            if version is None:
                if self._create_ledger(name, change):
                    return
                continue  # created by another writer meanwhile: a compare-and-swap onto it
            change(ledger)
            text = ledger.render()
            try:
                self.api.put_template(name, text, version, editable=False)
                return
            except GrafanaApiError as exc:
                if exc.status != 409:
                    raise
            if self.read_ledger()[0].render() == text:
                return
        raise ReconcilerError(
            f"Grafana template '{name}' (reconciler's ownership ledger) changed under every one of "
            f"{LEDGER_WRITE_ATTEMPTS} writes (other applies writing it at the same time?); re-run `reconciler apply`"
        )

    def _create_ledger(self, name: str, change: Any) -> bool:
        """Create the ledger holding `change` if it is still absent, holding the creation guard;
        False when another writer created it first."""
        guard = LedgerCreationGuard(
            self.api, name, self.target.config.lock.lease_seconds, lambda: self.api.template(name) is not None
        )
        if not guard.acquire():
            return False
        try:
            ledger, version = self.read_ledger()
            if version is not None:
                return False  # created and released by another writer before we took the guard
            change(ledger)
            self.api.put_template(name, ledger.render(), None, editable=False)
            return True
        finally:
            guard.release()

    def claim(self, section: Section, name: str, spec_name: str, prevent_destroy: bool) -> None:
        def change(ledger: Ledger) -> None:
            entry = ledger.entries[section].setdefault(name, {})
            entry.update({"spec": spec_name, "prevent_destroy": prevent_destroy})

        self.update_ledger(change)

    def record_applied(self, section: Section, name: str, spec_name: str, digest: str, **extra: Any) -> None:
        """Record the digest of what was just written to `name` (drift's *changed outside
        reconciler* vs *spec changed, not applied yet*). Called only *after* Grafana accepted the
        write, so a failed write never records a digest it did not apply."""

        def change(ledger: Ledger) -> None:
            entry = ledger.entries[section].setdefault(name, {"spec": spec_name})
            entry[APPLIED_FIELD] = digest
            entry.update(extra)

        self.update_ledger(change)

    def release(self, section: Section, name: str) -> None:
        self.update_ledger(lambda ledger: ledger.entries[section].pop(name, None))

    def used_by(self, section: Section, name: str) -> list[str]:
        tree = self.snapshot().policy_tree or {}
        receivers, intervals = policy_references(tree)
        if section == "contact_points" and name in receivers:
            return ["the notification policy tree"]
        if section == "mute_timings" and name in intervals:
            return ["the notification policy tree"]
        return []

    def close(self) -> None:
        """The client belongs to the shared Grafana backend, which closes it."""


def notifications_for(target: ProviderTarget) -> NotificationBackend:
    return target.shared("grafana-notifications", lambda: NotificationBackend(target))


class _NotificationProvider(Provider[SpecT, _N]):
    backend = "grafana"
    live_system = "grafana"
    section: Section
    # Whether any notification object is declared scopes the one read all four share.
    sees_kinds = NOTIFICATION_KINDS

    def __init__(self, kind: Any, target: ProviderTarget) -> None:
        super().__init__(kind, target)
        self.notifications = notifications_for(target)

    def entry(self, name: str) -> dict[str, Any] | None:
        return self.notifications.snapshot().ledger.get(self.section, name)

    def claim(self, resource: Resource) -> None:
        self.notifications.claim(self.section, resource.key, resource.name, resource.lifecycle.prevent_destroy)

    def record_applied(self, resource: Resource, **extra: Any) -> None:
        """Record, in the project's ledger entry, the digest of what was just written: the ledger
        is the place because these objects have no annotation field Grafana keeps."""
        digest = applied_digest(self.kind.fields, resource.state)
        self.notifications.record_applied(self.section, resource.key, resource.name, digest, **extra)

    def live_object(self, key: str, state: dict[str, Any], raw: Any, facts: _N) -> LiveObject[_N]:
        """The live object of `key`: ownership from the ledger, `facts` with what refers to it."""
        entry = self.entry(key)
        provenance = facts.provenance
        return LiveObject(
            kind=self.kind.name,
            key=key,
            state=state,
            managed=entry is not None,
            name=str(entry.get("spec")) if entry and entry.get("spec") else None,
            raw=raw,
            facts=replace(facts, used_by=tuple(self.notifications.used_by(self.section, key))),
            locked_reason=FILE_LOCKED if provenance == "file" else None,
            prevent_destroy=bool(entry and entry.get("prevent_destroy")),
            applied_digest=str(entry[APPLIED_FIELD]) if entry and entry.get(APPLIED_FIELD) else None,
        )

    def in_scope(self, key: str, request: ProviderRequest) -> bool:
        """Managed objects always; others when this kind is declared at all (shown, never changed)."""
        return self.entry(key) is not None or bool(request.of())

    def editable_for(self, provenance: str) -> bool:
        """The provenance header of a write: the target's choice, but never an attempt to turn an
        object Grafana holds as `api` into none (Grafana refuses that as a provenance mismatch)."""
        return self.notifications.editable and provenance != "api"

    def adopt(self, request: ProviderRequest, key: str, name: str | None = None) -> Adopted:
        declared = self.declaring(request, key)
        if declared is None:
            raise ReconcilerError(f"no {self.kind.name} spec declares {key!r}")
        obj = next((o for o in self.read(request) if o.key == key), None)
        if obj is None:
            raise ReconcilerError(f"no {self.kind.name} {key!r} in Grafana")
        if obj.locked_reason:
            raise ReconcilerError(f"{self.kind.name} {key!r} cannot be managed: {obj.locked_reason}")
        self.notifications.claim(self.section, key, declared.name, False)
        notes = []
        if self.section == "contact_points":
            notes.append(
                "Grafana returns its secrets redacted, so they cannot be compared: the next apply writes them from the spec"
            )
        return Adopted(key, notes)


class GrafanaContactPointProvider(_NotificationProvider[GrafanaContactPointSpec, ContactPointFacts]):
    section: Section = "contact_points"

    def _by_name(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for integ in self.notifications.snapshot().contact_points:
            out.setdefault(str(integ.get("name")), []).append(integ)
        return out

    def read(self, request: ProviderRequest) -> list[LiveObject[ContactPointFacts]]:
        self.notifications.snapshot(request)
        out = []
        for name, integrations in sorted(self._by_name().items()):
            if not self.in_scope(name, request):
                continue
            entry = self.entry(name) or {}
            provenance = next((str(i.get("provenance") or "") for i in integrations if i.get("provenance")), "")
            out.append(
                self.live_object(
                    name,
                    live_contact_point_state(name, integrations, entry.get("secrets") or {}),
                    raw=integrations,
                    facts=ContactPointFacts(provenance=provenance, uids=tuple(str(i.get("uid")) for i in integrations)),
                )
            )
        return out

    def create(self, resource: Resource) -> None:
        self.claim(resource)
        self._write(resource, [], "")

    def update(self, resource: Resource, live: LiveObject) -> None:
        self._check_unchanged(live)
        self.claim(resource)
        facts = facts_of(live, ContactPointFacts)
        self._write(resource, list(facts.uids), facts.provenance)

    def _check_unchanged(self, live: LiveObject) -> None:
        """Refuse to update a contact point someone changed since the plan read it: its
        integrations are written one by one with no version Grafana checks, so an edit made
        meanwhile would be overwritten. Compared on content (secrets are listed redacted, so a
        changed secret alone is not seen)."""
        planned = {str(i.get("uid")): i for i in live.raw or []}
        now = {str(i.get("uid")): i for i in self.notifications.api.contact_points() if i.get("name") == live.key}
        if not now:
            raise ReconcilerError(
                f"contact point '{live.key}' was deleted in Grafana since plan; re-plan: nothing was written"
            )
        changed = changed_integrations(planned, now)
        if changed:
            raise ReconcilerError(
                f"contact point '{live.key}' changed in Grafana since plan ({', '.join(changed)}); re-plan: "
                "nothing was written, so the edit made there is kept"
            )

    def _write(self, resource: Resource, uids: list[str], provenance: str) -> None:
        spec = resource.spec
        assert isinstance(spec, GrafanaContactPointSpec)
        api = self.notifications.api
        editable = self.editable_for(provenance)
        written: dict[str, dict[str, str]] = {}
        for index, integ in enumerate(spec.integrations):
            uid = uids[index] if index < len(uids) else integration_uid(resource.key, index)
            body = api_integration(resource.key, integ, uid)
            if index < len(uids):
                api.update_integration(uid, body, editable)
            else:
                try:
                    api.create_integration(body, editable)
                except GrafanaApiError as exc:
                    # A retry after a lost answer meets the integration it created (its uid).
                    written_as = next((i for i in api.contact_points() if i.get("uid") == uid), None)
                    accept_if(exc, (400, 409), written_as is not None and same_integration(written_as, body, integ))
            written[uid] = {
                k: secret_digest(f"{resource.key}/{index}/{integ.type}/{k}", v)
                for k, v in integ.secure_settings.items()
            }
        for uid in uids[len(spec.integrations) :]:
            api.delete_integration(uid, resource.key, editable)
        self.record_applied(resource, secrets={uid: digests for uid, digests in written.items() if digests})

    def delete(self, live: LiveObject) -> None:
        facts = facts_of(live, ContactPointFacts)
        editable = facts.provenance == ""
        for uid in facts.uids:
            self.notifications.api.delete_integration(uid, live.key, editable)
        self.notifications.release(self.section, live.key)

    def describe_live(self, live: LiveObject) -> str:
        return f"contact point '{live.key}'"


class GrafanaMuteTimingProvider(_NotificationProvider[GrafanaMuteTimingSpec, VersionedFacts]):
    section: Section = "mute_timings"

    def read(self, request: ProviderRequest) -> list[LiveObject[VersionedFacts]]:
        out = []
        for timing in self.notifications.snapshot(request).mute_timings:
            name = str(timing.get("name"))
            if not self.in_scope(name, request):
                continue
            state = {"name": name, "time_intervals": time_intervals_state(timing.get("time_intervals") or [])}
            raw = {k: v for k, v in timing.items() if k != "version"}
            out.append(self.live_object(name, state, raw, _versioned(timing)))
        return out

    def _body(self, resource: Resource, version: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": resource.key, "time_intervals": resource.state["time_intervals"]}
        if version:
            body["version"] = version
        return body

    def create(self, resource: Resource) -> None:
        self.claim(resource)
        try:
            self.notifications.api.create_mute_timing(self._body(resource), self.editable_for(""))
        except GrafanaApiError as exc:  # "name exists": this create's own, its answer lost?
            accept_if(exc, (409,), self._written(resource))
        self.record_applied(resource)

    def update(self, resource: Resource, live: LiveObject) -> None:
        self.claim(resource)
        facts = facts_of(live, VersionedFacts)
        try:
            self.notifications.api.update_mute_timing(
                live.key, self._body(resource, facts.version), self.editable_for(facts.provenance)
            )
        except GrafanaApiError as exc:  # "version conflict": this write's own, its answer lost?
            accept_if(exc, (409,), self._written(resource))
        self.record_applied(resource)

    def _written(self, resource: Resource) -> bool:
        """Whether Grafana's mute timing is the declared one (empty lists read back as absent)."""
        live = self.notifications.api.mute_timing(resource.key)
        return live is not None and time_intervals_state(live.get("time_intervals") or []) == time_intervals_state(
            resource.state["time_intervals"]
        )

    def delete(self, live: LiveObject) -> None:
        facts = facts_of(live, VersionedFacts)
        self.notifications.api.delete_mute_timing(live.key, facts.version, facts.provenance == "")
        self.notifications.release(self.section, live.key)

    def describe_live(self, live: LiveObject) -> str:
        return f"mute timing '{live.key}'"


class GrafanaTemplateProvider(_NotificationProvider[GrafanaTemplateSpec, VersionedFacts]):
    section: Section = "templates"

    def read(self, request: ProviderRequest) -> list[LiveObject[VersionedFacts]]:
        out = []
        for template in self.notifications.snapshot(request).templates:
            name = str(template.get("name"))
            if not self.in_scope(name, request):
                continue
            state = {"name": name, "template": str(template.get("template") or "").rstrip()}
            raw = {k: v for k, v in template.items() if k != "version"}
            out.append(self.live_object(name, state, raw, _versioned(template)))
        return out

    def create(self, resource: Resource) -> None:
        self.claim(resource)
        spec = resource.spec
        assert isinstance(spec, GrafanaTemplateSpec)
        self.notifications.api.put_template(resource.key, spec.template, None, self.editable_for(""))
        self.record_applied(resource)

    def update(self, resource: Resource, live: LiveObject) -> None:
        self.claim(resource)
        spec = resource.spec
        assert isinstance(spec, GrafanaTemplateSpec)
        facts = facts_of(live, VersionedFacts)
        try:
            self.notifications.api.put_template(
                live.key, spec.template, facts.version, self.editable_for(facts.provenance)
            )
        except GrafanaApiError as exc:  # "version conflict": this write's own, its answer lost?
            now = self.notifications.api.template(live.key)
            accept_if(
                exc, (409,), now is not None and str(now.get("template") or "").rstrip() == spec.template.rstrip()
            )
        self.record_applied(resource)

    def delete(self, live: LiveObject) -> None:
        self.notifications.api.delete_template(live.key, facts_of(live, VersionedFacts).provenance == "")
        self.notifications.release(self.section, live.key)

    def describe_live(self, live: LiveObject) -> str:
        return f"template '{live.key}'"


class GrafanaNotificationPolicyProvider(_NotificationProvider[GrafanaNotificationPolicySpec, NotificationFacts]):
    section: Section = "policy"

    def read(self, request: ProviderRequest) -> list[LiveObject[NotificationFacts]]:
        tree = self.notifications.snapshot(request).policy_tree
        if tree is None or not self.in_scope(POLICY_KEY, request):
            return []
        provenance = str(tree.get("provenance") or "")
        obj = self.live_object(POLICY_KEY, route_state(tree, root=True), tree, NotificationFacts(provenance))
        if not obj.managed and request.of() and provenance == "" and is_default_tree(tree):
            obj.managed = True  # Grafana's default tree: nothing anyone configured is lost
        return [obj]

    def create(self, resource: Resource) -> None:
        self._write(resource, "")

    def update(self, resource: Resource, live: LiveObject) -> None:
        self._check_unchanged(live)
        self._write(resource, facts_of(live, NotificationFacts).provenance)

    def _check_unchanged(self, live: LiveObject) -> None:
        """Refuse to replace a tree someone changed since the plan read it: the PUT writes the
        whole tree and Grafana's legacy API gives it no version to check, so it is compared on
        content."""
        changed = changed_fields(dict(live.raw or {}), self.notifications.api.policy_tree())
        if changed:
            raise ReconcilerError(
                f"the notification policy tree changed in Grafana since plan ({', '.join(changed)}); re-plan: "
                "nothing was written, so the edit made there is kept"
            )

    def _write(self, resource: Resource, provenance: str) -> None:
        self.claim(resource)
        spec = resource.spec
        assert isinstance(spec, GrafanaNotificationPolicySpec)
        self.notifications.api.put_policy_tree(api_policy_tree(spec), self.editable_for(provenance))
        self.record_applied(resource)

    def delete(self, live: LiveObject) -> None:
        self.notifications.api.reset_policy_tree(facts_of(live, NotificationFacts).provenance == "")
        self.notifications.release(self.section, live.key)

    def describe_live(self, live: LiveObject) -> str:
        return "the notification policy tree"


def _versioned(answer: dict[str, Any]) -> VersionedFacts:
    """The facts of a mute timing or template as Grafana answered it."""
    version = answer.get("version")
    return VersionedFacts(provenance=str(answer.get("provenance") or ""), version=str(version) if version else None)
