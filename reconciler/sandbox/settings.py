"""Knobs of the sandbox that tests and `reconciler sandbox serve` set."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .faults import FaultSettings

DEFAULT_SEED = Path(__file__).with_name("seed.yaml")


@dataclass
class SandboxSettings:
    # Seconds a new lakehouse monitor stays MONITOR_STATUS_PENDING before it turns ACTIVE.
    monitor_active_delay_seconds: float = 0.0
    # YAML file declaring Unity Catalog tables (and their columns) the emulator knows about.
    seed_path: Path | None = None
    # The same, as data (an embedded target's `sandbox_seed` in reconciler.yaml); wins over seed_path.
    seed: dict[str, Any] | None = None
    # Token the emulators accept; None accepts any bearer token (handy for people trying it out).
    token: str | None = None
    # Latency and injected faults in front of every emulator (see `faults.py`).
    faults: FaultSettings = field(default_factory=FaultSettings)
    extra: dict[str, object] = field(default_factory=dict)

    def seed_document(self) -> dict[str, Any]:
        """The seed in effect: `seed` (with the bundled sample's SQL warehouses when it lists
        none), else the file `seed_path`, else the bundled sample (seed.yaml)."""
        if self.seed is None:
            return _read(self.seed_path or DEFAULT_SEED)
        if self.seed.get("warehouses"):
            return self.seed
        return {**self.seed, "warehouses": _read(DEFAULT_SEED).get("warehouses") or []}


def _read(path: Path) -> dict[str, Any]:
    return yaml.safe_load(Path(path).read_text()) or {}
