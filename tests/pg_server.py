"""A throwaway PostgreSQL cluster for the tests: initdb + pg_ctl on a free 127.0.0.1 port, under a
temporary directory, stopped and removed at the end of the session.

The server binaries come from the Debian `postgresql` package (`.ci/run` installs it when
missing): on PATH or under /usr/lib/postgresql/<version>/bin. PostgreSQL refuses to run as root,
so as root the cluster runs as the package's `postgres` user (through `runuser`). Clients log in
over TCP with a password (scram-sha-256), like a real deployment: the test role's password
reaches libpq through PGPASSWORD, never the URL.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUPERUSER = "pgadmin"
SUPERUSER_PASSWORD = "admin-" + uuid.uuid4().hex[:8]
ROLE = "sla"
ROLE_PASSWORD = "sla-" + uuid.uuid4().hex[:12]
DATABASE = "monitoring"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def server_binaries() -> Path:
    """The directory holding initdb and pg_ctl (newest installed version)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if not candidates:
        raise PostgresUnavailable("no initdb/pg_ctl on PATH or under /usr/lib/postgresql/*/bin")
    return Path(candidates[-1]).parent


def _version(initdb: str) -> tuple[int, ...]:
    name = Path(initdb).parent.parent.name
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    bindir: Path
    base: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="reconciler-pg-")))
    port: int = field(default_factory=_free_port)
    _run_as: str | None = None

    @property
    def data(self) -> Path:
        return self.base / "data"

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", self._run_as, "--", *args] if self._run_as else list(args)

    def _run(self, *args: str) -> None:
        result = subprocess.run(self._cmd(*args), capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = (self.base / "server.log").read_text() if (self.base / "server.log").exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed: {result.stdout}\n{result.stderr}\n{log}")

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root and there is no 'postgres' user to run the server") from None
            self._run_as = "postgres"
            os.chown(self.base, user.pw_uid, user.pw_gid)
        pwfile = self.base / "pwfile"
        pwfile.write_text(SUPERUSER_PASSWORD + "\n")
        if self._run_as:
            os.chown(pwfile, pwd.getpwnam(self._run_as).pw_uid, -1)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=scram-sha-256",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        pwfile.unlink()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories='{self.base}' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.base / "server.log"),
            "-w",
            "-o",
            options,
            "start",
        )
        with self.admin("postgres") as conn:
            conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{ROLE_PASSWORD}'")
            conn.execute(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
        return self

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(
                self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"),
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(self.base, ignore_errors=True)

    def admin(self, dbname: str = DATABASE) -> Any:
        """A superuser connection (autocommit), for setting the scene."""
        import psycopg

        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=SUPERUSER,
            password=SUPERUSER_PASSWORD,
            dbname=dbname,
            autocommit=True,
        )

    def connect(self) -> Any:
        """A connection as the test role (what a person at psql would use)."""
        import psycopg

        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=ROLE, password=ROLE_PASSWORD, dbname=DATABASE, autocommit=True
        )

    def url(self, with_password: bool = False) -> str:
        auth = f"{ROLE}:{ROLE_PASSWORD}" if with_password else ROLE
        return f"postgresql+psycopg://{auth}@127.0.0.1:{self.port}/{DATABASE}"

    def new_schema(self) -> str:
        """A fresh schema owned by the test role: one per test keeps tests apart on one server."""
        name = "t_" + uuid.uuid4().hex[:12]
        with self.connect() as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return name
