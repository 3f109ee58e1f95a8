"""Short, stable text for values shown in plans."""

from __future__ import annotations

import json
from typing import Any

from .model import ApiCall


def show(value: Any, limit: int = 200) -> str:
    if value is None:
        return "(unset)"
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


SYMBOLS = {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}


def summary_line(summary: dict[str, int]) -> str:
    return (
        f"{summary['create']} to create, {summary['update']} to update, {summary['replace']} to replace, "
        f"{summary['delete']} to delete, {summary['unchanged']} unchanged"
    )


def rewritten(call: ApiCall) -> str:
    """The objects a call rewrites besides its own, each with whose it is."""
    return "; ".join(f"'{r.name}' ({r.whose})" for r in call.rewrites)
