"""Typed facts of the Grafana kinds (pure): what the providers read beside a live object's state.

The contract between the Grafana providers, which write these facts, and the kinds and write
steps, which read them (`facts_of(live, FolderFacts)`): the rules a folder or group holds and
their alert instances for the warnings, the version a folder rename is written against, the
integration uids a contact point update writes over. Every field defaults to "not known", so a
live object made by hand in a planner test reads as an empty folder, a rule with no alerts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.kinds.base import Facts


@dataclass(frozen=True)
class RuleSummary:
    """One live rule as the warnings name it: its title, whose it is, its alert instances now."""

    uid: str | None = None
    title: str | None = None
    managed: bool = False
    provenance: str = ""  # Grafana's provenance of the rule ("" none, "api", "file")
    firing: int = 0
    pending: int = 0
    state_known: bool = True  # False: Grafana's rule state could not be read (the counts are 0)


def alert_counts(rule: RuleSummary) -> str:
    """How many of the rule's alert instances fire or are pending, as a warning says it."""
    if not rule.state_known:
        return "its current alert state could not be read"
    if not rule.firing and not rule.pending:
        return "no alert instances are firing or pending now"
    return f"{rule.firing} alert instance(s) firing and {rule.pending} pending now"


@dataclass(frozen=True)
class FolderFacts(Facts):
    rules: tuple[RuleSummary, ...] = ()  # every rule in the folder, reconciler's or not
    version: int | None = None  # the folder's version: a rename is written against it


@dataclass(frozen=True)
class RuleGroupFacts(Facts):
    rules: tuple[RuleSummary, ...] = ()  # every rule in the group, reconciler's or not


@dataclass(frozen=True)
class AlertRuleFacts(Facts):
    rule: RuleSummary = RuleSummary()  # the rule itself
    spec: str | None = None  # the declaring document's name, recorded on reconciler's rules
    # Every read rule by group (`folderUid/group`): some Grafana versions reset the state of every
    # rule in a group that is written, the rule's own or the one it moves into (the kind picks).
    groups: Mapping[str, tuple[RuleSummary, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class NotificationFacts(Facts):
    """Facts of a notification object (the policy tree's; the base of the others')."""

    provenance: str = ""  # Grafana's provenance of the object ("" none, "api", "file")
    used_by: tuple[str, ...] = ()  # what refers to it: Grafana refuses its delete while anything does


@dataclass(frozen=True)
class ContactPointFacts(NotificationFacts):
    # Its integrations' uids in Grafana's order: an update writes over them, extra ones are deleted.
    uids: tuple[str, ...] = ()


@dataclass(frozen=True)
class VersionedFacts(NotificationFacts):
    """Facts of a mute timing or a template: the version a write is made against."""

    version: str | None = None
