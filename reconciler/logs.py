"""Logs for `--verbose`, `--debug` and `RECONCILER_LOG=debug|info`, through the standard `logging`
module, to stderr (stdout stays the plan/report document).

`--verbose` (info) shows what reconciler does, each HTTP call made (urllib3's request lines:
method, URL, status) and each SQL statement (SQLAlchemy's engine log); `--debug` adds the
libraries' own detail (the Databricks SDK's request and response bodies, SQL parameters). Every
record passes one redaction filter first: bearer tokens, `user:password@` in URLs and the values
of secret-looking environment variables (…TOKEN, …PASSWORD, …SECRET, …KEY) never reach the log.
"""

from __future__ import annotations

import logging
import os
import re
import sys

ENV = "RECONCILER_LOG"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "verbose": logging.INFO, "warning": logging.WARNING}
#: Loggers shown at info (verbose) level, with the level that carries the calls and statements.
_CALLS = {"urllib3.connectionpool": logging.DEBUG, "sqlalchemy.engine": logging.INFO}
#: Further loggers shown with --debug.
_DETAIL = ("databricks.sdk", "grafana_client", "sqlalchemy.engine", "urllib3")
_SECRET_NAME = re.compile(r"(TOKEN|PASSWORD|PASSWD|SECRET|_KEY)$", re.IGNORECASE)
_PATTERNS = [
    (re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 (redacted)"),
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+(\s+[^'\"\s,}]+)?"), r"\1(redacted)"),
    (re.compile(r"(//[^/\s:@]+):[^/\s@]+@"), r"\1:(redacted)@"),
]


def redact(text: str) -> str:
    """`text` without anything that looks like, or is known to be, a secret."""
    for name, value in os.environ.items():
        if len(value) >= 6 and _SECRET_NAME.search(name) and value in text:
            text = text.replace(value, "(redacted)")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class _Redacting(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        return True


_handler: logging.Handler | None = None
_configured: list[str] = []


def configure(level_name: str | None) -> None:
    """Route reconciler's and its libraries' logs to stderr at `level_name` (None: off, the default)."""
    global _handler
    for name in _configured:  # in-process callers (tests) configure once per command
        logger = logging.getLogger(name)
        if _handler is not None:
            logger.removeHandler(_handler)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
    _configured.clear()
    level_name = (level_name or os.environ.get(ENV) or "").strip().lower()
    if not level_name:
        return
    level = LEVELS.get(level_name)
    if level is None:
        raise ValueError(f"{ENV}={level_name!r}: use one of {', '.join(LEVELS)}")
    _handler = logging.StreamHandler(sys.stderr)
    _handler.addFilter(_Redacting())
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    loggers = {"reconciler": level}
    loggers.update(_CALLS if level <= logging.INFO else {})
    if level <= logging.DEBUG:
        loggers.update(dict.fromkeys(_DETAIL, logging.DEBUG))
    for name, logger_level in loggers.items():
        logger = logging.getLogger(name)
        logger.setLevel(logger_level)
        logger.addHandler(_handler)
        logger.propagate = False
        _configured.append(name)
