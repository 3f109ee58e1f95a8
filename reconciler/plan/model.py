"""The plan: the review artifact and the contract between `plan` and `apply`.

Its JSON form is documented in the README and versioned by `format_version`; drift tooling and
reviewers parse it, and `apply --plan FILE` executes exactly the operations it lists.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.diagnostics import Diagnostic

FORMAT_VERSION = 1


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"

    @property
    def destructive(self) -> bool:
        return self in (Action.REPLACE, Action.DELETE)


@dataclass
class Change:
    path: str
    before: Any
    after: Any


@dataclass
class Rewritten:
    """An object a call writes besides the one its operation is about (e.g. every rule of a Grafana
    group whose interval changes), with whose it is: reviewers see what else is touched."""

    key: str
    name: str
    managed: bool  # reconciler's (this project's)
    owner: str | None = None  # another reconciler project managing it, if any

    @property
    def whose(self) -> str:
        if self.managed:
            return "ours"
        return f"managed by {self.owner}" if self.owner else "not ours"


@dataclass
class ApiCall:
    """One request apply makes, decided at plan time: apply executes exactly the calls listed.

    `method` is the HTTP verb (or `SQL` / `SDK` for backends that are not plain HTTP), `path` the
    endpoint with the object's identity filled in, `summary` one line for reviewers. `purpose`
    names the step for the provider that executes it; `rewrites` lists what else the call
    writes (other owners' objects included)."""

    method: str
    path: str
    summary: str
    purpose: str = ""
    rewrites: list[Rewritten] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApiCall:
        data = dict(data)
        data["rewrites"] = [Rewritten(**r) for r in data.get("rewrites", [])]
        return cls(**data)

    def detail(self) -> str:
        """The summary, and how many objects the call rewrites and how many are not ours."""
        if not self.rewrites:
            return self.summary
        not_ours = sum(1 for r in self.rewrites if not r.managed)
        return f"{self.summary}; rewrites {len(self.rewrites)} rule(s)" + (f", {not_ours} not ours" if not_ours else "")

    def line(self) -> str:
        return f"{self.method} {self.path}: {self.detail()}"


@dataclass
class Operation:
    action: Action
    kind: str
    name: str
    key: str
    changes: list[Change] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    destructive: bool = False
    # Fingerprint of the live object planned against; None when nothing existed (create).
    live_fingerprint: str | None = None
    # For a replace whose identity moved: the key of the live object that goes away.
    replaces_key: str | None = None
    source: str | None = None
    # The API calls apply makes for this operation, in order (see `plan.steps`).
    calls: list[ApiCall] = field(default_factory=list)
    # Addresses of earlier operations this one must wait for besides its kind's place in the plan
    # (a rule taking over the title another rule gives up): apply never runs it beside them.
    after: list[str] = field(default_factory=list)
    # The planner's refusals (severity error) and warnings about this operation's object, each
    # with its source; `warnings` keeps the warnings' text for renderers.
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.name}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["action"] = self.action.value
        data["diagnostics"] = [d.to_dict() for d in self.diagnostics]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Operation:
        data = dict(data)
        data["action"] = Action(data["action"])
        data["changes"] = [Change(**c) for c in data.get("changes", [])]
        data["calls"] = [ApiCall.from_dict(c) for c in data.get("calls", [])]
        data["diagnostics"] = [Diagnostic.from_dict(d) for d in data.get("diagnostics", [])]
        return cls(**data)


@dataclass
class Unmanaged:
    """A live object in scope that reconciler does not own: shown, never changed."""

    kind: str
    key: str
    description: str
    declared_by: str | None = None  # a spec that claims it (then the plan is refused)


@dataclass
class Migration:
    """A schema change a live system needs before its objects can be written (e.g. reconciler's
    ownership columns on a table the SLA framework created). Shown by the plan; `apply` runs it
    before any operation, and only with --allow-migrate."""

    kind: str
    target: str  # what is changed, e.g. the table name
    description: str
    statements: list[str] = field(default_factory=list)  # what will run, for the reviewer

    @property
    def address(self) -> str:
        return f"{self.kind} {self.target}"


@dataclass
class Unchanged:
    kind: str
    name: str
    key: str


@dataclass
class Plan:
    tool_version: str
    target: str
    specs_digest: str
    operations: list[Operation] = field(default_factory=list)
    unchanged: list[Unchanged] = field(default_factory=list)
    unmanaged: list[Unmanaged] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Refusals about objects no operation covers (a takeover, a locked object): drift shows them.
    diagnostics: list[Diagnostic] = field(default_factory=list)
    migrations: list[Migration] = field(default_factory=list)
    format_version: int = FORMAT_VERSION
    # Made with --only/--label (reconciler.selection): only the selected objects are in it.
    partial: bool = False
    selection: list[str] = field(default_factory=list)
    # What `apply PLANFILE` needs besides the operations (like a Terraform plan file): the spec
    # directory as `plan` was given it, a fingerprint of each live system's endpoint (URLs,
    # hosts, the policy store; never a token or password) so a plan made against other endpoints
    # is refused, and the `--var` / `--var-file` values it was made with ("(sensitive)" ones are
    # not kept: they are passed again).
    specs_dir: str | None = None
    endpoints: dict[str, str] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> dict[str, int]:
        counts = {a.value: 0 for a in Action}
        for op in self.operations:
            counts[op.action.value] += 1
        counts["unchanged"] = len(self.unchanged)
        return counts

    @property
    def has_changes(self) -> bool:
        return bool(self.operations)

    @property
    def destructive_operations(self) -> list[Operation]:
        return [op for op in self.operations if op.destructive]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "tool": {"name": "reconciler", "version": self.tool_version},
            "target": self.target,
            "specs_digest": self.specs_digest,
            "summary": self.summary,
            "operations": [op.to_dict() for op in self.operations],
            "unchanged": [asdict(u) for u in self.unchanged],
            "unmanaged": [asdict(u) for u in self.unmanaged],
            "notes": list(self.notes),
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "migrations": [asdict(m) for m in self.migrations],
            "partial": self.partial,
            "selection": list(self.selection),
            "specs_dir": self.specs_dir,
            "endpoints": dict(self.endpoints),
            "variables": dict(sorted(self.variables.items())),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"unsupported plan format_version {data.get('format_version')!r} (expected {FORMAT_VERSION})"
            )
        return cls(
            tool_version=data["tool"]["version"],
            target=data["target"],
            specs_digest=data["specs_digest"],
            operations=[Operation.from_dict(o) for o in data.get("operations", [])],
            unchanged=[Unchanged(**u) for u in data.get("unchanged", [])],
            unmanaged=[Unmanaged(**u) for u in data.get("unmanaged", [])],
            notes=list(data.get("notes", [])),
            diagnostics=[Diagnostic.from_dict(d) for d in data.get("diagnostics", [])],
            migrations=[Migration(**m) for m in data.get("migrations", [])],
            partial=bool(data.get("partial", False)),
            selection=list(data.get("selection", [])),
            specs_dir=data.get("specs_dir"),
            endpoints=dict(data.get("endpoints") or {}),
            variables=dict(data.get("variables") or {}),
        )
