"""Known secret values of one CLI run, and their redaction from everything the CLI writes.

Why one registry rather than care at every message: a secret reaches output along paths nobody
planned (a server echoing the `Authorization` header in an error body, an SDK quoting a URL with
`user:password@`, a spec value taken from `${env:}`). Whoever learns a secret value (the target
reading a token variable, the spec loader substituting `${env:}` in a sensitive field, a policy
store reading `password_env`) remembers it here, and the CLI's output streams replace every
occurrence with `(sensitive)` — stdout, stderr and the saved plan file alike.
"""

from __future__ import annotations

import io
import re
from typing import Any, TextIO
from urllib.parse import unquote, urlsplit

SENSITIVE = "(sensitive)"
# Shorter values are too likely to be ordinary words or numbers to be replaced everywhere.
_MIN_LENGTH = 4
# Field names whose values are secrets wherever they appear in a spec or a target.
SENSITIVE_KEY = re.compile(r"(password|passwd|secret|token|api_?key|credential|private_?key)", re.IGNORECASE)

_known: set[str] = set()
_warnings: list[str] = []


def remember(value: object) -> None:
    """Treat `value` (and its URL-quoted form) as a secret for the rest of this run."""
    if not isinstance(value, str) or len(value) < _MIN_LENGTH:
        return
    _known.add(value)
    unquoted = unquote(value)
    if unquoted != value and len(unquoted) >= _MIN_LENGTH:
        _known.add(unquoted)


def remember_url_credentials(url: str | None) -> None:
    """The password (and `user:password` pair) of a URL's userinfo, e.g. a Databricks host."""
    if not url or "@" not in url:
        return
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    if parts.password:
        remember(parts.password)
        remember(f"{parts.username}:{parts.password}")


def forget_all() -> None:
    """A new run starts with no known secrets (the CLI runs many times in one test process)."""
    _known.clear()
    _warnings.clear()


def warn(message: str) -> None:
    """A secret goes where it will be visible (e.g. `${env:}` into a plain-text field); said once."""
    if message not in _warnings:
        _warnings.append(message)


def warnings() -> list[str]:
    return list(_warnings)


def redact(text: str) -> str:
    """`text` with every known secret replaced by `(sensitive)`, longest first."""
    if not _known or not text:
        return text
    for secret in sorted(_known, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, SENSITIVE)
    return text


class RedactingStream(io.TextIOBase):
    """A text stream that redacts known secrets before writing to the stream it wraps.

    It reports the wrapped stream's encoding, errors and terminal-ness so click and rich treat
    it as that stream (click would otherwise wrap the binary buffer beneath and bypass it).
    """

    def __init__(self, inner: TextIO) -> None:
        super().__init__()
        self.inner = inner

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError("RedactingStream writes text")
        self.inner.write(redact(text))
        return len(text)

    def flush(self) -> None:
        self.inner.flush()

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.inner.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.inner.errors

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
