"""Unity Catalog object names: validated before they ever reach SQL text.

Table names are the one thing a statement cannot take as a bound parameter, so they are checked
against a strict shape (three parts; letters, digits, `_` and `-`; optional back-quotes per part)
and always written back-quoted. Anything else is refused with the reason, never escaped and used.
"""

from __future__ import annotations

import re

_PART = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


class InvalidName(ValueError):
    """A name that is not a valid three-part Unity Catalog table name."""


def split_table_name(name: str) -> tuple[str, str, str]:
    """`catalog.schema.table` (parts optionally back-quoted) -> its three parts."""
    parts = name.strip().split(".")
    if len(parts) != 3:
        raise InvalidName(f"'{name}' is not a three-part table name (catalog.schema.table)")
    cleaned = []
    for part in parts:
        if len(part) >= 2 and part.startswith("`") and part.endswith("`"):
            part = part[1:-1]
        if not _PART.match(part):
            raise InvalidName(f"'{name}': '{part}' is not a valid name part (letters, digits, '_' and '-' only)")
        cleaned.append(part)
    return cleaned[0], cleaned[1], cleaned[2]


def quote_table_name(name: str) -> str:
    """The validated name, each part back-quoted: `` `main`.`sla`.`policies` ``."""
    return ".".join(f"`{part}`" for part in split_table_name(name))


def is_glob(text: str) -> bool:
    """Whether a selector part (`main`, `sales_*`) has a wildcard: only then is it listed."""
    return any(ch in text for ch in "*?[")


_SPEC_NAME = re.compile(r"[^a-z0-9_-]+")


def generated_spec_name(full_name: str, taken: set[str], fallback: str) -> str:
    """metadata.name for a spec generated from the object on `full_name` (`catalog.schema[.table]`):
    its last part, qualified by the parts before it only on a clash, numbered as a last resort."""
    parts = full_name.split(".")
    name = fallback
    for n in range(1, len(parts) + 1):
        name = _SPEC_NAME.sub("-", "-".join(parts[-n:])).strip("-") or fallback
        if name not in taken:
            return name
    n = 2
    while f"{name}-{n}" in taken:
        n += 1
    return f"{name}-{n}"
