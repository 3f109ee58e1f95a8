"""Knobs of the sandbox that tests and `reconciler sandbox serve` set."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .faults import FaultSettings


@dataclass
class SandboxSettings:
    # Seconds a new lakehouse monitor stays MONITOR_STATUS_PENDING before it turns ACTIVE.
    monitor_active_delay_seconds: float = 0.0
    # YAML file declaring Unity Catalog tables (and their columns) the emulator knows about.
    seed_path: Path | None = None
    # Token the emulators accept; None accepts any bearer token (handy for people trying it out).
    token: str | None = None
    # Latency and injected faults in front of every emulator (see `faults.py`).
    faults: FaultSettings = field(default_factory=FaultSettings)
    extra: dict[str, object] = field(default_factory=dict)
