"""Grafana alert-rule provisioning files read the way Grafana's file provisioning reads them (pure).

- Environment expansion (`pkg/services/provisioning/values/values.go`): string values are
  expanded from the environment, `$VAR` and `${VAR}`, and `$$` stands for a literal `$`. Which
  fields are expanded follows their value types there: everything of a group and its rules except
  annotations and query models (so `{{ $labels.team }}` and `$B > 300` stay as written). Grafana
  expands an unset variable to nothing; an import must not guess, so only the variables the user
  names (`--expand-env NAME`, or `*` for all) are expanded, and a reference to another one, or to
  an unset one, is an error at its file:line.
- Defaults of omitted fields, label values as strings, the dashboard link and recording rules:
  `rule_form.file_rule_to_api`.
- Folders named by title get a uid that is valid (letters, digits, `-`, `_`; at most 40), stable
  (the same title path always gives the same uid) and collision-free (a short hash of the whole
  title path): `folder_uid_for_title`.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Collection, Mapping
from typing import Any

from reconciler.errors import Diagnostic, SpecError

_REF = re.compile(r"\$\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ALL = "*"
# Paths (inside a group) whose values Grafana does not expand.
_RAW = (("rules", "*", "annotations"), ("rules", "*", "data", "*", "model"))


def _raw(path: tuple[str | int, ...]) -> bool:
    return any(len(path) >= len(pattern) and all(p == "*" or p == q for p, q in zip(pattern, path)) for pattern in _RAW)


def expand_env(
    data: Any,
    lines: Mapping[tuple[str | int, ...], int],
    file: str,
    allowed: Collection[str],
    environ: Mapping[str, str] | None = None,
) -> tuple[Any, list[Diagnostic]]:
    """`data` (a whole provisioning file) with environment references expanded where Grafana
    expands them; errors name file:line of each reference that is not allowed or not set."""
    env = os.environ if environ is None else environ
    errors: list[Diagnostic] = []

    def line_of(path: tuple[str | int, ...]) -> int:
        for end in range(len(path), -1, -1):
            if tuple(path[:end]) in lines:
                return lines[tuple(path[:end])]
        return 1

    def expand(text: str, path: tuple[str | int, ...]) -> str:
        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name = match.group(1) if match.group(1) is not None else match.group(2)
            where = ".".join(str(p) for p in path)
            if not _NAME.match(name or ""):
                errors.append(SpecError(file, line_of(path), where, f"{match.group(0)!r} is not a variable reference"))
                return match.group(0)
            if ALL not in allowed and name not in allowed:
                errors.append(
                    SpecError(
                        file,
                        line_of(path),
                        where,
                        f"Grafana expands {match.group(0)} from its environment here; name it with --expand-env {name} "
                        f"to expand it, or write $${name} for a literal ${name}",
                    )
                )
                return match.group(0)
            if name not in env:
                errors.append(
                    SpecError(file, line_of(path), where, f"environment variable {name} is not set ({match.group(0)})")
                )
                return match.group(0)
            return env[name]

        return _REF.sub(replace, text)

    def walk(value: Any, path: tuple[str | int, ...], inside: tuple[str | int, ...] | None) -> Any:
        if inside is not None and _raw(inside):
            return value
        if isinstance(value, dict):
            return {k: walk(v, (*path, k), None if inside is None else (*inside, k)) for k, v in value.items()}
        if isinstance(value, list):
            out = []
            for index, item in enumerate(value):
                child_inside = None if inside is None else (*inside, index)
                if inside is None and path == ("groups",):
                    child_inside = ()
                out.append(walk(item, (*path, index), child_inside))
            return out
        if isinstance(value, str) and "$" in value:
            return expand(value, path)
        return value

    return walk(data, (), None), errors


_SLUG = re.compile(r"[^a-z0-9]+")


def folder_uid_for_title(title_path: str) -> str:
    """A folder uid for a folder an export names only by its title path ("Parent/Child"): a
    readable slug of the last title plus 8 hex characters of the whole path's hash."""
    leaf = re.split(r"(?<!\\)/", title_path)[-1].replace("\\/", "/")
    slug = _SLUG.sub("-", leaf.lower()).strip("-")[:31].strip("-") or "folder"
    digest = hashlib.sha256(title_path.encode("utf-8")).hexdigest()[:8]
    return f"{slug}-{digest}"
