"""Benchmark: plan and apply of a generated estate against the sandbox behind added latency.

Why this shape: the plan runs on every pull request and drift schedule, and every live read is a
network round trip, so what matters is how close a run comes to the round trips the APIs make
unavoidable. For each size N it generates N SlaPolicies (Databricks policy store), N
QualityMonitors (with their tables in the sandbox) and N Grafana rules in N/10 groups over five
folders, one spec directory per kind, and measures per kind:

- wall time of a no-change plan, of a plan with 10 % of the objects changed, and of the apply of
  those changes (each a fresh `reconciler` process, so start-up is included);
- requests per API path (the sandbox's request log) and SQL statements, peak RSS of the process
  (its own VmHWM, read as it exits);
- the round-trip lower bound: the calls the APIs make unavoidable x latency / parallelism (one
  statement for the policy table, one GET per monitor since that API has no list, one list call
  each for rules and folders), and the ratio of the no-change plan to it;
- the same read done by a naive sequential script (one GET per object, as hand-written jobs do).

The latency is added by the sandbox's fault injector in front of every API request (the same as a
proxy in front of it; `--latency-ms`, default 50). The initial estate is applied with no latency.

    python benchmarks/estate_bench.py                       # N = 100
    python benchmarks/estate_bench.py --sizes 100,1000      # and 1,000
    python benchmarks/estate_bench.py --kinds rules --json out.json

Targets (issue #15, read from the output, not asserted in timed tests): no-change plan of N =
1,000 within 2x of the lower bound plus start-up and >= 10x faster than the naive script.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import yaml
from databricks.sdk import WorkspaceClient

from reconciler.sandbox import SandboxServer, SandboxSettings
from reconciler.sandbox.faults import FaultSettings

KINDS = ("policies", "monitors", "rules")
FOLDERS = 5
TOKEN = "bench-token"


def _policy_docs(n: int, changed: set[int]) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "reconciler/v1",
            "kind": "SlaPolicy",
            "metadata": {"name": f"p{i:05d}"},
            "spec": {
                "warehouse_ids": [f"wh-{i:05d}", f"wh-{i:05d}b"],
                "sla_seconds": 60 + i + (7 if i in changed else 0),
                "policy_mode": "ALL",
            },
        }
        for i in range(n)
    ]


def _monitor_docs(n: int, changed: set[int]) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "reconciler/v1",
            "kind": "QualityMonitor",
            "metadata": {"name": f"m{i:05d}"},
            "spec": {
                "table_name": f"main.bench.t{i:05d}",
                "output_schema_name": "main.monitoring",
                "assets_dir": f"/Shared/bench/t{i:05d}",
                "snapshot": {},
                "slicing_exprs": ["region", "channel"] if i in changed else ["region"],
            },
        }
        for i in range(n)
    ]


def _rule_docs(n: int, changed: set[int]) -> list[dict[str, Any]]:
    groups = max(1, n // 10)
    docs = []
    for g in range(groups):
        rules = []
        for i in range(g * 10, min(n, g * 10 + 10)):
            rules.append(
                {
                    "title": f"bench rule {i:05d}",
                    "query": {"datasource": "prometheus", "expr": f"bench_metric_{i}", "time_range": "10m"},
                    "reduce": "last",
                    "threshold": f"> {100 + (5 if i in changed else 0)}",
                    "for": "5m",
                    "labels": {"severity": "warning"},
                }
            )
        docs.append(
            {
                "apiVersion": "reconciler/v1",
                "kind": "GrafanaRuleGroup",
                "metadata": {"name": f"g{g:04d}"},
                "spec": {"folder": f"bench-{g % FOLDERS}", "group": f"group {g:04d}", "interval": "1m", "rules": rules},
            }
        )
    for f in range(FOLDERS):
        docs.append(
            {
                "apiVersion": "reconciler/v1",
                "kind": "GrafanaFolder",
                "metadata": {"name": f"bench-{f}"},
                "spec": {"title": f"Bench {f}"},
            }
        )
    return docs


GENERATORS: dict[str, Callable[[int, set[int]], list[dict[str, Any]]]] = {
    "policies": _policy_docs,
    "monitors": _monitor_docs,
    "rules": _rule_docs,
}


def _write_project(root: Path, kind: str, url: str, docs: list[dict[str, Any]]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    target: dict[str, Any] = {"databricks": {"host": url}, "grafana": {"url": url}}
    if kind == "policies":
        target["policy_store"] = {
            "type": "databricks",
            "table": "main.default.query_sla_policies",
            "warehouse_id": "sandbox",
        }
    project = {"project": f"bench-{kind}", "default_target": "bench", "targets": {"bench": target}}
    (root / "reconciler.yaml").write_text(yaml.safe_dump(project, sort_keys=False), encoding="utf-8")
    (root / f"{kind}.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")


def _seed(path: Path, n: int) -> None:
    columns = [
        {"name": "id", "type": "bigint"},
        {"name": "ts", "type": "timestamp"},
        {"name": "region", "type": "string"},
        {"name": "channel", "type": "string"},
        {"name": "price", "type": "double"},
    ]
    seed = {
        "schemas": ["main.bench", "main.monitoring"],
        "tables": [{"full_name": f"main.bench.t{i:05d}", "columns": columns} for i in range(n)],
    }
    path.write_text(yaml.safe_dump(seed), encoding="utf-8")


# The child reports its own peak RSS (VmHWM) when it exits. Not wait4's ru_maxrss: Linux carries
# the pre-exec image's high-water mark across exec, so a child forked from this process (which
# holds the sandbox and its estate) would report this process's size, not its own.
_CHILD = (
    "import atexit, os, runpy, sys\n"
    "def _hwm():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            open(os.environ['BENCH_RSS_FILE'], 'w').write(line.split()[1])\n"
    "atexit.register(_hwm)\n"
    "sys.argv[0] = 'reconciler'\n"
    "runpy.run_module('reconciler', run_name='__main__', alter_sys=True)\n"
)


def _run(args: list[str], env: dict[str, str], timeout: float) -> tuple[float, int, int | None, str]:
    """Run `reconciler ARGS` in a fresh process: (seconds, exit code, its peak RSS in MB, output)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryDirectory() as tmp:
        rss_file = Path(tmp) / "rss"
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, *args],
            env={**env, "BENCH_RSS_FILE": str(rss_file)},
            stdout=out,
            stderr=out,
        )
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        seconds = time.perf_counter() - start
        out.seek(0)
        text = out.read().decode(errors="replace")
        rss = int(rss_file.read_text()) // 1024 if rss_file.exists() else None
    return seconds, code, rss, text


def _lower_bound(kind: str, n: int, latency: float, parallelism: int) -> float:
    calls = {"policies": 1, "monitors": n, "rules": 2}[kind]
    return math.ceil(calls / parallelism) * latency


def _apply_lower_bound(kind: str, n: int, changed: int, latency: float, parallelism: int) -> float | None:
    """The apply of `changed` objects: its plan's reads, then the writes. Monitors: one GET per
    monitor, one update per changed monitor, the ledger read and written once (its write lock
    taken and released around the write): 4 round trips one after the other. None: not modelled."""
    if kind != "monitors":
        return None
    return (math.ceil(n / parallelism) + math.ceil(changed / parallelism) + 4) * latency


def _naive(kind: str, n: int, url: str) -> float:
    """What a hand-written job does: one GET per object, one after the other."""
    start = time.perf_counter()
    if kind == "policies":
        w = WorkspaceClient(host=url, token=TOKEN)
        w.statement_execution.execute_statement(
            "SELECT * FROM main.default.query_sla_policies", warehouse_id="sandbox", wait_timeout="30s"
        )
    elif kind == "monitors":
        w = WorkspaceClient(host=url, token=TOKEN)
        for i in range(n):
            w.quality_monitors.get(f"main.bench.t{i:05d}")
    else:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        uids = [r["uid"] for r in session.get(f"{url}/api/v1/provisioning/alert-rules", timeout=60).json()]
        for uid in uids[:n]:
            session.get(f"{url}/api/v1/provisioning/alert-rules/{uid}", timeout=60)
    return time.perf_counter() - start


def _settle(url: str) -> None:
    """Let the emulator bring every new monitor to ACTIVE with its metric tables now (a listing
    settles whatever is due), as an estate created long ago is: else the first plan's GETs would
    pay that one-time work and measure the emulator, not the plan."""
    w = WorkspaceClient(host=url, token=TOKEN)
    list(w.catalogs.list())


def _emulator_ms_per_get(n: int, url: str, samples: int = 200) -> float:
    """Milliseconds per monitor GET with no added latency (the emulator's own cost, with the
    SDK's): about the same at N = 100 and 1,000 when the emulator scales linearly (its `settle`
    touches only the monitor asked for, not the whole table)."""
    w = WorkspaceClient(host=url, token=TOKEN)
    start = time.perf_counter()
    for i in range(samples):
        w.quality_monitors.get(f"main.bench.t{(i * 7919) % n:05d}")
    return (time.perf_counter() - start) * 1000.0 / samples


def bench(n: int, kinds: list[str], latency_ms: float, parallelism: int, naive: bool) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        seed = tmpdir / "seed.yaml"
        _seed(seed, n if "monitors" in kinds else 0)
        faults = FaultSettings(latency_ms=0.0)
        settings = SandboxSettings(seed_path=seed, token=TOKEN, faults=faults)
        with SandboxServer(tmpdir / "sandbox.db", settings) as server:
            env = {
                **os.environ,
                "DATABRICKS_TOKEN": TOKEN,
                "GRAFANA_TOKEN": TOKEN,
                "RECONCILER_PARALLELISM": str(parallelism),
            }
            for kind in kinds:
                root = tmpdir / kind
                changed = set(range(0, n, 10))
                _write_project(root, kind, server.url, GENERATORS[kind](n, set()))
                timeout = 3600.0
                faults.latency_ms = 0.0
                seconds, code, _, out = _run(["apply", str(root), "--auto-approve"], env, timeout)
                if code != 0:
                    raise SystemExit(f"initial apply of {n} {kind} failed ({code}):\n{out[-3000:]}")
                if kind == "monitors":
                    _settle(server.url)
                faults.latency_ms = latency_ms
                row: dict[str, Any] = {"n": n, "kind": kind, "latency_ms": latency_ms, "parallelism": parallelism}
                server.faults.reset_counts()
                row["plan_s"], code, row["plan_rss_mb"], out = _run(
                    ["plan", str(root), "--detailed-exitcode"], env, timeout
                )
                row["plan_exit"] = code
                counts = Counter(server.request_counts())
                row["plan_requests"] = sum(counts.values())
                row["plan_requests_by_path"] = _by_route(counts)
                row["plan_sql_statements"] = counts.get("POST /api/2.0/sql/statements", 0)
                row["lower_bound_s"] = _lower_bound(kind, n, latency_ms / 1000.0, parallelism)
                row["ratio_to_lower_bound"] = round(row["plan_s"] / row["lower_bound_s"], 1)
                _write_project(root, kind, server.url, GENERATORS[kind](n, changed))
                server.faults.reset_counts()
                row["plan_10pct_s"], _, _, _ = _run(["plan", str(root)], env, timeout)
                server.faults.reset_counts()
                row["apply_10pct_s"], code, row["apply_rss_mb"], out = _run(
                    ["apply", str(root), "--auto-approve"], env, timeout
                )
                if code != 0:
                    raise SystemExit(f"apply of 10 % changed {kind} failed ({code}):\n{out[-3000:]}")
                counts = Counter(server.request_counts())
                row["apply_requests"] = sum(counts.values())
                bound = _apply_lower_bound(kind, n, len(changed), latency_ms / 1000.0, parallelism)
                if bound is not None:
                    row["apply_lower_bound_s"] = round(bound, 2)
                    row["apply_ratio_to_lower_bound"] = round(row["apply_10pct_s"] / bound, 1)
                row["apply_requests_by_path"] = _by_route(counts)
                if kind == "monitors":
                    faults.latency_ms = 0.0
                    row["emulator_ms_per_get"] = round(_emulator_ms_per_get(n, server.url), 2)
                    faults.latency_ms = latency_ms
                if naive:
                    row["naive_s"] = round(_naive(kind, n, server.url), 2)
                    row["speedup_vs_naive"] = round(row["naive_s"] / row["plan_s"], 1)
                for key in ("plan_s", "plan_10pct_s", "apply_10pct_s", "lower_bound_s"):
                    row[key] = round(row[key], 2)
                results.append(row)
                print(_line(row), flush=True)
    return results


def _by_route(counts: Counter[str]) -> dict[str, int]:
    """Requests per API path with object names folded (`.../alert-rules/{id}`), busiest first."""
    import re

    folded: Counter[str] = Counter()
    for key, count in counts.items():
        method, path = key.split(" ", 1)
        path = re.sub(r"/(main\.[^/]+|[0-9a-f-]{8,}|bench[-_][^/]+|group%20[^/]+|group [^/]+)", "/{id}", path)
        folded[f"{method} {path}"] += count
    return dict(folded.most_common())


HEADER = (
    f"{'N':>6} {'kind':<9} {'plan s':>8} {'reqs':>6} {'bound s':>8} {'ratio':>6} "
    f"{'naive s':>8} {'x naive':>8} {'plan10% s':>9} {'apply10% s':>10} {'apply reqs':>10} {'apply bound':>11} "
    f"{'plan RSS MB':>11} {'apply RSS MB':>12} {'emu ms/GET':>10}"
)


def _line(row: dict[str, Any]) -> str:
    return (
        f"{row['n']:>6} {row['kind']:<9} {row['plan_s']:>8.2f} {row['plan_requests']:>6} "
        f"{row['lower_bound_s']:>8.2f} {row['ratio_to_lower_bound']:>6} {row.get('naive_s', float('nan')):>8.2f} "
        f"{row.get('speedup_vs_naive', float('nan')):>8} {row['plan_10pct_s']:>9.2f} {row['apply_10pct_s']:>10.2f} "
        f"{row['apply_requests']:>10} {row.get('apply_lower_bound_s', '-')!s:>11} "
        f"{row['plan_rss_mb']!s:>11} {row['apply_rss_mb']!s:>12} {row.get('emulator_ms_per_get', '-')!s:>10}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100", help="comma-separated N values (default 100)")
    parser.add_argument("--kinds", default=",".join(KINDS), help="policies,monitors,rules")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--parallelism", type=int, default=10)
    parser.add_argument("--no-naive", action="store_true", help="skip the naive sequential script")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = set(kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown kinds: {', '.join(sorted(unknown))}")
    print(f"latency {args.latency_ms:g} ms per request, parallelism {args.parallelism}")
    print(HEADER)
    rows: list[dict[str, Any]] = []
    for n in (int(s) for s in args.sizes.split(",")):
        rows.extend(bench(n, kinds, args.latency_ms, args.parallelism, not args.no_naive))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
