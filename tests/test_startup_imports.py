"""Start-up imports only what the command uses (issue #15): `--help` and `validate` pay for no
provider's SDK and no sandbox. Checked in a fresh interpreter (this test process has them all
loaded); times are the benchmark's business (benchmarks/plan_bench.py --startup)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "specs"
# Every provider's SDK, and what only the embedded target's sandbox needs.
PROVIDER_SDKS = ("databricks.sdk", "grafana_client", "sqlalchemy", "deepdiff", "sqlglot")
SANDBOX = ("flask", "duckdb", "reconciler.sandbox")


def _modules_after(*args: str) -> set[str]:
    """The modules a fresh `reconciler ARGS...` has imported when it exits."""
    probe = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: sys.__stderr__.write('MODULES=' + json.dumps(sorted(sys.modules)) + '\\n'))\n"
        "from reconciler.cli import main\n"
        f"sys.argv = ['reconciler', *{list(args)!r}]\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    line = next(line for line in done.stderr.splitlines() if line.startswith("MODULES="))
    return set(json.loads(line.removeprefix("MODULES=")))


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return [name for name in names if name in modules or any(m.startswith(name + ".") for m in modules)]


def test_help_imports_no_provider_sdk_and_no_sandbox() -> None:
    assert _loaded(_modules_after("--help"), PROVIDER_SDKS + SANDBOX) == []


def test_validate_of_the_examples_imports_no_provider_sdk_and_no_sandbox() -> None:
    modules = _modules_after("validate", str(EXAMPLES))
    assert _loaded(modules, ("databricks.sdk", "flask", "sqlalchemy", *PROVIDER_SDKS, *SANDBOX)) == []
