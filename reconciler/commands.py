"""Commands reconciler tells the user to run next, e.g. the `reconciler import` that adopts an
object a plan refused to take over.

Why a module: such a hint is only worth printing if it can be pasted into a shell as-is, so it
names the spec directory and target the run used, quotes every argument (Grafana folder and group
names often hold spaces) and follows the CLI's own argument order. The planner and the providers
print these hints; keeping them here makes them identical and keeps the planner free of I/O.
"""

from __future__ import annotations

import shlex
from pathlib import Path


def import_command(kind: str, key: str, specs_dir: str | Path, target: str) -> str:
    """`reconciler import KIND KEY SPECS_DIR --target TARGET`, every argument shell-quoted.

    A positional argument starting with '-' would be read as an option, so then the option comes
    first and `--` ends option parsing.
    """
    positional = [kind, key, str(specs_dir)]
    if any(arg.startswith("-") for arg in positional):
        return shlex.join(["reconciler", "import", "--target", target, "--", *positional])
    return shlex.join(["reconciler", "import", *positional, "--target", target])
