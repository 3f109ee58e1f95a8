"""SQLite-backed state shared by every emulator in the sandbox.

Why SQLite: the sandbox must survive restarts of `reconciler sandbox serve`, let tests reach in and
edit live state "behind the tool's back" (drift scenarios), and be safe under the threaded WSGI
server. One file, one connection per call, and a process-wide lock around writes keep it simple.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class SandboxState:
    """A SQLite file plus the helpers emulators need to keep JSON documents in it."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection inside one transaction, committed on success, rolled back on error.

        Writes are serialised with a lock: SQLite allows one writer anyway, and serialising here
        turns "database is locked" races into plain waiting.
        """
        with self._lock:
            conn = sqlite3.connect(self.path, timeout=30)
            conn.row_factory = sqlite3.Row
            try:
                yield conn
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                conn.close()

    def init_schema(self, ddl: str) -> None:
        with self.connect() as conn:
            conn.executescript(ddl)

    # JSON document helpers: most emulated objects are stored as one JSON document per key.
    @staticmethod
    def dumps(value: Any) -> str:
        return json.dumps(value, sort_keys=True)

    @staticmethod
    def loads(text: str | None) -> Any:
        return None if text is None else json.loads(text)
