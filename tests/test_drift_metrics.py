"""Drift as metrics, against a real Prometheus Pushgateway (the Debian package, started here on
127.0.0.1) and node-exporter's textfile format."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from helpers import copy_examples, run
from prometheus_client.parser import text_string_to_metric_families

PUSHGATEWAY = shutil.which("prometheus-pushgateway") or shutil.which("pushgateway")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    if PUSHGATEWAY is None:
        if os.environ.get("RECONCILER_REQUIRE_PUSHGATEWAY") == "1":
            pytest.fail("prometheus-pushgateway is not installed (.ci/run installs the Debian package)")
        pytest.skip("prometheus-pushgateway is not installed")
    port = _free_port()
    proc = subprocess.Popen(
        [PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{url}/-/ready", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the Pushgateway did not start"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _gauges(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("reconciler_"):
                labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k in ("kind", "status", "target")))
                out[(sample.name, labels)] = sample.value
    return out


def _objects(gauges: dict[tuple[str, tuple[tuple[str, str], ...]], float], kind: str, status: str) -> float:
    key = ("reconciler_drift_objects", (("kind", kind), ("status", status), ("target", "local")))
    return gauges[key]


def _edit_row(specs: Path, name: str, sla: int) -> None:
    with sqlite3.connect(specs / ".reconciler" / "local" / "policies.db") as conn:
        conn.execute("UPDATE query_sla_policies SET sla_seconds = ? WHERE spec_name = ?", (sla, name))


def test_pushgateway_gauges_show_out_of_band_drift_and_return_to_zero_after_apply(
    tmp_path: Path, pushgateway: str
) -> None:
    specs = copy_examples(tmp_path)
    assert run("apply", specs, "--auto-approve").exit_code == 0
    _edit_row(specs, "bi-dashboards", 42)  # behind reconciler's back

    drifted = run("drift", specs, "--pushgateway", pushgateway)
    assert drifted.exit_code == 2, drifted.output
    gauges = _gauges(requests.get(f"{pushgateway}/metrics", timeout=5).text)
    assert _objects(gauges, "SlaPolicy", "out_of_band") == 1
    assert _objects(gauges, "SlaPolicy", "pending") == 0
    assert _objects(gauges, "SlaPolicy", "in_sync") >= 2
    assert _objects(gauges, "GrafanaAlertRule", "out_of_band") == 0
    assert gauges[("reconciler_drift_check_failed", (("target", "local"),))] == 0
    last = gauges[("reconciler_drift_last_success_timestamp_seconds", (("target", "local"),))]
    assert abs(last - time.time()) < 120
    assert gauges[("reconciler_drift_last_duration_seconds", (("target", "local"),))] > 0

    assert run("apply", specs, "--auto-approve").exit_code == 0
    clean = run("drift", specs, "--pushgateway", pushgateway)
    assert clean.exit_code == 0, clean.output
    gauges = _gauges(requests.get(f"{pushgateway}/metrics", timeout=5).text)
    for status in ("out_of_band", "pending", "drifted", "missing", "undeclared"):
        assert _objects(gauges, "SlaPolicy", status) == 0, status

    # A check that fails sets the failure gauge and keeps the last good values.
    (specs / "broken.yaml").write_text("apiVersion: reconciler/v1\nkind: SlaPolicy\nmetadata: {name: x}\nspec: {}\n")
    failed = run("drift", specs, "--pushgateway", pushgateway)
    assert failed.exit_code == 1
    gauges = _gauges(requests.get(f"{pushgateway}/metrics", timeout=5).text)
    assert gauges[("reconciler_drift_check_failed", (("target", "local"),))] == 1
    assert _objects(gauges, "SlaPolicy", "in_sync") >= 2


def test_textfile_separates_out_of_band_edits_from_unapplied_spec_changes(tmp_path: Path) -> None:
    specs = copy_examples(tmp_path)
    assert run("apply", specs, "--auto-approve").exit_code == 0
    _edit_row(specs, "bi-dashboards", 42)
    policies = specs / "sla-policies.yaml"
    policies.write_text(policies.read_text().replace("sla_seconds: ${var.etl_sla_seconds}", "sla_seconds: 7200"))
    textfile = tmp_path / "node-exporter" / "reconciler.prom"
    assert run("drift", specs, "--textfile", textfile).exit_code == 2
    gauges = _gauges(textfile.read_text())
    assert _objects(gauges, "SlaPolicy", "out_of_band") == 1
    assert _objects(gauges, "SlaPolicy", "pending") == 1

    only = run("drift", specs, "--only-out-of-band", "--format", "json")
    assert only.exit_code == 2
    import json

    objects = json.loads(only.stdout)["objects"]
    assert [(o["name"], o["cause"]) for o in objects] == [("bi-dashboards", "out_of_band")]
