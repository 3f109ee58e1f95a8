"""The target's Grafana for one run: connection, provenance mode, the run's one read, writes.

One `GrafanaBackend` per run (shared by the Grafana providers through `ProviderTarget.shared`)
holds the client and reads Grafana once, scoped by the first provider request that asks (the
declared folders and groups; the backend holds no specs of its own): every rule with the one
list call (a 404 or 401 there is an error, never "nothing exists"), rule state from the
Prometheus-style rule API (for the alert-state warnings; its groups also carry each group's
interval, so no group is read on its own), and the in-scope folders.

Writes execute the calls the plan lists (`write_steps`): rule bodies come from the declared
state plus the ownership markers; a rule written back otherwise (a folder's protection marker, a
title parked during a swap) is the rule exactly as the run's read found it, with that one change.
Every write to an existing rule first re-reads it (`check_unchanged`): a rule someone edited in
Grafana after the run's read is refused, never overwritten — the legacy provisioning API takes no
version or precondition on a rule PUT, so this read just before the write is the check it allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reconciler.errors import ReconcilerError
from reconciler.kinds.base import Resource

from .client import GrafanaApiError, GrafanaClient
from .facts import RuleSummary, alert_counts
from .field_tables import ALERT_RULE_FIELDS
from .ownership import (
    APPLIED_DIGEST_ANNOTATION,
    FOLDER_OWNED_ANNOTATION,
    FOLDER_PREVENT_DESTROY_ANNOTATION,
    OWNER_ANNOTATION,
    PREVENT_DESTROY_ANNOTATION,
    SPEC_ANNOTATION,
    UID_ANNOTATION,
    is_managed,
    other_owner,
    rule_annotations,
)
from .rule_form import api_rule, unmodelled_fields
from .spec_model import AlertRuleChild, parse_duration

if TYPE_CHECKING:
    from reconciler.providers.provider_target import ProviderTarget
    from reconciler.providers.request import ProviderRequest


@dataclass
class GrafanaSnapshot:
    """What one run knows about Grafana, read once."""

    rules: list[dict[str, Any]]
    states: dict[str, dict[str, int]]
    intervals: dict[tuple[str, str], int]
    folders: dict[str, dict[str, Any] | None]
    scope_folders: set[str]
    notes: list[str] = field(default_factory=list)
    states_known: bool = True
    # The rules indexed once (by uid, folder, group), so lookups per rule stay linear at 1,000s.
    _by_uid: dict[str, dict[str, Any]] | None = field(default=None, repr=False, compare=False)
    _by_group: dict[tuple[str, str], list[dict[str, Any]]] | None = field(default=None, repr=False, compare=False)
    _by_folder: dict[str, list[dict[str, Any]]] | None = field(default=None, repr=False, compare=False)

    def rule(self, uid: str | None) -> dict[str, Any] | None:
        """The listed rule with this uid, if any."""
        if self._by_uid is None:
            self._by_uid = {r["uid"]: r for r in self.rules if r.get("uid")}
        return self._by_uid.get(uid) if uid else None

    def in_group(self, folder_uid: str, group: str) -> list[dict[str, Any]]:
        """The listed rules of one group, in list order."""
        if self._by_group is None:
            self._by_group = {}
            for r in self.rules:
                self._by_group.setdefault((r.get("folderUID") or "", r.get("ruleGroup") or ""), []).append(r)
        return self._by_group.get((folder_uid, group), [])

    def in_folder(self, folder_uid: str) -> list[dict[str, Any]]:
        """The listed rules of one folder, in list order."""
        if self._by_folder is None:
            self._by_folder = {}
            for r in self.rules:
                self._by_folder.setdefault(r.get("folderUID") or "", []).append(r)
        return self._by_folder.get(folder_uid, [])


class GrafanaBackend:
    """The target's Grafana: connection, provenance mode and the run's one read."""

    def __init__(self, target: ProviderTarget) -> None:
        self.target = target
        conn = target.config.grafana
        self.editable = conn is not None and conn.provenance == "editable"
        self._client: GrafanaClient | None = None
        self._snapshot: GrafanaSnapshot | None = None
        # Rules this run wrote, as Grafana answered: what a later write in the run expects to find.
        self._written: dict[str, dict[str, Any]] = {}

    @property
    def owner(self) -> str:
        return self.target.owner

    @property
    def client(self) -> GrafanaClient:
        if self._client is None:
            conn = self.target.config.grafana
            endpoint = self.target.grafana_endpoint()
            self._client = GrafanaClient(
                endpoint.url,
                endpoint.token,
                timeout=conn.timeout_seconds if conn else 30.0,
                org_id=conn.org_id if conn else None,
                retry=self.target.config.retries.policy(),
            )
        return self._client

    def markers(
        self, request: ProviderRequest, spec_name: str, prevent_destroy: bool, folder_uid: str, uid: str
    ) -> dict[str, str]:
        out = {OWNER_ANNOTATION: self.owner, SPEC_ANNOTATION: spec_name, UID_ANNOTATION: uid}
        if prevent_destroy:
            out[PREVENT_DESTROY_ANNOTATION] = "true"
        declared = next((r for r in request.of("GrafanaFolder") if r.key == folder_uid), None)
        if declared is not None:
            owned, protected = True, declared.lifecycle.prevent_destroy
        else:
            # Not declared now (its spec removed while groups still use it, or never declared):
            # keep what reconciler's rules in the folder record, so a rewrite never drops it.
            ours = [rule_annotations(r) for r in self.snapshot(request).in_folder(folder_uid) if self.is_managed(r)]
            owned = any(a.get(FOLDER_OWNED_ANNOTATION) == "true" for a in ours)
            protected = any(a.get(FOLDER_PREVENT_DESTROY_ANNOTATION) == "true" for a in ours)
        if owned:
            out[FOLDER_OWNED_ANNOTATION] = "true"
        if protected:
            out[FOLDER_PREVENT_DESTROY_ANNOTATION] = "true"
        return out

    def other_owner(self, rule: dict[str, Any]) -> str | None:
        """Another reconciler project's marker on `rule`, if another project manages it."""
        return other_owner(rule, self.owner)

    def is_managed(self, rule: dict[str, Any]) -> bool:
        return is_managed(rule, self.owner)

    # --- the one read --------------------------------------------------------------------------
    def snapshot(self, request: ProviderRequest | None = None) -> GrafanaSnapshot:
        """The run's one read, scoped by `request` (the declared folders and groups) when it is
        made; the calls after it (a run's writes follow its read) may leave `request` out."""
        if self._snapshot is None:
            if request is None:
                raise ReconcilerError("Grafana was asked for its state before the run read it (a provider bug)")
            self._snapshot = self._read(request)
        return self._snapshot

    def _read(self, request: ProviderRequest) -> GrafanaSnapshot:
        grafana_declared = request.any_of(("GrafanaFolder", "GrafanaRuleGroup"))
        if not grafana_declared and self.target.known_empty("grafana"):
            # Nothing can exist yet (a fresh local target), and connecting to find that out
            # would cost every SLA-only run.
            return GrafanaSnapshot([], {}, {}, {}, set())
        rules = self.client.list_rules()
        states: dict[str, dict[str, int]] = {}
        notes: list[str] = []
        try:
            state_groups = self.client.rule_states()
        except GrafanaApiError as exc:
            # Only the warnings depend on it: plan without the numbers, and say so.
            state_groups = []
            notes.append(f"alert state unavailable, update warnings carry no instance counts ({exc})")
        for group in state_groups:
            for rule in group.get("rules") or []:
                counts = {"firing": 0, "pending": 0}
                for alert in rule.get("alerts") or []:
                    state = str(alert.get("state", "")).lower()
                    if state in ("alerting", "firing") or state.startswith("alerting"):
                        counts["firing"] += 1
                    elif state == "pending":
                        counts["pending"] += 1
                if rule.get("uid"):
                    states[rule["uid"]] = counts
        declared_groups = {(r.state["folder"], r.state["group"]) for r in request.of("GrafanaRuleGroup")}
        managed_groups = {(r["folderUID"], r["ruleGroup"]) for r in rules if self.is_managed(r)}
        scope_folders = (
            {r.key for r in request.of("GrafanaFolder")}
            | {f for f, _ in declared_groups}
            | {r["folderUID"] for r in rules if self.is_managed(r)}
        )
        existing_groups = {(r["folderUID"], r["ruleGroup"]) for r in rules}
        wanted_groups = (declared_groups | managed_groups) & existing_groups
        intervals = self._intervals(state_groups, rules, wanted_groups)
        folders: dict[str, dict[str, Any] | None] = {}
        for uid in sorted(scope_folders):
            folders[uid] = self.client.get_folder(uid)
        return GrafanaSnapshot(rules, states, intervals, folders, scope_folders, notes, states_known=not notes)

    def _intervals(
        self, state_groups: list[dict[str, Any]], rules: list[dict[str, Any]], wanted: set[tuple[str, str]]
    ) -> dict[tuple[str, str], int]:
        """Each wanted group's interval without a request per group: from the rule-state answer
        already read (its groups carry `folderUid` and `interval` in seconds), else from the one
        export of every rule (`interval` as a duration, rules by uid: folder titles are not unique),
        and only for a group neither names, its own GET."""
        intervals: dict[tuple[str, str], int] = {}
        for group in state_groups:
            if group.get("folderUid") and group.get("interval") is not None:
                key = (str(group["folderUid"]), str(group.get("name")))
                if key in wanted:
                    intervals[key] = int(group["interval"])
        missing = wanted - intervals.keys()
        if missing:
            where = {r["uid"]: (r["folderUID"], r["ruleGroup"]) for r in rules if r.get("uid")}
            try:
                exported = self.client.export_rules().get("groups") or []
            except GrafanaApiError:
                exported = []  # not allowed to export: the groups are read one by one below
            for group in exported:
                for rule in group.get("rules") or []:
                    found = where.get(rule.get("uid"))
                    if found in missing and found not in intervals:
                        intervals[found] = parse_duration(group.get("interval") or 0)
        for folder_uid, group_name in sorted(wanted - intervals.keys()):
            answer = self.client.get_group(folder_uid, group_name)
            if answer is not None:
                intervals[(folder_uid, group_name)] = int(answer.get("interval") or 0)
        return intervals

    def rule_summary(self, rule: dict[str, Any]) -> RuleSummary:
        """`rule` as the warnings name it, with its alert instances from the run's read."""
        snap = self.snapshot()
        counts = snap.states.get(rule.get("uid", ""), {})
        return RuleSummary(
            uid=rule.get("uid"),
            title=rule.get("title"),
            managed=self.is_managed(rule),
            provenance=rule.get("provenance") or "",
            firing=counts.get("firing", 0),
            pending=counts.get("pending", 0),
            state_known=snap.states_known,
        )

    # --- writes ---------------------------------------------------------------------------------
    def rule_body(self, request: ProviderRequest, resource: Resource, uid: str) -> dict[str, Any]:
        """The ProvisionedAlertRule that writes a declared rule, ownership markers included."""
        spec = resource.spec
        assert isinstance(spec, AlertRuleChild)
        from reconciler.last_applied import applied_digest

        marks = self.markers(request, spec.group_name, spec.lifecycle.prevent_destroy, spec.folder, uid)
        marks[APPLIED_DIGEST_ANNOTATION] = applied_digest(ALERT_RULE_FIELDS, resource.state)
        return api_rule(resource.state, uid, marks, carry=self.carried(uid))

    def live_rule(self, uid: str) -> dict[str, Any]:
        """A rule as the run's read found it (or as this run last wrote it), as a body a per-rule
        PUT writes back unchanged."""
        rule = self._written.get(uid) or self.snapshot().rule(uid)
        if rule is None:
            raise ReconcilerError(f"rule {uid} was not in Grafana when the plan was made")
        return {k: v for k, v in rule.items() if k not in ("id", "updated", "provenance")}

    def check_unchanged(self, uid: str, gone_ok: bool = False) -> bool:
        """Refuse to write (or delete) rule `uid` if Grafana's copy is no longer the one this run
        planned against (or last wrote itself): someone edited or deleted it meanwhile. Compared
        on its content, not its `updated` time, which Grafana stores to the second only. Returns
        whether the rule exists (False only with `gone_ok`: a delete whose rule is gone already)."""
        expected = self._written.get(uid) or self.snapshot().rule(uid)
        if expected is None:
            raise ReconcilerError(f"rule {uid} was not in Grafana when the plan was made")
        title = expected.get("title")
        try:
            now = self.client.get_rule(uid)
        except GrafanaApiError as exc:
            if exc.status != 404:
                raise
            if gone_ok:
                return False
            raise ReconcilerError(
                f"rule '{title}' (uid {uid}) was deleted in Grafana since plan; re-plan: nothing was written"
            ) from None
        changed = changed_fields(expected, now)
        if changed:
            raise ReconcilerError(
                f"rule '{title}' (uid {uid}) changed in Grafana since plan ({', '.join(changed)}); re-plan: "
                "nothing was written, so the edit made there is kept"
            )
        return True

    def check_group_members(self, folder: str, group: str, planned: set[str]) -> None:
        """Refuse an interval write to a group holding a rule the plan did not count — added or
        moved in since the run's read, by a person or another apply: Grafana would rewrite it with
        the new interval too, and the plan listed every rule that write rewrites."""
        current = self.client.get_group(folder, group) or {}
        known = planned | set(self._written)
        known |= {
            str(r.get("uid"))
            for r in self.snapshot().rules
            if (r.get("folderUID"), r.get("ruleGroup")) == (folder, group)
        }
        new = [r for r in current.get("rules") or [] if str(r.get("uid")) not in known]
        if new:
            raise ReconcilerError(
                f"rule group {folder}/{group}: {len(new)} rule(s) joined it in Grafana since plan "
                f"({', '.join(repr(r.get('title')) for r in new)}); changing its interval would rewrite them too; "
                "re-plan: nothing was written"
            )

    def wrote(self, uid: str, answer: dict[str, Any] | None) -> None:
        """Record Grafana's answer to a write of rule `uid`, for the run's later checks."""
        if answer:
            self._written[uid] = answer

    def keeps_editable(self, uid: str | None) -> bool:
        """Whether a per-rule write sends X-Disable-Provenance: on an `editable` target, for a new
        rule or one without provenance. Grafana refuses (409) to turn `api` into none through a
        single-rule write, so a rule written locked before stays locked."""
        if not self.editable:
            return False
        rule = self.snapshot().rule(uid)
        return rule is None or not rule.get("provenance")

    def provenance_of(self, uid: str) -> str:
        rule = self.snapshot().rule(uid)
        return str((rule or {}).get("provenance") or "")

    def write_interval(self, folder: str, group: str, interval: int) -> None:
        """The group's interval alone (no `rules` in the body: Grafana then changes only the
        interval, rewriting exactly the rules whose interval differs)."""
        self.client.put_group(
            folder, group, {"title": group, "folderUid": folder, "interval": interval}, disable_provenance=self.editable
        )

    def carried(self, uid: str) -> dict[str, Any]:
        """The fields of live rule `uid` that reconciler does not model: every write sends them
        back exactly as read (a newer Grafana's field is never cleared by an update)."""
        rule = self.snapshot().rule(uid)
        return unmodelled_fields(rule) if rule else {}

    def adopt_rules(
        self, request: ProviderRequest, folder: str, group: str, uids: set[str], spec_name: str
    ) -> list[str]:
        """Write the ownership annotations onto the rules `uids` of one group, and nothing else:
        one per-rule PUT each, the rule sent back exactly as listed plus the annotations, with the
        provenance it has (an editable rule stays editable, a locked one locked). No other rule of
        the group is written. Returns the notes `reconciler import` prints."""
        # The list call carries provenance (a group GET does not).
        listed = [r for r in self.client.list_rules() if r.get("folderUID") == folder and r.get("ruleGroup") == group]
        if not listed:
            raise ReconcilerError(f"no rule group {folder}/{group} in Grafana")
        chosen = [r for r in listed if r.get("uid") in uids]
        for rule in chosen:
            owner = self.other_owner(rule)
            if owner:
                raise ReconcilerError(
                    f"rule '{rule.get('title')}' in {folder}/{group} is managed by {owner}; not taken over"
                )
            if rule.get("provenance") == "file":
                raise ReconcilerError(
                    f"rule '{rule.get('title')}' in {folder}/{group} is provisioned from a file (provenance 'file'): Grafana "
                    "refuses API writes to it, so reconciler cannot manage it; remove it from Grafana's provisioning files first"
                )
        todo = [r for r in chosen if rule_annotations(r).get(OWNER_ANNOTATION) != self.owner]
        self.snapshot(request)  # the alert state the notes count
        summaries = [self.rule_summary(r) for r in todo]
        for rule in todo:
            body = {k: v for k, v in rule.items() if k not in ("id", "updated", "provenance")}
            body["annotations"] = {
                **rule_annotations(rule),
                **self.markers(request, spec_name, False, folder, rule["uid"]),
            }
            self.client.update_rule(rule["uid"], body, disable_provenance=not rule.get("provenance"))
        notes = []
        if summaries:
            listing = "; ".join(f"'{r.title}' ({alert_counts(r)})" for r in summaries)
            notes.append(
                f"the ownership annotation was written onto {len(summaries)} rule(s); Grafana resets the evaluation state of a "
                f"rule it updates, so firing alerts are evaluated afresh and may notify again: {listing}"
            )
        return notes

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


_SERVER_OWNED = ("id", "updated")


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The fields in which two reads of a rule differ, the server's bookkeeping aside; an empty
    map or list and an absent one are the same (Grafana omits empty labels and annotations)."""
    keys = (set(before) | set(after)) - set(_SERVER_OWNED)
    return sorted(k for k in keys if (before.get(k) or None) != (after.get(k) or None))


def backend_for(target: ProviderTarget) -> GrafanaBackend:
    return target.shared("grafana", lambda: GrafanaBackend(target))
