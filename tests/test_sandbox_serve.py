"""`reconciler sandbox serve` exposes the emulators on a port people can point clients at."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests
from databricks.sdk import WorkspaceClient


def test_sandbox_serve_answers_real_clients(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", "0", "--state", str(tmp_path / "s.db")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = first.split(" listening on ")[1].split()[0]
        assert requests.get(f"{url}/sandbox/health", timeout=5).json() == {"status": "ok"}
        client = WorkspaceClient(host=url, token="dapi-anything")
        assert client.config.host == url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
