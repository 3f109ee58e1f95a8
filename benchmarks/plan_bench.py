"""Benchmark: how long plan and apply take as the number of specs grows.

Targets (on the 2-core reference machine): plan of 1,000 SLA policies against the embedded store
in under 5 s; a no-change re-plan in under 5 s. Run:

    python benchmarks/plan_bench.py            # 100, 1000 policies
    python benchmarks/plan_bench.py 5000       # a custom size
    python benchmarks/plan_bench.py --startup  # start-up: --help, validate and plan of specs/

Start-up targets (issue #15), in CPU seconds of a fresh process (user + system; wall time on a
loaded machine is noise): `--help` under 0.15 s, `validate specs/` under 0.3 s, `plan specs/` on
the embedded target under 1 s.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli

TARGET_SECONDS = 5.0
EXAMPLES = Path(__file__).resolve().parent.parent / "specs"
# The installed console script (what a user runs), else the module.
_SCRIPT = Path(sys.executable).with_name("reconciler")
RECONCILER = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "reconciler"]
STARTUP_TARGETS = {"--help": 0.15, "validate": 0.3, "plan": 1.0}


def _write_specs(root: Path, count: int) -> None:
    (root / "reconciler.yaml").write_text("project: bench\n")
    docs = []
    for i in range(count):
        docs.append(
            "apiVersion: reconciler/v1\nkind: SlaPolicy\n"
            f"metadata: {{name: p{i:05d}}}\n"
            f"spec: {{warehouse_ids: [wh-{i:05d}, wh-{i + 1:05d}x], sla_seconds: {60 + i}, policy_mode: ALL}}\n"
        )
    (root / "policies.yaml").write_text("---\n".join(docs))


def _time(args: list[str]) -> float:
    start = time.perf_counter()
    result = CliRunner().invoke(cli, args)
    elapsed = time.perf_counter() - start
    if result.exit_code not in (0, 2):
        raise SystemExit(f"{' '.join(args)} failed: {result.output}")
    return elapsed


def bench(count: int) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "specs"
        root.mkdir()
        _write_specs(root, count)
        plan = _time(["plan", str(root), "--format", "json"])
        apply = _time(["apply", str(root), "--auto-approve"])
        replan = _time(["plan", str(root), "--detailed-exitcode"])
    ok = plan < TARGET_SECONDS and replan < TARGET_SECONDS
    print(
        f"{count:>6} policies: plan {plan:6.2f}s  apply {apply:6.2f}s  re-plan {replan:6.2f}s  {'ok' if ok else 'SLOW'}"
    )
    return ok


def _cpu_seconds(args: list[str], runs: int = 3) -> float:
    """The least CPU time (user + system) of `runs` fresh `reconciler ARGS` processes."""
    best = float("inf")
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([*RECONCILER, *args], capture_output=True, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best = min(best, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return best


def startup() -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        specs = Path(tmp) / "specs"
        shutil.copytree(EXAMPLES, specs, ignore=shutil.ignore_patterns(".reconciler"))
        measured = {"--help": _cpu_seconds(["--help"]), "validate": _cpu_seconds(["validate", str(specs)])}
        # A fresh embedded target each time: the README's first command.
        best = float("inf")
        for _ in range(3):
            shutil.rmtree(specs / ".reconciler", ignore_errors=True)
            best = min(best, _cpu_seconds(["plan", str(specs)], runs=1))
        measured["plan"] = best
    ok = True
    for name, seconds in measured.items():
        fine = seconds < STARTUP_TARGETS[name]
        ok = ok and fine
        print(f"{name:>9}: {seconds:5.2f} s CPU (target {STARTUP_TARGETS[name]:.2f} s)  {'ok' if fine else 'SLOW'}")
    return ok


if __name__ == "__main__":
    if "--startup" in sys.argv[1:]:
        sys.exit(0 if startup() else 1)
    sizes = [int(a) for a in sys.argv[1:]] or [100, 1000]
    results = [bench(n) for n in sizes]
    sys.exit(0 if all(results) else 1)
