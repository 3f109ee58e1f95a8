"""Kinds `GrafanaContactPoint`, `GrafanaNotificationPolicy`, `GrafanaMuteTiming`, `GrafanaTemplate`
(pure: planning hooks and field tables; the provider is `notification_providers`).

Identities are Grafana's: a contact point, mute timing or template is its name; the policy tree is
one per organisation (key `policy-tree`): its document declares the whole tree. Apply order
follows the references: templates, then mute timings, then contact points (which may use
templates), then the policy tree (which routes to contact points and mutes with mute timings),
then folders and rules (whose notification settings name contact points); deletes run the other
way round.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from reconciler.diagnostics import Diagnostic, FieldPath
from reconciler.errors import SpecError
from reconciler.kinds.base import Kind, LiveObject, Resource, SourceRef, duplicate_keys, facts_of
from reconciler.kinds.fields import FieldRule, FieldTable, OnChange

from .facts import NotificationFacts
from .notification_model import (
    POLICY_KEY,
    GrafanaContactPointSpec,
    GrafanaMuteTimingSpec,
    GrafanaNotificationPolicySpec,
    GrafanaTemplateSpec,
    api_policy_tree,
    count_routes,
    desired_contact_point_state,
    integration_problems,
    policy_references,
    route_state,
    time_intervals_state,
)

BACKEND = "grafana"


def _name_source(res: Resource) -> FieldPath:
    return ("spec", "name") if getattr(res.spec, "name", None) is not None else ("metadata", "name")


def _duplicates(resources: Sequence[Resource], what: str) -> list[Diagnostic]:
    return duplicate_keys(
        resources, _name_source, lambda dup, first, at: f"{what} {dup.key!r} is already declared at {at}"
    )


def _line_text(file: str, line: int) -> str:
    try:
        lines = Path(file).read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    return lines[line - 1] if 0 < line <= len(lines) else ""


class _NamedKind(Kind):
    """A kind whose identity is a name defaulting to metadata.name: `desired_state` sees only
    the spec, so the state is completed with the resolved name once the document is loaded."""

    def key(self, name: str, spec: Any) -> str:
        return spec.name or name

    def named_state(self, name: str, spec: Any) -> dict[str, Any]:
        raise NotImplementedError

    def expand(self, resource: Resource, locate: Callable[[tuple[str | int, ...]], SourceRef]) -> list[Resource]:
        resource.state = self.named_state(resource.key, resource.spec)
        return []


class GrafanaContactPointKind(_NamedKind):
    name = "GrafanaContactPoint"
    spec_model = GrafanaContactPointSpec
    rank = 40
    default_backend = BACKEND
    description = "A Grafana contact point: a name and its integrations (email, webhook, Slack, ...)."
    fields = FieldTable(
        [
            FieldRule(
                "name",
                OnChange.IDENTITY,
                "contact point name (default metadata.name); policies and rules refer to it",
                replace_reason="a contact point's name is what policies and rules refer to",
            ),
            FieldRule("integrations", description="by position; each one an integration of Grafana's, own uid"),
            FieldRule("integrations.*.type"),
            FieldRule("integrations.*.settings", description="every key compared; secrets are not here"),
            FieldRule(
                "integrations.*.secure_settings",
                write_only=True,
                description="from ${env:NAME}; Grafana returns them redacted: compared with the digest recorded at apply in the ledger",
            ),
            FieldRule("integrations.*.disable_resolve_message", server_default=False),
            FieldRule("uid", server_owned=True, description="each integration's uid, kept on updates"),
            FieldRule("provenance", server_owned=True, description="api, none (editable) or file (refused)"),
        ]
    )

    def desired_state(self, spec: GrafanaContactPointSpec) -> dict[str, Any]:
        return desired_contact_point_state(spec.name or "", spec)

    def named_state(self, name: str, spec: Any) -> dict[str, Any]:
        return desired_contact_point_state(name, spec)

    def spec_errors(self, name: str, spec: GrafanaContactPointSpec) -> list[Diagnostic]:
        return [
            Diagnostic.error(message, path)
            for i, integ in enumerate(spec.integrations)
            for path, message in integration_problems(i, integ)
        ]

    def validate_all(self, resources: Sequence[Resource]) -> list[Diagnostic]:
        errors = _duplicates(resources, "contact point")
        for res in resources:
            spec = res.spec
            assert isinstance(spec, GrafanaContactPointSpec)
            for index, integ in enumerate(spec.integrations):
                for key in integ.secure_settings:
                    where = res.spec_source("integrations", index, "secure_settings", key)
                    if where.line != res.source.line and "${env:" not in _line_text(where.file, where.line):
                        errors.append(
                            res.error(
                                ("spec", "integrations", index, "secure_settings", key),
                                "secrets must come from the environment (${env:NAME}), never be written in a spec",
                            )
                        )
        return errors

    def loss_warnings(self, live: LiveObject, action: str) -> list[str]:
        used = facts_of(live, NotificationFacts).used_by
        text = (
            f"contact point '{live.key}' and its {len(live.state.get('integrations') or [])} integration(s) are deleted"
        )
        if used:
            text += f"; still referred to by: {', '.join(used)} (Grafana refuses the delete while it is)"
        return [text]

    def update_warnings(self, desired: Resource, live: LiveObject) -> list[str]:
        if any(
            v.startswith("secret:set outside")
            for i in live.state.get("integrations") or []
            for v in (i.get("secure_settings") or {}).values()
        ):
            return ["a secret of this contact point was set outside reconciler: it is written from the spec's ${env:}"]
        return []

    def describe(self, state: dict[str, Any]) -> str:
        kinds = ", ".join(str(i.get("type")) for i in state.get("integrations") or [])
        return f"contact point '{state.get('name')}' ({kinds})"


class GrafanaMuteTimingKind(_NamedKind):
    name = "GrafanaMuteTiming"
    spec_model = GrafanaMuteTimingSpec
    rank = 35
    default_backend = BACKEND
    description = "A Grafana mute timing: when routed notifications are muted (e.g. a maintenance window)."
    fields = FieldTable(
        [
            FieldRule(
                "name",
                OnChange.IDENTITY,
                "mute timing name (default metadata.name); policies refer to it",
                replace_reason="policies refer to a mute timing by name",
            ),
            FieldRule(
                "time_intervals",
                description="compared as Grafana returns them: months and weekdays by name, empty lists omitted",
            ),
            FieldRule("version", server_owned=True, description="optimistic-locking version, sent back on updates"),
            FieldRule("provenance", server_owned=True),
        ]
    )

    def desired_state(self, spec: GrafanaMuteTimingSpec) -> dict[str, Any]:
        return mute_timing_state(spec.name or "", spec)

    def named_state(self, name: str, spec: Any) -> dict[str, Any]:
        return mute_timing_state(name, spec)

    def validate_all(self, resources: Sequence[Resource]) -> list[Diagnostic]:
        return _duplicates(resources, "mute timing")

    def loss_warnings(self, live: LiveObject, action: str) -> list[str]:
        used = facts_of(live, NotificationFacts).used_by
        text = f"mute timing '{live.key}' is deleted: notifications are no longer muted then"
        if used:
            text += f"; still used by: {', '.join(used)} (Grafana refuses the delete while it is)"
        return [text]

    def describe(self, state: dict[str, Any]) -> str:
        return f"mute timing '{state.get('name')}' ({len(state.get('time_intervals') or [])} interval(s))"


class GrafanaTemplateKind(_NamedKind):
    name = "GrafanaTemplate"
    spec_model = GrafanaTemplateSpec
    rank = 30
    default_backend = BACKEND
    description = "A Grafana notification message template (Go template text)."
    fields = FieldTable(
        [
            FieldRule(
                "name",
                OnChange.IDENTITY,
                "template group name (default metadata.name)",
                replace_reason="Grafana names a template group by it",
            ),
            FieldRule("template", description="compared as text (trailing whitespace ignored)"),
            FieldRule("version", server_owned=True),
            FieldRule("provenance", server_owned=True),
        ]
    )

    def desired_state(self, spec: GrafanaTemplateSpec) -> dict[str, Any]:
        return template_state(spec.name or "", spec.template)

    def named_state(self, name: str, spec: Any) -> dict[str, Any]:
        return template_state(name, spec.template)

    def validate_all(self, resources: Sequence[Resource]) -> list[Diagnostic]:
        return _duplicates(resources, "template")

    def loss_warnings(self, live: LiveObject, action: str) -> list[str]:
        return [f"template '{live.key}' is deleted: contact points whose messages use it fail to render them"]

    def describe(self, state: dict[str, Any]) -> str:
        return f"template '{state.get('name')}'"


class GrafanaNotificationPolicyKind(Kind):
    name = "GrafanaNotificationPolicy"
    spec_model = GrafanaNotificationPolicySpec
    rank = 45
    default_backend = BACKEND
    description = "The organisation's notification policy tree, whole (one document per organisation)."
    fields = FieldTable(
        [
            FieldRule("receiver", description="the default contact point"),
            FieldRule("group_by"),
            FieldRule("group_wait", description="compared in Grafana's form (60s = 1m)"),
            FieldRule("group_interval"),
            FieldRule("repeat_interval"),
            FieldRule(
                "routes",
                description="child policies in order; each compared down to its matchers, timings and time intervals",
            ),
            FieldRule("routes.*.object_matchers", description='from `matchers: ["label = value"]`'),
            FieldRule("provenance", server_owned=True),
        ]
    )

    def key(self, name: str, spec: GrafanaNotificationPolicySpec) -> str:
        return POLICY_KEY

    def desired_state(self, spec: GrafanaNotificationPolicySpec) -> dict[str, Any]:
        return route_state(api_policy_tree(spec), root=True)

    def depends_on(self, spec: GrafanaNotificationPolicySpec) -> list[tuple[str, str]]:
        receivers, intervals = policy_references(api_policy_tree(spec))
        return [(GrafanaContactPointKind.name, r) for r in sorted(receivers)] + [
            (GrafanaMuteTimingKind.name, i) for i in sorted(intervals)
        ]

    def validate_all(self, resources: Sequence[Resource]) -> list[Diagnostic]:
        errors: list[Diagnostic] = []
        for res in resources[1:]:
            errors.append(
                SpecError(
                    res.source.file,
                    res.source.line,
                    "kind",
                    f"an organisation has one notification policy tree; it is already declared at {resources[0].source}",
                )
            )
        return errors

    def loss_warnings(self, live: LiveObject, action: str) -> list[str]:
        return [
            f"the notification policy tree is reset to Grafana's default (every alert to the default contact point): "
            f"its {count_routes(live.state)} child polic(ies) are lost"
        ]

    def describe(self, state: dict[str, Any]) -> str:
        return f"notification policy tree (default {state.get('receiver')}, {count_routes(state)} child polic(ies))"


def mute_timing_state(name: str, spec: GrafanaMuteTimingSpec) -> dict[str, Any]:
    return {"name": name, "time_intervals": time_intervals_state([i.model_dump() for i in spec.time_intervals])}


def template_state(name: str, text: str) -> dict[str, Any]:
    return {"name": name, "template": text.rstrip()}
