"""Benchmark: how long plan and apply take as the number of specs grows.

Targets (on the 2-core reference machine): plan of 1,000 SLA policies against the embedded store
in under 5 s; a no-change re-plan in under 5 s. Run:

    python benchmarks/plan_bench.py            # 100, 1000 policies
    python benchmarks/plan_bench.py 5000       # a custom size
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli

TARGET_SECONDS = 5.0


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


if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[1:]] or [100, 1000]
    results = [bench(n) for n in sizes]
    sys.exit(0 if all(results) else 1)
