"""The engine: the workflows a run of reconciler performs, and the session they share.

One module per workflow — `plan`, `apply`, `drift`, `adopt` (what `reconciler import` does) —
each taking plain arguments and returning plain results, so the CLI only parses arguments,
renders results and maps them to exit codes, and tests or other front ends can drive the same
workflows. Where a workflow needs its caller mid-way (show the plan before asking to apply it,
print a note as it happens), it takes callbacks rather than printing itself.

`session` wires the pure parts (specs, planner) to the I/O parts (providers) for one target.
"""

from __future__ import annotations

from .session import LiveState, Session, specs_digest

__all__ = ["LiveState", "Session", "specs_digest"]
