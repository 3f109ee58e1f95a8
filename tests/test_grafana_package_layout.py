"""The Grafana package's pure modules (spec model, kinds, field tables, ownership, write steps)
never load its I/O modules nor an HTTP library: the planner and the kinds stay testable without
a server, and the import direction named in `reconciler/grafana/__init__.py` holds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PURE = (
    "spec_model",
    "rule_form",
    "facts",
    "ownership",
    "field_tables",
    "kinds",
    "write_steps",
    "notification_model",
    "notification_kinds",
    "provisioning_file",
)
IO = ("client", "snapshot", "providers", "notification_providers", "ledger_guard", "spec_generation")
PACKAGE = Path(__file__).resolve().parent.parent / "reconciler" / "grafana"


def test_every_module_of_the_package_is_named_pure_or_io() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert modules == set(PURE) | set(IO)


def test_pure_modules_load_no_io_module_nor_an_http_client() -> None:
    code = (
        "import sys\n"
        + "".join(f"import reconciler.grafana.{m}\n" for m in PURE)
        + "print('\\n'.join(sorted(sys.modules)))"
    )
    loaded = set(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    )
    forbidden = {f"reconciler.grafana.{m}" for m in IO} | {"grafana_client", "requests", "flask", "reconciler.sandbox"}
    assert loaded & forbidden == set()
    assert not any(m.startswith("reconciler.providers") for m in loaded)
