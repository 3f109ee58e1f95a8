"""The package's optional parts and the one error that names how to install each.

Why a module: a CI image that talks to real services should not carry the sandbox's web server
and SQL engine, so they are the `sandbox` extra; whoever then reaches for the embedded target
gets one message with the install command, never an ImportError from deep inside Flask.
"""

from __future__ import annotations

from importlib.util import find_spec

from reconciler.errors import ReconcilerError

# extra -> the top-level modules it installs (what to look for before importing the feature).
EXTRAS: dict[str, tuple[str, ...]] = {
    "sandbox": ("flask", "duckdb", "sqlglot"),
}


def install_command(extra: str) -> str:
    return f"pip install 'reconciler[{extra}]'"


def require_extra(extra: str, needed_for: str) -> None:
    """Raise a ReconcilerError naming the install command unless `extra` is installed."""
    missing = [module for module in EXTRAS[extra] if find_spec(module) is None]
    if missing:
        raise ReconcilerError(
            f"{needed_for} needs the '{extra}' extra, which is not installed (missing: {', '.join(missing)}). "
            f"Install it with: {install_command(extra)}  (from a clone: pip install -e '.[{extra}]')"
        )
