"""The emulators the sandbox serves.

An emulator is a module exposing `register(app, state, settings)`: it creates its tables in the
shared SQLite state and adds its routes to the Flask app. Adding an emulator is one new module
plus one line here.
"""

from __future__ import annotations

from types import ModuleType


def emulator_modules() -> list[ModuleType]:
    modules: list[ModuleType] = []
    # Imported lazily so that a missing optional dependency of one emulator (e.g. duckdb for the
    # SQL warehouse) only disables that emulator.
    for name in EMULATORS:
        try:
            module = __import__(f"reconciler.sandbox.{name}", fromlist=["register"])
        except ImportError as exc:  # pragma: no cover - depends on installed extras
            if exc.name and exc.name.startswith("reconciler"):
                raise
            continue
        modules.append(module)
    return modules


EMULATORS: list[str] = [
    "common",
    "databricks_sql",
    "grafana_alerting",
    "grafana_notifications",
    "databricks_catalog",
    "databricks_monitors",
    "databricks_workspace",
    "databricks_warehouses",
    "databricks_data_quality",
]
