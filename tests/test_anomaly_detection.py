"""The AnomalyDetection kind: schema-level anomaly detection (Data Quality v1 `Monitor` with
`object_type: schema`) planned, applied, drifted, imported and generated through the CLI against
the sandbox, reached by the real `WorkspaceClient`; plus the pure field table / normaliser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from databricks.sdk import WorkspaceClient
from databricks.sdk.core import Config
from databricks.sdk.errors import InvalidParameterValue, NotFound, ResourceAlreadyExists
from databricks.sdk.service.dataquality import (
    AnomalyDetectionConfig,
    Monitor,
    NotificationDestination,
    NotificationSettings,
)
from helpers import Project, run

from reconciler.kinds.anomaly_detection import FIELDS, anomaly_state, spec_from_config, unmodelled_paths
from reconciler.kinds.fields import OnChange
from reconciler.sandbox import SandboxServer, SandboxSettings

SPEC = """
apiVersion: reconciler/v1
kind: AnomalyDetection
metadata:
  name: sales
spec:
  schema_name: main.sales
  excluded_table_full_names: [main.sales.customers]
  notification_settings:
    on_unhealthy_table:
      destination_user_ids: [7, 3]
"""

LEDGER = "/Shared/.reconciler/test/ws/ledger.json"


def _target(server: SandboxServer, api: str | None) -> str:
    settings = f"\n    quality_monitors: {{api: {api}}}" if api else ""
    return (
        "project: test\ndefault_target: ws\ntargets:\n  ws:\n"
        f'    databricks: {{host: "{server.url}", retry_timeout_seconds: 5}}{settings}\n'
    )


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Project, WorkspaceClient, SandboxServer]]:
    with SandboxServer(tmp_path / "workspace.db", SandboxSettings()) as server:
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-test")
        project = Project(tmp_path / "specs")
        project.root.mkdir()
        project.write("reconciler.yaml", _target(server, "data_quality"))
        client = WorkspaceClient(config=Config(host=server.url, token="dapi-nb", retry_timeout_seconds=5))
        yield project, client, server


def _config(w: WorkspaceClient, schema: str = "main.sales") -> dict[str, Any]:
    schema_id = w.schemas.get(schema).schema_id
    assert schema_id
    config = w.data_quality.get_monitor("schema", schema_id).anomaly_detection_config
    assert config is not None
    return config.as_dict()  # type: ignore[no-any-return]


def _ops(project: Project) -> list[dict[str, Any]]:
    return list(project.plan_json()["operations"])


def _ledger(w: WorkspaceClient) -> dict[str, Any]:
    return dict(json.loads(w.workspace.download(LEDGER).read()))


def test_plan_apply_converge_update_and_gated_delete(ws: tuple[Project, WorkspaceClient, SandboxServer]) -> None:
    project, w, _ = ws
    project.write("anomaly.yaml", SPEC)
    (op,) = _ops(project)
    assert op["action"] == "create" and op["key"] == "main.sales"

    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert _config(w) == {
        "excluded_table_full_names": ["main.sales.customers"],
        "notification_settings": {"on_unhealthy_table": {"destination_user_ids": [7, 3]}},
    }
    entry = _ledger(w)["objects"]["AnomalyDetection"]["main.sales"]
    assert entry["spec_name"] == "sales" and "pending" not in entry
    # Same ledger file as the QualityMonitor kind, beside its entries.
    again = project.cli("plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output

    # An in-place update: only the modelled fields are written (update_mask), history kept.
    project.write("anomaly.yaml", SPEC.replace("[7, 3]", "[3]").replace("[main.sales.customers]", "[]"))
    (op,) = _ops(project)
    assert op["action"] == "update"
    assert sorted(c["path"] for c in op["changes"]) == [
        "excluded_table_full_names",
        "notification_settings.on_unhealthy_table.destination_user_ids",
    ]
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert _config(w) == {"notification_settings": {"on_unhealthy_table": {"destination_user_ids": [3]}}}
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0

    # Removing the spec deletes it only with --allow-destructive, saying what is lost.
    project.remove("anomaly.yaml")
    refused = project.cli("apply", "--auto-approve")
    assert refused.exit_code == 1, refused.output
    assert "allow-destructive" in refused.output
    plan = project.cli("plan")
    assert "anomaly detection over schema main.sales stops" in plan.output
    assert project.cli("apply", "--auto-approve", "--allow-destructive").exit_code == 0
    with pytest.raises(NotFound):
        _config(w)
    assert "main.sales" not in _ledger(w)["objects"].get("AnomalyDetection", {})


def test_prevent_destroy_is_remembered_on_the_live_side(ws: tuple[Project, WorkspaceClient, SandboxServer]) -> None:
    project, w, _ = ws
    project.write("anomaly.yaml", SPEC + "  lifecycle: {prevent_destroy: true}\n")
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.remove("anomaly.yaml")
    refused = project.cli("apply", "--auto-approve", "--allow-destructive")
    assert refused.exit_code == 1 and "prevent_destroy" in refused.output
    _config(w)  # still there


def test_drift_finds_out_of_band_edits_and_apply_reverts(ws: tuple[Project, WorkspaceClient, SandboxServer]) -> None:
    project, w, _ = ws
    project.write("anomaly.yaml", SPEC)
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert project.cli("drift").exit_code == 0
    schema_id = w.schemas.get("main.sales").schema_id
    assert schema_id
    w.data_quality.update_monitor(
        "schema",
        schema_id,
        Monitor(object_type="schema", object_id=schema_id, anomaly_detection_config=AnomalyDetectionConfig()),
        update_mask="anomaly_detection_config.excluded_table_full_names",
    )
    result = project.cli("drift", "--format", "json")
    assert result.exit_code == 2, result.output
    (obj,) = [o for o in json.loads(result.stdout)["objects"] if o["name"] == "sales"]
    assert obj["status"] == "drifted"
    assert [c["path"] for c in obj["changes"]] == ["excluded_table_full_names"]
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert project.cli("drift").exit_code == 0


def _by_hand(w: WorkspaceClient, schema: str = "main.sales", **settings: Any) -> None:
    schema_id = w.schemas.get(schema).schema_id
    assert schema_id
    w.data_quality.create_monitor(
        Monitor(
            object_type="schema",
            object_id=schema_id,
            anomaly_detection_config=AnomalyDetectionConfig(
                excluded_table_full_names=[f"{schema}.customers"] if schema == "main.sales" else None,
                notification_settings=NotificationSettings(**settings) if settings else None,
            ),
        )
    )


def test_import_and_generate_specs_adopt_what_the_sdk_created(
    ws: tuple[Project, WorkspaceClient, SandboxServer],
) -> None:
    project, w, _ = ws
    _by_hand(w, on_unhealthy_table=NotificationDestination(destination_ids=["dest-1"]))
    _by_hand(w, "main.ml")
    with pytest.raises(ResourceAlreadyExists):
        _by_hand(w)  # the emulator answers 409 ALREADY_EXISTS, as the service does

    # Declared but not owned: the plan refuses until it is imported.
    project.write("anomaly.yaml", SPEC.replace("destination_user_ids: [7, 3]", "destination_ids: [dest-1]"))
    blocked = project.cli("plan")
    assert blocked.exit_code == 1, blocked.output
    imported = run("import", "AnomalyDetection", "sales", project.root)
    assert imported.exit_code == 0, imported.output
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0

    # --generate-specs for the rest of main.*: main.sales is declared (skipped), main.ml written.
    generated = run("import", "AnomalyDetection", "main.*", project.root, "--generate-specs")
    assert generated.exit_code == 0, generated.output
    (written,) = (project.root / "anomaly-detection").iterdir()
    doc = yaml.safe_load(written.read_text())
    assert doc["kind"] == "AnomalyDetection" and doc["spec"] == {"schema_name": "main.ml"}
    assert "already declared" in generated.output
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0
    assert set(_ledger(w)["objects"]["AnomalyDetection"]) == {"main.sales", "main.ml"}


def test_unmodelled_live_fields_are_refused_not_dropped(ws: tuple[Project, WorkspaceClient, SandboxServer]) -> None:
    project, w, server = ws
    _by_hand(w, on_unhealthy_table=NotificationDestination(destination_user_ids=[7]))
    # Email recipients set elsewhere (the API refuses them on schema monitors; the UI's alert is shared).
    with server.state.connect() as conn:
        conn.execute(
            "UPDATE dbx_anomaly_monitors SET config = ? WHERE schema_name = 'main.sales'",
            (
                json.dumps(
                    {
                        "excluded_table_full_names": ["main.sales.customers"],
                        "notification_settings": {
                            "on_unhealthy_table": {"destination_user_ids": [7], "email_addresses": ["ops@example.com"]}
                        },
                    }
                ),
            ),
        )
    assert run("import", "AnomalyDetection", "main.sales", project.root).exit_code == 1  # no spec yet
    project.write("anomaly.yaml", SPEC)
    assert run("import", "AnomalyDetection", "main.sales", project.root).exit_code == 0
    result = project.cli("plan")
    assert result.exit_code == 1, result.output
    assert "notification_settings.on_unhealthy_table.email_addresses" in result.output
    assert "does not model" in result.output
    recipients = _config(w)["notification_settings"]["on_unhealthy_table"]
    assert recipients["email_addresses"] == ["ops@example.com"]


def test_emulator_follows_the_sdk_shapes_and_errors(ws: tuple[Project, WorkspaceClient, SandboxServer]) -> None:
    _, w, _ = ws
    schema_id = w.schemas.get("main.ml").schema_id
    assert schema_id
    with pytest.raises(NotFound) as missing:
        w.data_quality.get_monitor("schema", schema_id)
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(NotFound):
        w.data_quality.get_monitor("schema", "00000000-0000-0000-0000-000000000000")
    for unsupported in (
        NotificationSettings(on_failure=NotificationDestination(destination_user_ids=[1])),
        NotificationSettings(on_unhealthy_table=NotificationDestination(email_addresses=["a@example.com"])),
    ):
        with pytest.raises(InvalidParameterValue):
            w.data_quality.create_monitor(
                Monitor(
                    object_type="schema",
                    object_id=schema_id,
                    anomaly_detection_config=AnomalyDetectionConfig(notification_settings=unsupported),
                )
            )
    _by_hand(w, "main.ml")
    with pytest.raises(ResourceAlreadyExists) as twice:
        _by_hand(w, "main.ml")
    assert twice.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_a_target_pinned_to_the_legacy_api_is_a_plan_error(ws: tuple[Project, WorkspaceClient, SandboxServer]) -> None:
    project, _, server = ws
    project.write("reconciler.yaml", _target(server, "legacy"))
    project.write("anomaly.yaml", SPEC)
    result = project.cli("plan")
    assert result.exit_code == 1
    assert "anomaly.yaml:" in result.output and "needs the Data Quality v1 API" in result.output


def test_missing_schema_and_foreign_excluded_table_are_errors_with_lines(
    ws: tuple[Project, WorkspaceClient, SandboxServer],
) -> None:
    project, _, _ = ws
    project.write("anomaly.yaml", SPEC.replace("main.sales.customers", "main.ml.customers"))
    offline = project.cli("plan")
    assert offline.exit_code == 1 and "anomaly.yaml:7" in offline.output, offline.output
    assert "not a table of schema main.sales" in offline.output
    project.write("anomaly.yaml", SPEC.replace("main.sales", "main.nope"))
    missing = project.cli("plan")
    assert missing.exit_code == 1 and "schema main.nope does not exist" in missing.output, missing.output


# --- the pure field table / normaliser ----------------------------------------------------------------


def test_field_table_and_normaliser() -> None:
    assert FIELDS["schema_name"].change is OnChange.IDENTITY
    live = anomaly_state(
        "Main.Sales",
        {
            "excluded_table_full_names": ["main.sales.B", "main.sales.a"],
            "notification_settings": {"on_unhealthy_table": {"destination_user_ids": [2, 1]}},
        },
    )
    same = anomaly_state(
        "main.sales",
        {
            "excluded_table_full_names": ["main.sales.a", "main.sales.b"],
            "notification_settings": {"on_unhealthy_table": {"destination_user_ids": [1, 2], "destination_ids": []}},
        },
    )
    assert live == same  # sets, case, empty-is-unset
    assert anomaly_state("main.sales", {}) == anomaly_state("main.sales", {"notification_settings": {}})
    assert unmodelled_paths({"excluded_table_full_names": ["x"]}) == []
    assert unmodelled_paths(
        {
            "notification_settings": {
                "on_failure": {"email_addresses": ["a"]},
                "on_unhealthy_table": {"email_addresses": ["b"]},
            },
            "new_field": 1,
        }
    ) == ["notification_settings.on_failure", "notification_settings.on_unhealthy_table.email_addresses", "new_field"]
    assert spec_from_config("main.sales", {"excluded_table_full_names": ["main.sales.b", "main.sales.a"]}) == {
        "schema_name": "main.sales",
        "excluded_table_full_names": ["main.sales.a", "main.sales.b"],
    }


def test_schema_ids_are_resolved_once_per_run(ws: tuple[Project, WorkspaceClient, SandboxServer]) -> None:
    project, _, server = ws
    project.write("anomaly.yaml", SPEC)
    assert project.cli("apply", "--auto-approve").exit_code == 0
    before = server.request_counts()
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0
    after = server.request_counts()
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
    schema_gets = {k: v for k, v in delta.items() if k.startswith("GET /api/2.1/unity-catalog/schemas/main.sales")}
    monitor_gets = {k: v for k, v in delta.items() if k.startswith("GET /api/data-quality/v1/monitors/schema/")}
    assert list(schema_gets.values()) == [1], delta
    assert list(monitor_gets.values()) == [1], delta


def test_unknown_top_level_fields_are_carried_through_updates(
    ws: tuple[Project, WorkspaceClient, SandboxServer],
) -> None:
    project, w, server = ws
    project.write("anomaly.yaml", SPEC)
    assert project.cli("apply", "--auto-approve").exit_code == 0
    with server.state.connect() as conn:  # a field of a newer API version, set elsewhere
        row = conn.execute("SELECT config FROM dbx_anomaly_monitors WHERE schema_name = 'main.sales'").fetchone()
        config = {**json.loads(row["config"]), "sensitivity": "HIGH"}
        conn.execute(
            "UPDATE dbx_anomaly_monitors SET config = ? WHERE schema_name = 'main.sales'", (json.dumps(config),)
        )
    project.write("anomaly.yaml", SPEC.replace("[7, 3]", "[3]"))
    plan = project.cli("plan")
    assert plan.exit_code == 0 and "kept unchanged by updates: sensitivity" in plan.output, plan.output
    assert project.cli("apply", "--auto-approve").exit_code == 0
    with server.state.connect() as conn:
        row = conn.execute("SELECT config FROM dbx_anomaly_monitors WHERE schema_name = 'main.sales'").fetchone()
    stored = json.loads(row["config"])
    assert stored["sensitivity"] == "HIGH"
    assert stored["notification_settings"] == {"on_unhealthy_table": {"destination_user_ids": [3]}}
