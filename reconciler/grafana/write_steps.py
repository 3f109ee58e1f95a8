"""The API calls apply makes for the Grafana operations of a plan (pure: no I/O).

A rule is created, updated (also moved) and deleted through the provisioning API's per-rule
endpoints, which touch no other rule: a write never replaces a rule the plan did not name, and
resets the alert state of no rule it did not change. Only what nothing else can do goes through a
whole-group write: a group's interval (`PUT …/rule-groups/{group}` with the interval alone).
That write rewrites every rule of the group whose interval differs (Grafana gives a new rule the
group's interval, or 60 s in a new group; a rule moved in keeps the interval it had), so it is
planned with exactly those rules listed, other owners' included, after the rule writes that put
them there. A group exists through its rules: creating or deleting one is no call at all.

Order within a folder: Grafana allows one rule per title in a folder, so a rule that takes over a
title another rule gives up (renamed, moved away or deleted) is written after it; when rules
swap titles, the first one's write is preceded by a write that parks the other under a
temporary title (that rule's own write follows and gives it its final title).

A folder has no field to carry what reconciler applied to it, so each folder write is followed by
a write of the project's ledger (the Grafana template the notification kinds use) recording the
folder's applied digest; a folder delete is followed by one dropping it. Drift then tells a folder
edited in Grafana from a spec change not applied yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.kinds.base import LiveObject, Resource, facts_of
from reconciler.plan.model import Action, ApiCall, Operation, Rewritten
from reconciler.plan.steps import StepView

from .facts import FolderFacts
from .notification_model import ledger_name
from .spec_model import MAX_NAME_LENGTH, format_duration

FOLDER, GROUP, RULE = "GrafanaFolder", "GrafanaRuleGroup", "GrafanaAlertRule"
RULES_PATH = "/api/v1/provisioning/alert-rules"
DEFAULT_INTERVAL_SECONDS = 60  # what Grafana gives a group created by a single-rule POST
TEMPORARY_TITLE_SUFFIX = " (reconciler: renaming)"

# `ApiCall.purpose` values, read by the providers that execute the calls.
CREATE_FOLDER, RENAME_FOLDER, MOVE_FOLDER, DELETE_FOLDER = (
    "create-folder",
    "rename-folder",
    "move-folder",
    "delete-folder",
)
CREATE_RULE, UPDATE_RULE, DELETE_RULE = "create-rule", "update-rule", "delete-rule"
MARK_FOLDER_PROTECTION = "mark-folder-protection"  # a folder's prevent_destroy, recorded on a rule of ours
PARK_TITLE = "park-title"  # a rule written under a temporary title, to free its title
GROUP_INTERVAL = "group-interval"
RECORD_FOLDER, FORGET_FOLDER = "record-folder", "forget-folder"  # the folder's entry in the project's ledger


def rule_path(uid: str) -> str:
    return f"{RULES_PATH}/{uid}"


def group_path(folder: str, group: str) -> str:
    return f"/api/v1/provisioning/folder/{folder}/rule-groups/{group}"


def temporary_title(title: str) -> str:
    return title[: MAX_NAME_LENGTH - len(TEMPORARY_TITLE_SUFFIX)] + TEMPORARY_TITLE_SUFFIX


def plan_grafana_calls(ops: list[Operation], view: StepView) -> list[Operation]:
    """`ops` with the calls of every Grafana operation planned, rules ordered by the titles they
    take over, each group's interval write after its rules, and group operations that need no
    call dropped."""
    for op in ops:
        if op.kind == FOLDER:
            op.calls = _folder_calls(op, view, ops)
        elif op.kind == RULE:
            op.calls = _rule_calls(op, view)
    ops = _order_rules_by_title(ops, view)
    _keep_group_order(ops, view)
    return _group_interval_writes(ops, view)


# --- folders ----------------------------------------------------------------------------------
def _folder_calls(op: Operation, view: StepView, ops: list[Operation]) -> list[ApiCall]:
    desired, live = view.resource(op), view.before(op)
    ledger = f"/api/v1/provisioning/templates/{ledger_name(view.owner)}"
    if op.action is Action.CREATE and desired is not None:
        parent = desired.state.get("parent")
        where = f" in folder {parent}" if parent else ""
        return [
            ApiCall(
                "POST", "/api/folders", f"create folder '{desired.state['title']}' (uid {op.key}){where}", CREATE_FOLDER
            ),
            ApiCall(
                "PUT", ledger, f"record what was applied to folder {op.key} in the project's ledger", RECORD_FOLDER
            ),
        ]
    if op.action is Action.DELETE:
        title = live.state.get("title") if live is not None else op.key
        return [
            ApiCall(
                "DELETE",
                f"/api/folders/{op.key}",
                f"delete folder '{title}' (never with forceDeleteRules)",
                DELETE_FOLDER,
            ),
            ApiCall("PUT", ledger, f"drop folder {op.key} from the project's ledger", FORGET_FOLDER),
        ]
    if desired is None or live is None:
        return []
    calls = []
    if desired.state["title"] != live.state.get("title"):
        calls.append(
            ApiCall(
                "PUT",
                f"/api/folders/{op.key}",
                f"rename folder '{live.state.get('title')}' -> '{desired.state['title']}' (at version {facts_of(live, FolderFacts).version})",
                RENAME_FOLDER,
            )
        )
    if desired.state.get("parent") != live.state.get("parent"):
        to = f"into folder {desired.state['parent']}" if desired.state.get("parent") else "to the top level"
        calls.append(ApiCall("POST", f"/api/folders/{op.key}/move", f"move folder {to}", MOVE_FOLDER))
    if desired.lifecycle.prevent_destroy != live.prevent_destroy:
        # Recorded on reconciler's rules in the folder (a rule this plan deletes or recreates needs none).
        written = {o.replaces_key or o.key for o in ops if o.kind == RULE and o.action is not Action.UPDATE}
        state = "set" if desired.lifecycle.prevent_destroy else "clear"
        for rule in view.live_of(RULE):
            if rule.state.get("folder") == op.key and rule.managed and rule.key not in written:
                calls.append(
                    ApiCall(
                        "PUT",
                        rule_path(rule.key),
                        f"{state} the folder's prevent_destroy marker on rule '{rule.state.get('title')}' (nothing else changes)",
                        MARK_FOLDER_PROTECTION,
                    )
                )
    calls.append(
        ApiCall("PUT", ledger, f"record what was applied to folder {op.key} in the project's ledger", RECORD_FOLDER)
    )
    return calls


# --- rules ------------------------------------------------------------------------------------
def _rule_calls(op: Operation, view: StepView) -> list[ApiCall]:
    desired, live = view.resource(op), view.before(op)
    if op.action is Action.DELETE:
        title = live.state.get("title") if live is not None else op.key
        return [ApiCall("DELETE", rule_path(op.key), f"delete rule '{title}'", DELETE_RULE)]
    if desired is None:
        return []
    place = f"{desired.state['folder']}/{desired.state['group']}"
    create = ApiCall("POST", RULES_PATH, f"create rule '{desired.state['title']}' in {place}", CREATE_RULE)
    if op.action is Action.CREATE:
        return [create]
    if op.action is Action.REPLACE:
        old = op.replaces_key or op.key
        return [
            ApiCall("DELETE", rule_path(old), f"delete rule uid {old} (recreated under uid {op.key})", DELETE_RULE),
            create,
        ]
    assert live is not None
    before = f"{live.state.get('folder')}/{live.state.get('group')}"
    what = (
        f"move rule '{live.state.get('title')}' {before} -> {place}"
        if before != place
        else f"update rule '{live.state.get('title')}'"
    )
    fields = sorted({c.path.split(".")[0] for c in op.changes} - {"folder", "group"})
    if fields:
        what += f" ({', '.join(fields)})"
    return [ApiCall("PUT", rule_path(op.key), what, UPDATE_RULE)]


@dataclass
class _Place:
    folder: str
    title: str


def _wanted(op: Operation, view: StepView) -> _Place | None:
    """The (folder, title) an operation's rule ends up with; None for a delete."""
    desired = view.resource(op)
    if op.action is Action.DELETE or desired is None:
        return None
    return _Place(desired.state["folder"], desired.state["title"])


def _order_rules_by_title(ops: list[Operation], view: StepView) -> list[Operation]:
    slots = [i for i, op in enumerate(ops) if op.kind == RULE]
    rule_ops = [ops[i] for i in slots]
    if len(rule_ops) < 2:
        return ops
    # The live rule each operation writes, and who holds each (folder, title) now.
    op_of_rule: dict[str, Operation] = {}
    for op in rule_ops:
        old = op.replaces_key if op.action is Action.REPLACE else op.key
        if old:
            op_of_rule[old] = op
    holder: dict[tuple[str, str], LiveObject] = {
        (str(r.state.get("folder")), str(r.state.get("title"))): r for r in view.live_of(RULE)
    }

    def blocker(op: Operation) -> LiveObject | None:
        """The live rule that still holds the title `op` wants, if its own operation frees it."""
        place = _wanted(op, view)
        if place is None or op.action is Action.REPLACE:
            return None  # a replace deletes its old rule first
        held = holder.get((place.folder, place.title))
        if held is None or held.key == op.key or held.key not in op_of_rule:
            return None
        freeing = op_of_rule[held.key]
        then = _wanted(freeing, view)
        return held if then is None or (then.folder, then.title) != (place.folder, place.title) else None

    pending, done, freed = list(rule_ops), set(), set()
    parked_by: dict[str, Operation] = {}  # a rule parked under a temporary title -> the op that parks it
    ordered: list[Operation] = []
    while pending:
        ready = next(
            (o for o in pending if (b := blocker(o)) is None or id(op_of_rule[b.key]) in done or b.key in freed), None
        )
        if ready is None:  # a cycle of titles: park the first rule's blocker under a temporary title
            ready = pending[0]
            parked = blocker(ready)
            assert parked is not None
            freed.add(parked.key)
            parked_by[parked.key] = ready
            ready.calls.insert(
                0,
                ApiCall(
                    "PUT",
                    rule_path(parked.key),
                    f"park rule '{parked.state.get('title')}' under a temporary title, freeing its title (its own write follows)",
                    PARK_TITLE,
                    rewrites=[Rewritten(parked.key, str(parked.state.get("title")), parked.managed, parked.owner)],
                ),
            )
            # The parked rule's own write gives it its final title: after the parking.
            _wait_for(op_of_rule[parked.key], ready)
        else:
            held = blocker(ready)
            if held is not None:  # it takes the title another write gives up (or a parking frees)
                _wait_for(ready, parked_by.get(held.key) or op_of_rule[held.key])
        pending.remove(ready)
        done.add(id(ready))
        ordered.append(ready)
    out = list(ops)
    for slot, op in zip(slots, ordered, strict=True):
        out[slot] = op
    return out


def _keep_group_order(ops: list[Operation], view: StepView) -> None:
    """Grafana appends a rule created (or moved) into a group at its end, so the writes that add
    rules to one group wait for each other, in the plan's order: the group ends in the spec's
    order whatever the parallelism (Grafana evaluates a group's rules in that order). Writes to
    different groups, and updates in place, stay independent."""
    last: dict[tuple[str, str], Operation] = {}
    for op in ops:
        if op.kind != RULE or op.action is Action.DELETE:
            continue
        desired, live = view.resource(op), view.before(op)
        if desired is None:
            continue
        place = (str(desired.state["folder"]), str(desired.state["group"]))
        stays = (
            op.action is Action.UPDATE
            and live is not None
            and (live.state.get("folder"), live.state.get("group")) == place
        )
        if stays:
            continue
        if place in last:
            _wait_for(op, last[place])
        last[place] = op


def _wait_for(op: Operation, earlier: Operation) -> None:
    """Record that `op` must not run before (or beside) `earlier` finished: apply runs independent
    rule writes at the same time, and these two share a title."""
    if earlier.address not in op.after and earlier is not op:
        op.after.append(earlier.address)


# --- group intervals --------------------------------------------------------------------------
@dataclass
class _Member:
    rule: str
    title: str
    interval: int
    managed: bool
    owner: str | None


def _group_interval_writes(ops: list[Operation], view: StepView) -> list[Operation]:
    groups = {r.key: r for r in view.desired_of(GROUP)}
    live_groups = {g.key: g for g in view.live_of(GROUP)}
    rule_ops = {o.replaces_key or o.key: o for o in ops if o.kind == RULE}
    members: dict[str, list[_Member]] = {key: [] for key in groups}
    last_writer: dict[str, Operation] = {}
    for rule in view.live_of(RULE):
        place = f"{rule.state.get('folder')}/{rule.state.get('group')}"
        op = rule_ops.get(rule.key)
        if op is not None and (op.action in (Action.DELETE, Action.REPLACE) or _target_group(op, view) != place):
            continue  # deleted, recreated or moved away: counted where it goes
        if place in members:
            interval = _live_interval(live_groups.get(place))
            members[place].append(_Member(rule.key, str(rule.state.get("title")), interval, rule.managed, rule.owner))
    for op in ops:
        if op.kind != RULE or op.action is Action.DELETE:
            continue
        target = _target_group(op, view)
        if target not in members:
            continue
        desired = view.resource(op)
        assert desired is not None
        live = view.before(op)
        if op.action is Action.UPDATE and live is not None:
            source = f"{live.state.get('folder')}/{live.state.get('group')}"
            if source == target:
                continue  # already counted among the group's rules
            interval = _live_interval(live_groups.get(source))  # a moved rule keeps its interval
        else:
            existing = live_groups.get(target)
            interval = _live_interval(existing) if existing is not None else DEFAULT_INTERVAL_SECONDS
        members[target].append(_Member(op.key, desired.state["title"], interval, True, None))
        last_writer[target] = op

    out = [o for o in ops if o.kind != GROUP]
    group_ops = {}
    for op in ops:
        if op.kind == GROUP and op.action is not Action.DELETE:
            desired = view.resource(op)
            if desired is not None:
                group_ops[desired.key] = op
    for key, resource in groups.items():
        interval = int(resource.state["interval"])
        differing = [m for m in members[key] if m.interval != interval]
        if not differing:
            continue
        before = "/".join(sorted({format_duration(m.interval) for m in differing}))
        call = ApiCall(
            "PUT",
            group_path(resource.state["folder"], resource.state["group"]),
            f"writes group {key}: interval {before} -> {format_duration(interval)}",
            GROUP_INTERVAL,
            rewrites=[Rewritten(m.rule, m.title, m.managed, m.owner) for m in differing],
        )
        group_op = group_ops.get(key)
        if group_op is None:
            writer = last_writer.get(key)
            if writer is not None:
                writer.calls.append(call)
            continue
        group_op.calls = [call]
        # After the last write of a rule that ends up in the group.
        after = max((i for i, o in enumerate(out) if o.kind == RULE and _target_group(o, view) == key), default=-1)
        position = after + 1 if after >= 0 else next((i for i, o in enumerate(out) if o.kind == RULE), len(out))
        out.insert(position, group_op)
    return out


def _target_group(op: Operation, view: StepView) -> str | None:
    desired: Resource | None = view.resource(op)
    if op.action is Action.DELETE or desired is None:
        return None
    return f"{desired.state['folder']}/{desired.state['group']}"


def _live_interval(group: LiveObject | None) -> int:
    return (
        int(group.state.get("interval") or DEFAULT_INTERVAL_SECONDS) if group is not None else DEFAULT_INTERVAL_SECONDS
    )
