"""Benchmark: hostile spec files are refused quickly and in bounded memory.

Targets (on the 2-core reference machine): each case below is reported (exit 1) in under 5 s:
4,000 YAML syntax errors in one file (linear, not quadratic, error reporting), an alias bomb,
3,000 levels of nesting, a file just over the size limit. Run:

    python benchmarks/yaml_bench.py
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.specs.yaml_loader import LIMITS

TARGET_SECONDS = 5.0


def _bomb() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


CASES = {
    "4000 syntax errors": lambda: "a: [\n---\n" * 4000,
    "alias bomb (9 levels)": _bomb,
    "3000 levels of nesting": lambda: "a: " + "[" * 3000 + "]" * 3000 + "\n",
    "file over the size limit": lambda: "# padding\n" * (LIMITS.max_file_bytes // 10 + 1),
    "10,000 documents": lambda: "---\n{}\n" * LIMITS.max_documents,
}


def main() -> int:
    ok = True
    for name, make in CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "reconciler.yaml").write_text("project: bench\n")
            (root / "p.yaml").write_text(make())
            start = time.perf_counter()
            result = CliRunner().invoke(cli, ["validate", str(root)])
            elapsed = time.perf_counter() - start
        crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
        good = elapsed < TARGET_SECONDS and not crashed
        ok &= good
        print(f"{name:28} exit {result.exit_code}  {elapsed:6.2f} s  {'ok' if good else 'SLOW/CRASH'}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MiB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
