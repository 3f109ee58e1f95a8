"""Benchmark: the planner alone (no network) on a large estate of SLA policies.

Why: the plan runs on every pull request; past a few thousand specs its own CPU (loading YAML,
normalising, diffing) is what a user waits for, whatever the network. It writes N policies,
applies them to the embedded SQLite store, changes 10 % of them, then times in this process the
three phases of `reconciler plan` (load and validate the specs, read the store, build the plan)
and reports each phase's wall and CPU time and the peak RSS. Run:

    python benchmarks/planner_bench.py              # N = 10,000
    python benchmarks/planner_bench.py --size 1000

Target (issue #15, read from the output): 10,000 policies with 10 % changed planned in under 2 s,
peak RSS under 300 MB.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.engine.session import Session


def _write(root: Path, n: int, changed: bool) -> None:
    (root / "reconciler.yaml").write_text("project: bench\n")
    docs = [
        "apiVersion: reconciler/v1\nkind: SlaPolicy\n"
        f"metadata: {{name: p{i:05d}}}\n"
        f"spec: {{warehouse_ids: [wh-{i:05d}, wh-{i + 1:05d}x], "
        f"sla_seconds: {60 + i + (7 if changed and i % 10 == 0 else 0)}, policy_mode: ALL}}\n"
        for i in range(n)
    ]
    (root / "policies.yaml").write_text("---\n".join(docs))


def bench(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write(root, n, changed=False)
        applied = CliRunner().invoke(cli, ["apply", str(root), "--auto-approve"])
        if applied.exit_code != 0:
            raise SystemExit(f"apply failed: {applied.output[-2000:]}")
        _write(root, n, changed=True)
        out: dict[str, float] = {}
        wall, cpu = time.perf_counter(), time.process_time()
        with Session(root) as session:
            out["load_s"], out["load_cpu_s"] = time.perf_counter() - wall, time.process_time() - cpu
            wall, cpu = time.perf_counter(), time.process_time()
            live = session.read_live()
            out["read_s"], out["read_cpu_s"] = time.perf_counter() - wall, time.process_time() - cpu
            wall, cpu = time.perf_counter(), time.process_time()
            plan, _ = session.plan(live=live)
            out["plan_s"], out["plan_cpu_s"] = time.perf_counter() - wall, time.process_time() - cpu
        out["total_s"] = out["load_s"] + out["read_s"] + out["plan_s"]
        out["operations"] = len(plan.operations)
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000)
    args = parser.parse_args(argv)
    r = bench(args.size)
    print(
        f"{args.size} policies, {int(r['operations'])} changed: load {r['load_s']:.2f} s (cpu {r['load_cpu_s']:.2f}), "
        f"read {r['read_s']:.2f} s (cpu {r['read_cpu_s']:.2f}), plan {r['plan_s']:.2f} s (cpu {r['plan_cpu_s']:.2f}), "
        f"total {r['total_s']:.2f} s, peak RSS {r['peak_rss_mb']:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
