"""`${var.NAME}` and `${env:NAME}` interpolation in spec values.

Interpolation runs on the parsed YAML (not the text) so that line numbers survive and a variable
can never inject YAML structure. A value that is exactly one reference takes the variable's own
type (so `sla_seconds: ${var.sla}` stays an integer); references inside longer strings are
formatted in. An unset variable is an error, never an empty string.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from reconciler import secrets

from .yaml_loader import PathKey

_REF = re.compile(r"\$\{(var\.|env:)([A-Za-z_][A-Za-z0-9_]*)\}")


def interpolate(
    value: Any,
    variables: Mapping[str, Any],
    on_error: Callable[[PathKey, str], None],
    path: PathKey = (),
    environ: Mapping[str, str] | None = None,
    on_visible_secret: Callable[[PathKey, str], None] | None = None,
) -> Any:
    env = os.environ if environ is None else environ
    if isinstance(value, dict):
        return {
            k: interpolate(v, variables, on_error, path + (str(k),), env, on_visible_secret) for k, v in value.items()
        }
    if isinstance(value, list):
        return [interpolate(v, variables, on_error, path + (i,), env, on_visible_secret) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def lookup(kind: str, name: str) -> tuple[bool, Any]:
        if kind == "var.":
            if name in variables:
                if _sensitive_position(path, value):
                    secrets.remember(variables[name])
                return True, variables[name]
            on_error(
                path,
                f"variable '{name}' is not defined (${{var.{name}}}); define it under the target's variables "
                f"or pass --var {name}=VALUE",
            )
            return False, None
        if name in env:
            if _sensitive_position(path, value):
                secrets.remember(env[name])
                if on_visible_secret is not None and "secure_settings" not in path:
                    on_visible_secret(path, name)
            return True, env[name]
        on_error(path, f"environment variable '{name}' is not set (${{env:{name}}})")
        return False, None

    whole = _REF.fullmatch(value)
    if whole:
        ok, resolved = lookup(whole.group(1), whole.group(2))
        return resolved if ok else value

    def replace(match: re.Match[str]) -> str:
        ok, resolved = lookup(match.group(1), match.group(2))
        return str(resolved) if ok else match.group(0)

    return _REF.sub(replace, value)


def _sensitive_position(path: PathKey, value: str) -> bool:
    """Whether an `${env:}` or `${var.}` value lands where secrets go: a field named like one (password,
    token, secret, ...; any level, so `secure_settings.url` counts) or a URL's `user:password@`.
    Such values are redacted from all output (reconciler/secrets.py), so plans show `(sensitive)`."""
    if any(isinstance(key, str) and (secrets.SENSITIVE_KEY.search(key) or key == "secure_settings") for key in path):
        return True
    return re.search(r":\$\{(env:|var\.)[A-Za-z_][A-Za-z0-9_]*\}@", value) is not None
