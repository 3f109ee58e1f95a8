"""Reading a plan saved by `reconciler plan --out` (for `show`, `apply --plan`, `ci comment`).

One reader so every command says the same about a file that is missing, is not JSON, is not a
plan, or was written in another `format_version`: one line naming the file, exit 1.
"""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.errors import ReconcilerError

from .model import Plan


def load_plan_file(path: Path) -> Plan:
    """The plan saved in `path`; a `ReconcilerError` saying what is wrong with it otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReconcilerError(f"{path}: plan file not found (save one with `reconciler plan --out FILE`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReconcilerError(f"{path}: cannot read the plan file: {exc}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ReconcilerError(f"{path}: not a reconciler plan: not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ReconcilerError(f"{path}: not a reconciler plan: a JSON {type(data).__name__}, not an object")
    try:
        return Plan.from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        what = str(exc) if isinstance(exc, ValueError) else f"missing or malformed field {exc}"
        raise ReconcilerError(f"{path}: not a reconciler plan: {what}") from exc
