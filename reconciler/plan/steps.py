"""Write steps: the pure stage after the planner that turns each operation into the API calls
apply will make (SQLMesh's stages shared by evaluator and explainer; the Databricks CLI's "each
operation is one API call, decided at plan time").

The plan shows these calls (JSON, text, Markdown) and apply executes exactly them, in order: no
provider decides at apply time what else to write. Each kind plans its own operations' calls
(`Kind.write_steps`); a kind may reorder its operations (e.g. a rule that takes over a title
another rule gives up goes after it) or drop an operation that needs no call at all (a Grafana
group exists only through its rules). Kinds are visited in rank order; every operation left
without a call gets its kind's one default call (`Kind.api_call`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from reconciler.kinds.base import Kind, LiveObject, Resource

from .model import Operation


@dataclass
class StepView:
    """What the write steps may look at: the desired objects, the live ones and every operation."""

    desired: Sequence[Resource]
    live: Sequence[LiveObject]
    # The project's ownership marker (`reconciler/<project>`): names the live-side records a step
    # writes (e.g. the project's Grafana ledger).
    owner: str = ""
    _desired_by_name: dict[tuple[str, str], Resource] = field(init=False, repr=False)
    _desired_by_key: dict[tuple[str, str], Resource] = field(init=False, repr=False)
    _live_by_key: dict[tuple[str, str], LiveObject] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._desired_by_name = {(r.kind, r.name): r for r in self.desired}
        self._desired_by_key = {(r.kind, r.key): r for r in self.desired}
        self._live_by_key = {(o.kind, o.key): o for o in self.live}

    def resource(self, op: Operation) -> Resource | None:
        """The declared object an operation writes (None for a delete)."""
        return self._desired_by_name.get((op.kind, op.name))

    def declared(self, kind: str, key: str) -> Resource | None:
        return self._desired_by_key.get((kind, key))

    def live_object(self, kind: str, key: str) -> LiveObject | None:
        return self._live_by_key.get((kind, key))

    def before(self, op: Operation) -> LiveObject | None:
        """The live object an operation changes or removes (None for a create)."""
        return self.live_object(op.kind, op.replaces_key or op.key)

    def live_of(self, kind: str) -> list[LiveObject]:
        return [o for o in self.live if o.kind == kind]

    def desired_of(self, kind: str) -> list[Resource]:
        return [r for r in self.desired if r.kind == kind]


def plan_write_steps(ops: list[Operation], kinds: Mapping[str, Kind], view: StepView) -> list[Operation]:
    """`ops` (already in apply order) with their calls; see the module docstring."""
    for kind in sorted({kinds[op.kind] for op in ops} | set(kinds.values()), key=lambda k: (k.rank, k.name)):
        ops = kind.write_steps(ops, view)
    for op in ops:
        if not op.calls:
            op.calls = [kinds[op.kind].api_call(op, view.resource(op), view.before(op))]
    return ops
