"""Kinds `GrafanaFolder` and `GrafanaRuleGroup` (and the rules a group declares).

A `GrafanaRuleGroup` document is Grafana's own unit (folder, group name, interval, rules), the
same unit as file provisioning and Terraform's `grafana_rule_group`. The planner works one level
finer: each rule of a group is planned as a `GrafanaAlertRule` object of its own (create, update
field by field, delete), the group only for its interval. That is what lets a rule move between
groups as an update of that rule (its uid is kept) instead of a delete and a create, and what
keeps the evaluation-state warnings per rule.

Identities: a folder is its uid; a group is `folderUid/group`; a rule is its uid (explicit, or
derived from folder, group and title). Grafana-specific planning rules live in the hooks here;
the planner stays generic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError

from reconciler.diagnostics import Diagnostic, FieldPath
from reconciler.kinds.base import Kind, LiveObject, Locator, Resource, SourceRef, duplicate_keys, facts_of
from reconciler.plan.model import Operation
from reconciler.plan.steps import StepView

from .facts import AlertRuleFacts, FolderFacts, RuleGroupFacts, alert_counts
from .field_tables import ALERT_RULE_FIELDS, FOLDER_FIELDS, RULE_GROUP_FIELDS
from .rule_form import desired_rule_state, unmodelled_fields
from .spec_model import (
    UID_PATTERN,
    AlertRuleChild,
    GrafanaFolderSpec,
    GrafanaRuleGroupSpec,
    RuleSpec,
    format_duration,
    group_name_of,
    rule_problems,
    rule_uid,
)
from .write_steps import plan_grafana_calls

BACKEND = "grafana"
# How many other rules of a group an update warning names before it only counts them.
GROUP_LISTING_CAP = 10


def rule_child(res: Resource) -> AlertRuleChild:
    """The spec of a `GrafanaAlertRule` object (a rule and where its group puts it)."""
    spec = res.spec
    assert isinstance(spec, AlertRuleChild), f"{res.kind} {res.name} is not a GrafanaAlertRule"
    return spec


def group_spec(res: Resource) -> GrafanaRuleGroupSpec:
    spec = res.spec
    assert isinstance(spec, GrafanaRuleGroupSpec), f"{res.kind} {res.name} is not a GrafanaRuleGroup"
    return spec


class GrafanaFolderKind(Kind[GrafanaFolderSpec, FolderFacts]):
    name = "GrafanaFolder"
    spec_model = GrafanaFolderSpec
    rank = 50
    default_backend = BACKEND
    description = "A Grafana folder (holds alert rule groups)."
    fields = FOLDER_FIELDS

    def key(self, name: str, spec: GrafanaFolderSpec) -> str:
        return spec.uid or name

    def spec_errors(self, name: str, spec: GrafanaFolderSpec) -> list[Diagnostic]:
        import re

        if spec.uid is None and not re.match(UID_PATTERN, name):
            return [
                Diagnostic.error(
                    f"{name!r} is not a valid Grafana uid (1-40 letters, digits, '-', '_'); set spec.uid",
                    ("metadata", "name"),
                )
            ]
        if spec.parent is not None and spec.parent == (spec.uid or name):
            return [Diagnostic.error("a folder cannot be its own parent", ("spec", "parent"))]
        return []

    def desired_state(self, spec: GrafanaFolderSpec) -> dict[str, Any]:
        return {"title": spec.title, "parent": spec.parent}

    def depends_on(self, spec: GrafanaFolderSpec) -> list[tuple[str, str]]:
        return [(self.name, spec.parent)] if spec.parent else []

    def validate_all(self, resources: Sequence[Resource]) -> list[Diagnostic]:
        errors = _duplicates(resources, _field_or_name("uid"), "folder uid")
        parents = {r.key: r.state.get("parent") for r in resources}
        for res in resources:
            seen = [res.key]
            parent = parents.get(res.key)
            while parent in parents and parent not in seen:
                seen.append(parent)
                parent = parents[parent]
            if parent == res.key:
                chain = " -> ".join([*seen, res.key])
                errors.append(res.error(("spec", "parent"), f"folders cannot nest in a cycle: {chain}"))
        return errors

    def loss_warnings(self, live: LiveObject[FolderFacts], action: str) -> list[str]:
        rules = facts_of(live, FolderFacts).rules
        if not rules:
            return [f"folder '{live.state.get('title')}' ({live.key}) is deleted; it holds no alert rules"]
        listing = "; ".join(
            f"'{r.title}' ({'managed' if r.managed else 'NOT managed by reconciler'}, {alert_counts(r)})" for r in rules
        )
        return [f"deleting folder '{live.state.get('title')}' ({live.key}) deletes every alert rule in it: {listing}"]

    def update_warnings(self, desired: Resource, live: LiveObject[FolderFacts]) -> list[str]:
        rules = facts_of(live, FolderFacts).rules
        out = []
        if desired.state["title"] != live.state.get("title") and rules:
            firing = sum(r.firing for r in rules)
            out.append(
                f"renaming the folder changes the grafana_folder label of its {len(rules)} rule(s): their alert instances get new "
                f"label sets, so {firing} firing instance(s) resolve and fire again (notifications are sent again)"
            )
        ours = [r for r in rules if r.managed]
        if desired.lifecycle.prevent_destroy != live.prevent_destroy and ours:
            listing = "; ".join(f"'{r.title}' ({alert_counts(r)})" for r in ours)
            out.append(
                f"a Grafana folder has no field for it, so prevent_destroy is recorded in an annotation on reconciler's "
                f"{len(ours)} rule(s) in it; Grafana rewrites them and resets their evaluation state: {listing}"
            )
        return out

    def describe(self, state: dict[str, Any]) -> str:
        return f"folder '{state.get('title')}'" + (f" in {state['parent']}" if state.get("parent") else "")


class GrafanaRuleGroupKind(Kind[GrafanaRuleGroupSpec, RuleGroupFacts]):
    name = "GrafanaRuleGroup"
    spec_model = GrafanaRuleGroupSpec
    rank = 60
    default_backend = BACKEND
    description = "A Grafana alert rule group: folder, evaluation interval and rules."
    fields = RULE_GROUP_FIELDS

    def key(self, name: str, spec: GrafanaRuleGroupSpec) -> str:
        return f"{spec.folder}/{group_name_of(name, spec)}"

    def desired_state(self, spec: GrafanaRuleGroupSpec) -> dict[str, Any]:
        # The group's own fields; its rules are objects of their own (see `expand`).
        return {"folder": spec.folder, "group": spec.group or "", "interval": spec.interval}

    def spec_errors(self, name: str, spec: GrafanaRuleGroupSpec) -> list[Diagnostic]:
        out: list[Diagnostic] = []
        if spec.group is None and "/" in name:
            out.append(Diagnostic.error("group names must not contain '/'; set spec.group", ("metadata", "name")))
        return out + _rule_errors(list(enumerate(spec.rules)))

    def salvage_errors(self, spec: Any) -> list[Diagnostic]:
        rules = spec.get("rules") if isinstance(spec, dict) else None
        valid: list[tuple[int, RuleSpec]] = []
        for index, raw in enumerate(rules if isinstance(rules, list) else []):
            try:
                valid.append((index, RuleSpec.model_validate(raw)))
            except ValidationError:
                continue  # its own errors are among the document's
        return _rule_errors(valid)

    def expand(self, resource: Resource, locate: Callable[[tuple[str | int, ...]], SourceRef]) -> list[Resource]:
        spec = group_spec(resource)
        group = group_name_of(resource.name, spec)
        # desired_state() sees only the spec; the group name may default to metadata.name.
        resource.state["group"] = group
        children: list[Resource] = []
        for index, rule in enumerate(spec.rules):
            child = AlertRuleChild(
                rule=rule,
                folder=spec.folder,
                group=group,
                interval=spec.interval,
                group_name=resource.name,
                index=index,
                lifecycle=spec.lifecycle,
            )
            children.append(
                Resource(
                    kind=GrafanaAlertRuleKind.name,
                    name=f"{spec.folder}/{rule.title}",
                    key=rule_uid(spec.folder, group, rule),
                    spec=child,
                    state=desired_rule_state(spec.folder, group, rule),
                    source=locate(("spec", "rules", index, "title")),
                    labels=dict(resource.labels),
                    depends_on=[(self.name, resource.key), (GrafanaFolderKind.name, spec.folder)],
                    lines=resource.lines,  # the group document's: `rule_path` locates a rule's fields
                )
            )
        return children

    def validate_all(self, resources: Sequence[Resource]) -> list[Diagnostic]:
        return _duplicates(resources, _field_or_name("group"), "rule group")

    def find_moved(
        self, desired: Resource, candidates: Sequence[LiveObject[RuleGroupFacts]]
    ) -> LiveObject[RuleGroupFacts] | None:
        # A renamed group (or one moved to another folder): recorded under the same document
        # name, or else the one group holding reconciler's rules with this document's titles.
        for obj in candidates:
            if obj.name is not None and obj.name == desired.name:
                return obj
        titles = {rule.title for rule in group_spec(desired).rules}
        sharing = [o for o in candidates if titles & {r.title for r in facts_of(o, RuleGroupFacts).rules if r.managed}]
        return sharing[0] if len(sharing) == 1 else None

    def move_in_place(self, desired: Resource, live: LiveObject) -> bool:
        # Its rules move one by one (updates that keep their uids); unmanaged rules stay behind.
        return True

    def update_warnings(self, desired: Resource, live: LiveObject[RuleGroupFacts]) -> list[str]:
        if desired.state["interval"] == live.state.get("interval") or desired.key != live.key:
            return []
        rules = facts_of(live, RuleGroupFacts).rules
        # (A group holding rules reconciler does not manage is refused by the provider's check.)
        listing = "; ".join(f"'{r.title}' ({alert_counts(r)})" for r in rules)
        return [
            f"the interval ({format_duration(live.state.get('interval') or 0)} -> {format_duration(desired.state['interval'])}) "
            f"belongs to the group: Grafana rewrites all {len(rules)} rule(s) in it and resets their evaluation state: {listing}"
        ]

    def describe(self, state: dict[str, Any]) -> str:
        return f"group '{state.get('group')}' in folder {state.get('folder')}, interval {format_duration(state.get('interval') or 0)}"


class GrafanaAlertRuleKind(Kind[AlertRuleChild, AlertRuleFacts]):
    """A rule of a GrafanaRuleGroup document, planned on its own (never a document itself)."""

    name = "GrafanaAlertRule"
    spec_model = AlertRuleChild
    rank = 70
    default_backend = BACKEND
    standalone = False
    description = "An alert rule, declared inside a GrafanaRuleGroup."
    fields = ALERT_RULE_FIELDS

    def key(self, name: str, spec: AlertRuleChild) -> str:
        return rule_uid(spec.folder, spec.group, spec.rule)

    def desired_state(self, spec: AlertRuleChild) -> dict[str, Any]:
        return desired_rule_state(spec.folder, spec.group, spec.rule)

    def validate_all(self, resources: Sequence[Resource]) -> list[Diagnostic]:
        errors = _duplicates(resources, _rule_uid_source, "rule uid")
        by_title: dict[tuple[str, str], list[Resource]] = defaultdict(list)
        for res in resources:
            by_title[(res.state["folder"], res.state["title"])].append(res)
        for (folder, title), group in by_title.items():
            first = group[0]
            for dup in group[1:]:
                if rule_child(dup).group_name == rule_child(first).group_name:
                    continue  # reported by the document's own check
                errors.append(
                    dup.error(
                        rule_path(dup, "title"),
                        f"rule title {title!r} is already used in folder {folder} "
                        f"({first.locate(rule_path(first, 'title'))}); titles are unique per folder",
                    )
                )
        return errors

    def find_moved(
        self, desired: Resource, candidates: Sequence[LiveObject[AlertRuleFacts]]
    ) -> LiveObject[AlertRuleFacts] | None:
        # Same folder and title: moved to another group. Otherwise the one rule with that title.
        for obj in candidates:
            if obj.name == desired.name:
                return obj
        same_title = [o for o in candidates if o.state.get("title") == desired.state["title"]]
        if len(same_title) == 1:
            return same_title[0]
        # A derived uid includes the title, so a renamed rule has a new key: the one rule of the
        # same document that differs from it in nothing but the title is that rule, renamed.
        renamed = [
            o
            for o in candidates
            if facts_of(o, AlertRuleFacts).spec == rule_child(desired).group_name
            and _without_title(o.state) == _without_title(desired.state)
        ]
        return renamed[0] if len(renamed) == 1 else None

    def move_in_place(self, desired: Resource, live: LiveObject) -> bool:
        # A derived uid follows the rule's place; the live rule keeps its uid when it moves.
        # An explicit uid that changed is a new identity: a replace.
        return rule_child(desired).rule.uid is None

    def identity_change_reason(self, desired: Resource, live: LiveObject) -> str:
        return f"uid changed ({live.key} -> {desired.key}): Grafana cannot change a rule's uid, the rule is recreated"

    def update_warnings(self, desired: Resource, live: LiveObject[AlertRuleFacts]) -> list[str]:
        title = live.state.get("title")
        facts = facts_of(live, AlertRuleFacts)
        text = f"Grafana resets the evaluation state of rule '{title}' when it is updated: {alert_counts(facts.rule)}"
        if facts.rule.firing:
            text += "; firing alerts are evaluated afresh and may notify again"
        out = [text]
        was: dict[str, Any] = live.state.get("record") or {}
        wants: dict[str, Any] = desired.state.get("record") or {}
        if was and not wants:
            out.append(
                f"rule '{title}' turns from a recording rule into an alerting rule: Grafana stops recording "
                f"{was.get('metric')} and starts alerting on the query"
            )
        elif wants and not was:
            out.append(
                f"rule '{title}' turns from an alerting rule into a recording rule: it stops alerting and records "
                f"{wants.get('metric')}"
            )
        carried = sorted(unmodelled_fields(live.raw if isinstance(live.raw, dict) else {}))
        if carried:
            out.append(
                f"rule '{title}' has field(s) reconciler does not model: {', '.join(carried)}; "
                "they are written back unchanged"
            )
        group = f"{desired.state['folder']}/{desired.state['group']}"  # the group written: the target of a move
        others = [r for r in facts.groups.get(group, ()) if r.uid != live.key]
        if others:
            # Busiest first, so a capped list still shows what would re-notify.
            ranked = sorted(others, key=lambda r: (-r.firing, -r.pending, str(r.title)))
            shown = "; ".join(f"'{r.title}' ({alert_counts(r)})" for r in ranked[:GROUP_LISTING_CAP])
            more = f"; and {len(ranked) - GROUP_LISTING_CAP} more" if len(ranked) > GROUP_LISTING_CAP else ""
            firing = sum(r.firing for r in others)
            out.append(
                f"some Grafana versions reset the evaluation state of every rule in the group "
                f"'{desired.state['group']}' when one of them is written; {len(others)} other rule(s) there, "
                f"{firing} firing instance(s) in all: {shown}{more}"
            )
        return out

    def loss_warnings(self, live: LiveObject[AlertRuleFacts], action: str) -> list[str]:
        title = live.state.get("title")
        what = "recreated under a new uid" if action == "replace" else "deleted"
        facts = facts_of(live, AlertRuleFacts)
        out = [
            f"rule '{title}' (uid {live.key}) is {what}: its alert state and state history are lost, and silences, "
            f"dashboards or links that reference uid {live.key} no longer match; {alert_counts(facts.rule)}"
        ]
        group = f"{live.state.get('folder')}/{live.state.get('group')}"
        unmanaged = [r.title for r in facts.groups.get(group, ()) if not r.managed]
        if action == "delete" and unmanaged:
            # A group exists through its rules: it stays in Grafana with the ones that are not ours.
            out.append(
                f"only reconciler's rules are deleted; group {group} stays in Grafana with {len(unmanaged)} rule(s) "
                f"reconciler does not manage: {', '.join(repr(t) for t in unmanaged)}"
            )
        return out

    def write_steps(self, ops: list[Operation], view: StepView) -> list[Operation]:
        # Visited last of the three Grafana kinds (highest rank): plans the calls of all of them.
        return plan_grafana_calls(ops, view)

    def describe(self, state: dict[str, Any]) -> str:
        return f"rule '{state.get('title')}' in {state.get('folder')}/{state.get('group')}"


def rule_path(res: Resource, field: str) -> FieldPath:
    """The path of a field of a `GrafanaAlertRule`, which is a rule inside its group document:
    diagnostics name `spec.rules[i].<field>` there, the path a user can find."""
    return ("spec", "rules", rule_child(res).index, field)


def _rule_errors(rules: list[tuple[int, RuleSpec]]) -> list[Diagnostic]:
    """A group document's own checks of its rules: each rule's problems, and titles used twice."""
    out: list[Diagnostic] = []
    titles: dict[str, int] = {}
    for index, rule in rules:
        out.extend(Diagnostic.error(message, ("spec", "rules", index, *path)) for path, message in rule_problems(rule))
        if rule.title in titles:
            out.append(
                Diagnostic.error(
                    f"title {rule.title!r} is already used by rules[{titles[rule.title]}]",
                    ("spec", "rules", index, "title"),
                )
            )
        titles.setdefault(rule.title, index)
    return out


def _rule_uid_source(res: Resource) -> FieldPath:
    """An explicit rule uid clashes at its own line; a derived one at the title it comes from."""
    return rule_path(res, "uid" if rule_child(res).rule.uid is not None else "title")


def _field_or_name(field: str) -> Locator:
    """Where an identity that defaults to metadata.name comes from: `spec.<field>` when the spec
    sets it, the document's name otherwise; an error points at whichever made the clash."""

    def locate(res: Resource) -> FieldPath:
        return ("spec", field) if getattr(res.spec, field, None) is not None else ("metadata", "name")

    return locate


def _without_title(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k != "title"}


def _duplicates(resources: Sequence[Resource], locate: Locator, what: str) -> list[Diagnostic]:
    return duplicate_keys(resources, locate, lambda dup, first, at: f"{what} {dup.key!r} is already declared at {at}")
