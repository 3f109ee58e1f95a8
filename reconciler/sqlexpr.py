"""Which columns a SQL expression refers to (enough to check monitor slicing expressions).

Shared by the `QualityMonitor` provider (plan-time check against the table's columns) and the
sandbox's monitor emulator (which refuses unknown columns as the service does). It is a tokenizer,
not a parser: string literals, keywords, numbers and function names are skipped, backticked names
are kept, and a struct field access `col.field` counts as its column `col`.
"""

from __future__ import annotations

import re

_KEYWORDS = {
    "and",
    "or",
    "not",
    "in",
    "is",
    "null",
    "true",
    "false",
    "like",
    "ilike",
    "rlike",
    "between",
    "case",
    "when",
    "then",
    "else",
    "end",
    "cast",
    "as",
    "distinct",
    "interval",
    "date",
    "timestamp",
    "int",
    "bigint",
    "smallint",
    "tinyint",
    "string",
    "double",
    "float",
    "decimal",
    "boolean",
    "day",
    "days",
    "hour",
    "hours",
    "minute",
    "minutes",
    "second",
    "seconds",
    "month",
    "months",
    "year",
    "years",
    "week",
    "weeks",
    "escape",
    "div",
    "exists",
}
_TOKEN = re.compile(
    r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`([^`]+)`|([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(\s*\()?"""
)


def expression_columns(expression: str) -> list[str]:
    """Column names `expression` refers to, in order of appearance (duplicates kept)."""
    names: list[str] = []
    for match in _TOKEN.finditer(expression):
        quoted, ident, call = match.group(1), match.group(2), match.group(3)
        if quoted:
            names.append(quoted)
        elif ident and not call:
            head = ident.split(".")[0]
            if head.lower() not in _KEYWORDS:
                names.append(head)
    return names
