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


def command(subcommand: str, *positional: str | Path, target: str | None = None, options: tuple[str, ...] = ()) -> str:
    """`reconciler SUBCOMMAND POSITIONAL... [--target TARGET] [OPTIONS...]`, every argument shell-quoted.

    A positional argument starting with '-' would be read as an option, so then the options come
    first and `--` ends option parsing.
    """
    args = [str(arg) for arg in positional]
    flags = (["--target", target] if target is not None else []) + list(options)
    if any(arg.startswith("-") for arg in args):
        return shlex.join(["reconciler", subcommand, *flags, "--", *args])
    return shlex.join(["reconciler", subcommand, *args, *flags])


def import_command(kind: str, key: str, specs_dir: str | Path, target: str) -> str:
    """`reconciler import KIND KEY SPECS_DIR --target TARGET`."""
    return command("import", kind, key, specs_dir, target=target)
