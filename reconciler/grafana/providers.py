"""Grafana folders, rule groups and alert rules: the three providers (reads, checks, writes).

Ownership is recorded in Grafana itself: reconciler's rules carry the annotation
`reconciler_managed_by: reconciler/<project>` (and `reconciler_spec`, the declaring document's
name). Folders cannot carry metadata in Grafana, so a folder counts as managed when a spec
declares it, or when it holds reconciler's rules and no declared group still uses it; a folder's
prevent_destroy rides on reconciler's rules in it (`reconciler_folder_prevent_destroy`), since a
folder without them is never deleted, and what reconciler last applied to it is recorded in the
project's ledger (`folders` section; see `notification_model.Ledger`). An interval change of a group holding rules reconciler
does not manage is refused: Grafana would rewrite those rules with the new interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.diagnostics import Diagnostic
from reconciler.errors import ReconcilerError
from reconciler.kinds.base import FactsT, LiveObject, Resource, SpecT, facts_of
from reconciler.last_applied import FIELD as APPLIED_FIELD
from reconciler.last_applied import applied_digest
from reconciler.plan.model import Action, ApiCall, Operation
from reconciler.providers.base import Adopted, GeneratedSpecs, Provider, ReplaceIncomplete
from reconciler.providers.request import ProviderRequest

from .client import GrafanaApiError, GrafanaClient
from .facts import AlertRuleFacts, FolderFacts, RuleGroupFacts, RuleSummary
from .kinds import rule_child, rule_path
from .notification_providers import notifications_for
from .ownership import (
    APPLIED_DIGEST_ANNOTATION,
    FOLDER_OWNED_ANNOTATION,
    FOLDER_PREVENT_DESTROY_ANNOTATION,
    PREVENT_DESTROY_ANNOTATION,
    SPEC_ANNOTATION,
    rule_annotations,
)
from .rule_form import live_rule_state, uncarriable_fields
from .snapshot import backend_for
from .spec_generation import SpecGenerator
from .spec_model import AlertRuleChild, GrafanaFolderSpec, GrafanaRuleGroupSpec
from .write_steps import (
    CREATE_FOLDER,
    CREATE_RULE,
    DELETE_FOLDER,
    DELETE_RULE,
    FORGET_FOLDER,
    GROUP_INTERVAL,
    MARK_FOLDER_PROTECTION,
    MOVE_FOLDER,
    PARK_TITLE,
    RECORD_FOLDER,
    RENAME_FOLDER,
    UPDATE_RULE,
    temporary_title,
)

if TYPE_CHECKING:
    from reconciler.providers.provider_target import ProviderTarget


ALERTING_KINDS = ("GrafanaFolder", "GrafanaRuleGroup", "GrafanaAlertRule")


class _GrafanaProvider(Provider[SpecT, FactsT]):
    backend = "grafana"
    live_system = "grafana"
    # A rule's, group's or folder's plan needs the declared objects of the other two kinds.
    sees_kinds = ALERTING_KINDS

    def __init__(self, kind: Any, target: ProviderTarget) -> None:
        super().__init__(kind, target)
        self.grafana = backend_for(target)

    def apply(
        self, request: ProviderRequest, op: Operation, resource: Resource | None, live: LiveObject | None
    ) -> None:
        """Exactly the calls the plan lists for `op`, in order (see `write_steps`)."""
        if not op.calls:
            raise ReconcilerError(
                f"{op.address}: the plan lists no API calls for it (made by an older reconciler?); make a new plan"
            )
        deleted = False
        for call in op.calls:
            try:
                self.execute(request, call, op, resource, live)
            except Exception as exc:
                if op.action is Action.REPLACE and deleted:
                    raise ReplaceIncomplete(
                        f"{op.kind} '{op.name}': the old rule {op.replaces_key or op.key} was deleted, but creating the new "
                        f"one failed: {exc}. Nothing of it exists now. Finish the replace with: {self.target.finish_command}"
                    ) from exc
                raise
            deleted |= call.purpose == DELETE_RULE

    def execute(
        self, request: ProviderRequest, call: ApiCall, op: Operation, resource: Resource | None, live: LiveObject | None
    ) -> None:
        client, grafana = self.grafana.client, self.grafana
        uid = call.path.rsplit("/", 1)[-1]
        if call.purpose == CREATE_FOLDER and resource is not None:
            try:
                client.create_folder(resource.state["title"], resource.key, resource.state.get("parent"))
            except GrafanaApiError as exc:
                # A retry after a lost answer meets the folder it created: accept it if it is ours.
                existing = client.get_folder(resource.key) if exc.status in (400, 409, 412) else None
                if not _same_folder(existing, resource, parent=True):
                    raise
        elif call.purpose == RENAME_FOLDER and resource is not None and live is not None:
            # The version read at plan time: a folder changed since is refused (412), not overwritten.
            try:
                client.update_folder(live.key, resource.state["title"], facts_of(live, FolderFacts).version or 0)
            except GrafanaApiError as exc:
                # Unless the change is this rename's own, whose answer was lost (its retry then
                # meets the version it made): the folder reads back with the new title.
                if exc.status not in (409, 412) or not _same_folder(client.get_folder(live.key), resource):
                    raise
        elif call.purpose == MOVE_FOLDER and resource is not None and live is not None:
            client.move_folder(live.key, resource.state.get("parent"))
        elif call.purpose == DELETE_FOLDER:
            # Never forceDeleteRules: a rule added behind the plan's back makes Grafana refuse (400)
            # instead of silently deleting it with the folder. A nested folder may already be gone
            # with its parent.
            try:
                client.delete_folder(op.key)
            except GrafanaApiError as exc:
                if exc.status != 404:
                    raise
        elif call.purpose == RECORD_FOLDER and resource is not None:
            # After the folder's own writes succeeded: a failed write never records a digest.
            digest = applied_digest(self.kind.fields, resource.state)
            notifications_for(self.target).record_applied("folders", resource.key, resource.name, digest)
        elif call.purpose == FORGET_FOLDER:
            notifications_for(self.target).release("folders", op.key)
        elif call.purpose == MARK_FOLDER_PROTECTION and resource is not None:
            grafana.check_unchanged(uid)
            body = grafana.live_rule(uid)
            annotations = dict(rule_annotations(body))
            if resource.lifecycle.prevent_destroy:
                annotations[FOLDER_PREVENT_DESTROY_ANNOTATION] = "true"
            else:
                annotations.pop(FOLDER_PREVENT_DESTROY_ANNOTATION, None)
            body["annotations"] = annotations
            grafana.wrote(uid, client.update_rule(uid, body, disable_provenance=grafana.provenance_of(uid) == ""))
        elif call.purpose == PARK_TITLE:
            grafana.check_unchanged(uid)
            body = grafana.live_rule(uid)
            body["title"] = temporary_title(str(body.get("title") or ""))
            grafana.wrote(uid, client.update_rule(uid, body, disable_provenance=grafana.provenance_of(uid) == ""))
        elif call.purpose == CREATE_RULE and resource is not None:
            body = grafana.rule_body(request, resource, resource.key)
            created: dict[str, Any] | None
            try:
                created = client.create_rule(body, disable_provenance=grafana.keeps_editable(None))
            except GrafanaApiError as exc:
                # A retry after a lost answer meets the rule it created (409 on the uid the plan
                # chose): success when the rule there is exactly the one written.
                created = _get_or_none(client, resource.key) if exc.status == 409 else None
                if not _same_rule(created, body):
                    raise
            grafana.wrote(resource.key, created)
        elif call.purpose == UPDATE_RULE and resource is not None:
            # No version to send (the provisioning API has none for rules): re-read just before.
            grafana.check_unchanged(uid)
            body = grafana.rule_body(request, resource, uid)
            grafana.wrote(uid, client.update_rule(uid, body, disable_provenance=grafana.keeps_editable(uid)))
        elif call.purpose == DELETE_RULE:
            # A rule edited in Grafana since plan is not the one the plan deleted: refused, kept.
            if not grafana.check_unchanged(uid, gone_ok=True):
                return
            try:
                client.delete_rule(uid, disable_provenance=grafana.provenance_of(uid) == "")
            except GrafanaApiError as exc:
                if exc.status != 404:  # gone already (a retried delete whose answer was lost)
                    raise
        elif call.purpose == GROUP_INTERVAL:
            folder, _, group = call.path.removeprefix("/api/v1/provisioning/folder/").partition("/rule-groups/")
            declared = next((r for r in request.of("GrafanaRuleGroup") if r.key == f"{folder}/{group}"), None)
            if declared is None:
                raise ReconcilerError(f"rule group {folder}/{group} is not declared in the specs")
            grafana.check_group_members(folder, group, {r.key for r in call.rewrites})
            grafana.write_interval(folder, group, int(declared.state["interval"]))
        else:
            raise ReconcilerError(f"{op.address}: cannot execute the planned call {call.line()}")

    def create(self, resource: Resource) -> None:
        raise ReconcilerError(f"{resource.kind} '{resource.name}': Grafana writes run the plan's calls")

    def update(self, resource: Resource, live: LiveObject) -> None:
        self.create(resource)

    def delete(self, live: LiveObject) -> None:
        raise ReconcilerError(f"{live.kind} {live.key}: Grafana writes run the plan's calls")


@dataclass
class _FolderRead:
    """What the folder read found out about one folder, before it becomes a live object."""

    spec: Resource | None
    managed: bool
    summaries: tuple[RuleSummary, ...]
    prevent_destroy: bool

    @property
    def unmanaged_titles(self) -> list[str | None]:
        return [s.title for s in self.summaries if not s.managed]


class GrafanaFolderProvider(_GrafanaProvider[GrafanaFolderSpec, FolderFacts]):
    def read(self, request: ProviderRequest) -> list[LiveObject[FolderFacts]]:
        snap = self.grafana.snapshot(request)
        declared = {r.key: r for r in request.of()}
        group_folders = {r.state["folder"] for r in request.of("GrafanaRuleGroup")}
        facts: dict[str, _FolderRead] = {}
        for uid, folder in sorted(snap.folders.items()):
            if folder is None:
                continue
            inside = snap.in_folder(uid)
            ours = [r for r in inside if self.grafana.is_managed(r)]
            spec = declared.get(uid)
            # Undeclared, a folder is reconciler's only while it holds reconciler's rules, all written
            # while a spec declared the folder (never a hand-made folder whose rules were imported).
            owned = bool(ours) and all(rule_annotations(r).get(FOLDER_OWNED_ANNOTATION) == "true" for r in ours)
            facts[uid] = _FolderRead(
                spec=spec,
                managed=spec is not None or (owned and uid not in group_folders),
                summaries=tuple(self.grafana.rule_summary(r) for r in inside),
                prevent_destroy=self._protected(spec, ours),
            )
        blockers: dict[tuple[str, bool], str | None] = {}
        self._contents: dict[str, dict[str, int]] = {}
        # What reconciler last applied to each folder (the run's one ledger read, shared).
        recorded = notifications_for(self.target).ledger()[0].entries["folders"] if facts else {}
        out = []
        for uid, fact in facts.items():
            folder = snap.folders[uid] or {}
            locked = (
                self._delete_blocker(uid, facts, blockers, top=True) if fact.managed and fact.spec is None else None
            )
            out.append(
                LiveObject(
                    kind=self.kind.name,
                    key=uid,
                    state={"title": folder.get("title"), "parent": folder.get("parentUid") or None},
                    managed=fact.managed,
                    name=fact.spec.name if fact.spec is not None else None,
                    # What a delete would take with it is part of what was planned against: a
                    # dashboard or subfolder added after `plan --out` makes the saved plan stale.
                    raw={
                        **{k: folder.get(k) for k in ("uid", "title", "parentUid", "version")},
                        "contents": self._contents.get(uid),
                    },
                    facts=FolderFacts(rules=fact.summaries, version=_int_or_none(folder.get("version"))),
                    locked_reason=locked,
                    prevent_destroy=fact.prevent_destroy,
                    applied_digest=str(recorded[uid].get(APPLIED_FIELD) or "") or None
                    if fact.managed and uid in recorded
                    else None,
                )
            )
        return out

    def _delete_blocker(
        self, uid: str, facts: dict[str, _FolderRead], memo: dict[tuple[str, bool], str | None], top: bool = False
    ) -> str | None:
        """Why deleting folder `uid` would take something reconciler must not delete, or None.

        Grafana deletes a folder with everything below it: its rules, its dashboards and library
        panels, its subfolders and theirs. Only reconciler's rules may go, and subfolders that are
        themselves reconciler's to delete; the folder's counts say what else is there."""
        if (uid, top) in memo:
            return memo[(uid, top)]
        memo[(uid, top)] = "it is being checked"  # a cycle cannot happen in Grafana; never recurse forever
        fact = facts.get(uid)
        reason: str | None = None
        if fact is None or not fact.managed:
            reason = "reconciler does not manage it"
        elif fact.spec is not None:
            reason = f"it is still declared ({fact.spec.source})"
        elif fact.prevent_destroy and not top:  # the folder's own: the planner's refusal says it
            reason = "it was applied with lifecycle.prevent_destroy"
        elif fact.unmanaged_titles:
            titles = fact.unmanaged_titles
            reason = (
                f"it holds {len(titles)} alert rule(s) reconciler does not manage "
                f"({', '.join(repr(t) for t in titles)}); deleting the folder would delete them"
            )
        else:
            try:
                counts = self.grafana.client.folder_counts(uid)
            except GrafanaApiError as exc:
                counts = {}
                reason = f"Grafana cannot say what else it holds ({exc}); delete it by hand if it is empty"
            self._contents[uid] = counts
            others = {k: v for k, v in counts.items() if k not in ("folder", "alertrule") and v}
            if others:
                listing = ", ".join(f"{v} {k}(s)" for k, v in sorted(others.items()))
                reason = f"it holds {listing}; deleting the folder would delete them"
            elif counts.get("folder"):
                for child in self.grafana.client.list_folders(uid):
                    why = self._delete_blocker(child["uid"], facts, memo)
                    if why:
                        reason = f"deleting it would also delete its subfolder '{child.get('title')}' ({child['uid']}), but {why}"
                        break
        memo[(uid, top)] = reason
        return reason

    @staticmethod
    def _protected(spec: Resource | None, ours: list[dict[str, Any]]) -> bool:
        """The folder's prevent_destroy as recorded on reconciler's rules in it (a rule that is itself
        protected protects its folder too). With none of reconciler's rules inside, the folder is
        never deleted (an undeclared folder is then left alone), so the spec's value stands."""
        if not ours:
            return spec.lifecycle.prevent_destroy if spec is not None else False
        # While declared, only the folder's own marker counts (else a protected rule would make
        # the folder's lifecycle differ from its spec forever).
        keys = (
            (FOLDER_PREVENT_DESTROY_ANNOTATION,)
            if spec is not None
            else (FOLDER_PREVENT_DESTROY_ANNOTATION, PREVENT_DESTROY_ANNOTATION)
        )
        return any(rule_annotations(r).get(key) == "true" for r in ours for key in keys)

    def check(self, request: ProviderRequest) -> list[Diagnostic]:
        snap = self.grafana.snapshot(request)
        folders = request.of()
        declared = {r.key for r in folders}
        errors = []
        for res in folders:
            parent = res.state.get("parent")
            if parent and parent not in declared and snap.folders.get(parent) is None and self._missing(parent):
                errors.append(
                    res.error(
                        ("spec", "parent"),
                        f"parent folder {parent!r} does not exist in Grafana and no GrafanaFolder declares it",
                    )
                )
            elif parent and self._below(parent, res.key, {r.key: r.state.get("parent") for r in folders}):
                errors.append(
                    res.error(
                        ("spec", "parent"),
                        f"folder {parent!r} is inside {res.key!r} (in Grafana or in the specs): a folder cannot move into its own subfolder",
                    )
                )
        return errors

    def _below(self, uid: str, ancestor: str, declared_parents: dict[str, str | None]) -> bool:
        """Whether folder `uid` sits below `ancestor` once the specs are applied: declared folders
        by their spec's parent, the others by Grafana's."""
        seen: set[str] = set()
        current: str | None = uid
        while current is not None and current not in seen:
            if current == ancestor:
                return True
            seen.add(current)
            if current in declared_parents:
                current = declared_parents[current]
            else:
                live = self.grafana.snapshot().folders.get(current) or self.grafana.client.get_folder(current)
                current = (live or {}).get("parentUid") or None
        return False

    def _missing(self, uid: str) -> bool:
        return self.grafana.client.get_folder(uid) is None


class GrafanaRuleGroupProvider(_GrafanaProvider[GrafanaRuleGroupSpec, RuleGroupFacts]):
    def read(self, request: ProviderRequest) -> list[LiveObject[RuleGroupFacts]]:
        snap = self.grafana.snapshot(request)
        declared_keys = {r.key for r in request.of()}
        out = []
        for (folder_uid, group), interval in sorted(snap.intervals.items()):
            members = snap.in_group(folder_uid, group)
            ours = [r for r in members if self.grafana.is_managed(r)]
            names = {rule_annotations(r).get(SPEC_ANNOTATION) for r in ours} - {None}
            out.append(
                LiveObject(
                    kind=self.kind.name,
                    key=f"{folder_uid}/{group}",
                    state={"folder": folder_uid, "group": group, "interval": interval},
                    # A group has no owner of its own: declared, reconciler writes its rules into it
                    # and carries every other rule over (an interval change over them is refused).
                    managed=bool(ours) or f"{folder_uid}/{group}" in declared_keys,
                    name=names.pop() if len(names) == 1 else None,
                    raw={"interval": interval, "rules": [r.get("uid") for r in members]},
                    facts=RuleGroupFacts(rules=tuple(self.grafana.rule_summary(r) for r in members)),
                    prevent_destroy=bool(ours)
                    and all(rule_annotations(r).get(PREVENT_DESTROY_ANNOTATION) == "true" for r in ours),
                )
            )
        return out

    def check(self, request: ProviderRequest) -> list[Diagnostic]:
        snap = self.grafana.snapshot(request)
        declared_folders = {r.key for r in request.of("GrafanaFolder")}
        errors = []
        for res in request.of():
            folder = res.state["folder"]
            if folder not in declared_folders and snap.folders.get(folder) is None:
                errors.append(
                    res.error(
                        ("spec", "folder"),
                        f"folder {folder!r} does not exist in Grafana and no GrafanaFolder declares it",
                    )
                )
            live_interval = snap.intervals.get((folder, res.state["group"]))
            if live_interval is not None and live_interval != res.state["interval"]:
                members = snap.in_group(folder, res.state["group"])
                locked = [r.get("title") for r in members if r.get("provenance") == "file"]
                foreign = [r.get("title") for r in members if not self.grafana.is_managed(r)]
                if foreign and not locked:
                    errors.append(
                        res.error(
                            ("spec", "interval"),
                            f"the group holds {len(foreign)} rule(s) reconciler does not manage ({', '.join(repr(t) for t in foreign)}): "
                            "Grafana has one interval per group, so changing it would rewrite them too (new interval, reset "
                            "evaluation state, the write's provenance). Adopt them first with "
                            f"`{self.target.import_command('GrafanaRuleGroup', res.key)}` (and declare them), "
                            "or move them to another group in Grafana",
                        )
                    )
                if locked:
                    errors.append(
                        res.error(
                            ("spec", "interval"),
                            f"the group holds rules provisioned from files ({', '.join(repr(t) for t in locked)}): Grafana refuses to "
                            "rewrite them, so the interval cannot be changed through the API",
                        )
                    )
        return errors

    def adopt(self, request: ProviderRequest, key: str, name: str | None = None) -> Adopted:
        """Adopt the rules of group `key` that its spec declares (by uid, or by title in the
        folder); the group's other rules stay unmanaged, never to be deleted by a later plan."""
        folder, _, group = key.partition("/")
        declared = self.declaring(request, key)
        if declared is None:
            raise ReconcilerError(
                f"no GrafanaRuleGroup spec declares {key}; write its spec first (or use --generate-specs)"
            )
        current = self.grafana.client.get_group(folder, group)
        if current is None:
            raise ReconcilerError(f"no rule group {key!r} in Grafana (expected FOLDER_UID/GROUP)")
        children = [r for r in request.of("GrafanaAlertRule") if rule_child(r).group_name == declared.name]
        keys = {c.key for c in children}
        # A rule whose spec gives an explicit uid is that uid and nothing else; one with a derived
        # uid is matched by its title in the folder.
        titles = {c.state["title"] for c in children if rule_child(c).rule.uid is None}
        live = list(current.get("rules") or [])
        uids = {r["uid"] for r in live if r.get("uid") in keys or r.get("title") in titles}
        if not uids:
            raise ReconcilerError(
                f"no rule of group {key} matches a rule its spec declares (by uid, or by title for rules without an explicit "
                "uid): there is nothing to adopt; `reconciler plan` creates the spec's rules in the group and leaves the others"
            )
        notes = self.grafana.adopt_rules(request, folder, group, uids, name or declared.name)
        others = [f"'{r.get('title')}' ({self.grafana.other_owner(r)})" for r in live if self.grafana.other_owner(r)]
        if others:
            notes.append(f"managed by other projects, left alone: {', '.join(others)}")
        left = [
            r.get("title")
            for r in live
            if r["uid"] not in uids and not self.grafana.is_managed(r) and not self.grafana.other_owner(r)
        ]
        if left:
            notes.append(
                f"left unmanaged (the spec does not declare them; reconciler will never change or delete them): "
                f"{', '.join(repr(t) for t in left)}"
            )
        return Adopted(key, notes)

    def generate_specs(self, request: ProviderRequest, selector: str, source: Path | None) -> GeneratedSpecs:
        return SpecGenerator(self.grafana, self.expand_env).generate(request, selector, source)


class GrafanaAlertRuleProvider(_GrafanaProvider[AlertRuleChild, AlertRuleFacts]):
    # Grafana allows one rule per title in a folder: the old rule goes first.
    replace_deletes_first = True
    # Each rule is written through its own endpoint, touching no other rule: consecutive rule
    # writes run --parallelism at once, except where the plan orders one after another
    # (`Operation.after`: a title handed over).
    parallel_writes = True

    def notes(self) -> list[str]:
        return list(self.grafana.snapshot().notes)

    def read(self, request: ProviderRequest) -> list[LiveObject[AlertRuleFacts]]:
        snap = self.grafana.snapshot(request)
        wanted = {r.key for r in request.of()}
        summaries = [self.grafana.rule_summary(rule) for rule in snap.rules]
        by_group: dict[str, list[RuleSummary]] = {}
        for rule, summary in zip(snap.rules, summaries):
            by_group.setdefault(f"{rule.get('folderUID')}/{rule.get('ruleGroup')}", []).append(summary)
        # One index shared by every rule's facts (the kind picks the group a write touches).
        groups = {key: tuple(members) for key, members in by_group.items()}
        out = []
        for rule, summary in zip(snap.rules, summaries):
            managed = summary.managed
            if not (managed or rule.get("uid") in wanted or rule.get("folderUID") in snap.scope_folders):
                continue
            annotations = rule_annotations(rule)
            provenance = rule.get("provenance") or ""
            out.append(
                LiveObject(
                    kind=self.kind.name,
                    key=rule["uid"],
                    state=live_rule_state(rule),
                    managed=managed,
                    name=f"{rule.get('folderUID')}/{rule.get('title')}" if managed else None,
                    owner=self.grafana.other_owner(rule),
                    raw={k: v for k, v in rule.items() if k != "updated"},
                    facts=AlertRuleFacts(
                        rule=summary, spec=annotations.get(SPEC_ANNOTATION) if managed else None, groups=groups
                    ),
                    locked_reason=(
                        "it is provisioned from a file (provenance 'file'): Grafana refuses changes to it through the API; "
                        "change it in the provisioning files instead"
                        if provenance == "file"
                        else _uncarriable_reason(rule)
                    ),
                    prevent_destroy=managed and annotations.get(PREVENT_DESTROY_ANNOTATION) == "true",
                    applied_digest=annotations.get(APPLIED_DIGEST_ANNOTATION) if managed else None,
                )
            )
        return out

    def check(self, request: ProviderRequest) -> list[Diagnostic]:
        snap = self.grafana.snapshot(request)
        wanted = {r.key for r in request.of()}
        errors = []
        by_title: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
        for rule in snap.rules:
            by_title.setdefault((rule.get("folderUID"), rule.get("title")), []).append(rule)
        for res in request.of():
            for rule in by_title.get((res.state["folder"], res.state["title"]), ()):
                if rule.get("uid") != res.key and not self.grafana.is_managed(rule) and rule.get("uid") not in wanted:
                    group_key = f"{rule.get('folderUID')}/{rule.get('ruleGroup')}"
                    # The group, when the spec declares the rule in the group it lives in; else the rule.
                    hint = (
                        self.target.import_command("GrafanaRuleGroup", group_key)
                        if group_key == f"{res.state['folder']}/{res.state['group']}"
                        else self.target.import_command("GrafanaAlertRule", str(rule.get("uid")))
                    )
                    explicit = rule_child(res).rule.uid is not None
                    path = rule_path(res, "title")
                    other = self.grafana.other_owner(rule)
                    if other:
                        errors.append(
                            res.error(
                                path,
                                f"folder {res.state['folder']} already has a rule titled {res.state['title']!r} (uid "
                                f"{rule.get('uid')}, group {rule.get('ruleGroup')}) that another project manages ({other}); "
                                "choose another title",
                            )
                        )
                        continue
                    errors.append(
                        res.error(
                            path,
                            f"folder {res.state['folder']} already has a rule titled {res.state['title']!r} (uid {rule.get('uid')}, "
                            f"group {rule.get('ruleGroup')}) that reconciler does not manage; "
                            + (
                                f"to adopt it, set the spec's uid to {rule.get('uid')} and run `{hint}`"
                                if explicit
                                else f"adopt it with `{hint}`"
                            )
                            + ", or choose another title",
                        )
                    )
        return errors

    def describe_live(self, live: LiveObject) -> str:
        return f"rule {live.key}"

    def declaring(self, request: ProviderRequest, key: str) -> Resource[AlertRuleChild] | None:
        """The declared rule with this uid, or else the one declared with the live rule's title in
        its folder (a spec rule whose uid is derived)."""
        declared = super().declaring(request, key)
        if declared is not None:
            return declared
        rule = self.grafana.snapshot(request).rule(key)
        if rule is None:
            return None
        return next(
            (
                r
                for r in self.declared_resources(request)
                if r.state["folder"] == rule.get("folderUID")
                and r.state["title"] == rule.get("title")
                and rule_child(r).rule.uid is None
            ),
            None,
        )

    def adopt(self, request: ProviderRequest, key: str, name: str | None = None) -> Adopted:
        try:
            rule = self.grafana.client.get_rule(key)
        except GrafanaApiError as exc:
            if exc.status == 404:
                raise ReconcilerError(f"no alert rule with uid {key!r} in Grafana") from None
            raise
        declared = self.declaring(request, key)
        if declared is None:
            raise ReconcilerError(
                f"no GrafanaRuleGroup spec declares a rule with uid {key} or title {rule.get('title')!r}"
            )
        spec_name = rule_child(declared).group_name
        notes = self.grafana.adopt_rules(request, rule["folderUID"], rule["ruleGroup"], {key}, spec_name)
        return Adopted(key, notes)


def _int_or_none(value: Any) -> int | None:
    return int(value) if value is not None else None


def _uncarriable_reason(rule: dict[str, Any]) -> str | None:
    """Why a rule cannot be written without losing something: Grafana holds key(s) inside an
    object the spec rewrites whole (a newer Grafana's setting reconciler does not know)."""
    paths = uncarriable_fields(rule)
    if not paths:
        return None
    return (
        f"Grafana holds field(s) reconciler does not model inside objects it rewrites: {', '.join(paths)}; "
        "writing the rule would clear them, so it is refused (change it in Grafana, or upgrade reconciler)"
    )


_RULE_DEFINITION = ("uid", "title", "condition", "data", "for", "folderUID", "ruleGroup", "labels", "annotations")


def _same_folder(live: dict[str, Any] | None, resource: Resource, parent: bool = False) -> bool:
    """Whether Grafana's folder has the declared title (and parent: a top-level folder reads
    back without `parentUid`, so absent and empty are the same)."""
    if live is None or live.get("title") != resource.state["title"]:
        return False
    return not parent or (live.get("parentUid") or None) == (resource.state.get("parent") or None)


def _get_or_none(client: GrafanaClient, uid: str) -> dict[str, Any] | None:
    try:
        return client.get_rule(uid)
    except GrafanaApiError:
        return None


def _same_rule(live: dict[str, Any] | None, written: dict[str, Any]) -> bool:
    """Whether `live` is the rule `written` (its definition and our markers), so an ambiguous
    create can be taken as done."""
    if live is None:
        return False
    # Grafana omits empty `labels` / `annotations` (omitempty): {} written reads back as absent.
    return all((live.get(k) or None) == (written.get(k) or None) for k in _RULE_DEFINITION if k in written)
