"""`drift` tells an edit made outside reconciler from a spec change not applied yet, per object,
from the digest of what reconciler last applied recorded on the live side."""

from __future__ import annotations

import json

from grafana_helpers import GrafanaProject, apply_clean, base, folder_doc, group_doc, shorthand_rule
from helpers import Project, policy
from test_quality_monitors import ORDERS, Monitors, dbx, edit_monitor, mon, monitor_doc  # noqa: F401 (fixtures)

LEDGER_PATH = "/api/v1/provisioning/templates/reconciler-ledger-test"


def _causes(project: Project | GrafanaProject, *args: str) -> dict[str, str | None]:
    result = project.cli("drift", "--format", "json", *args)
    assert result.exit_code in (0, 2), result.output
    return {o["name"]: o.get("cause") for o in json.loads(result.stdout)["objects"] if o["status"] == "drifted"}


def test_policy_row_edit_is_out_of_band_and_a_spec_change_is_pending(project: Project) -> None:
    project.write("p.yaml", policy("edited", ["w1"], 10) + "---\n" + policy("respecced", ["w2"], 20))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert all(r["applied_digest"].startswith("sha256:") for r in project.rows())
    project.sql("UPDATE query_sla_policies SET sla_seconds = 99 WHERE spec_name = 'edited'")
    project.write("p.yaml", policy("edited", ["w1"], 10) + "---\n" + policy("respecced", ["w2"], 21))
    assert _causes(project) == {"edited": "out_of_band", "respecced": "pending"}
    text = project.cli("drift").stdout
    assert "changed outside reconciler" in text and "spec changed, not applied yet" in text
    assert _causes(project, "--only-out-of-band") == {"edited": "out_of_band"}

    # An edit outside reconciler AND a spec change: still out of band (live is not what was applied).
    project.sql("UPDATE query_sla_policies SET sla_seconds = 98 WHERE spec_name = 'respecced'")
    assert _causes(project) == {"edited": "out_of_band", "respecced": "out_of_band"}

    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert _causes(project) == {}
    assert project.cli("drift", "--only-out-of-band").exit_code == 0


def test_grafana_rule_edited_in_the_ui_is_out_of_band(gp: GrafanaProject) -> None:
    base(gp)
    apply_clean(gp)
    rule = gp.rules()["SLA miss visits synchronizer"]
    assert rule["annotations"]["reconciler_applied_digest"].startswith("sha256:")
    gp.edit_behind_back(rule["uid"], {"for": "15m"})
    assert _causes(gp) == {"alerts/SLA miss visits synchronizer": "out_of_band"}

    apply_clean(gp)
    base(gp, threshold="> 600")  # a spec change nobody applied yet
    assert _causes(gp) == {"alerts/SLA miss visits synchronizer": "pending"}
    assert gp.cli("drift", "--only-out-of-band").exit_code == 0


def test_an_object_applied_before_digests_were_recorded_has_an_unknown_cause(project: Project) -> None:
    project.write("p.yaml", policy("old", ["w1"], 10))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.sql("UPDATE query_sla_policies SET applied_digest = NULL, sla_seconds = 5")
    assert _causes(project) == {"old": "unknown"}


def test_monitor_edited_behind_the_tools_back_is_out_of_band(mon: Monitors) -> None:  # noqa: F811
    mon.write(monitor_doc())
    mon.apply()
    metrics = mon.api()["custom_metrics"]
    metrics[0]["definition"] = "avg(`{{input_column}}`) * 100"
    edit_monitor(mon.server.state, ORDERS, {"custom_metrics": metrics})
    assert _causes(mon) == {"orders": "out_of_band"}  # type: ignore[arg-type]


def test_a_policy_table_from_before_the_digest_column_is_migrated_by_apply(project: Project) -> None:
    project.write("p.yaml", policy("old", ["w1"], 10))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.sql("ALTER TABLE query_sla_policies DROP COLUMN applied_digest")  # as an earlier version made it
    project.write("p.yaml", policy("old", ["w1"], 11))
    assert "applied_digest" in project.cli("plan").output
    migrated = project.cli("apply", "--auto-approve", "--allow-migrate")
    assert migrated.exit_code == 0, migrated.output
    (row,) = project.rows()
    assert row["sla_seconds"] == 11 and row["applied_digest"].startswith("sha256:")


def test_grafana_folder_edited_in_the_ui_is_out_of_band_and_a_retitle_is_pending(gp: GrafanaProject) -> None:
    """A folder has no field to carry a digest: the planned ledger write after each folder write
    records it in the project's ledger, so drift tells the two apart for folders too."""
    base(gp)
    gp.write("folders.yaml", folder_doc() + "---\n" + folder_doc("reports", "Reports"))
    gp.write("reports.yaml", group_doc("weekly", shorthand_rule("Weekly report late"), folder="reports"))
    steps = [c for op in gp.plan_ops() if op["kind"] == "GrafanaFolder" for c in op["calls"]]
    assert [c["path"] for c in steps if c["method"] == "PUT"] == [LEDGER_PATH, LEDGER_PATH]
    apply_clean(gp)
    ledger = gp.api("GET", LEDGER_PATH).json()["template"]
    assert '"folders":{"alerts":{"applied_digest":"sha256:' in ledger

    folder = gp.folder("alerts")
    assert folder is not None
    gp.api("PUT", "/api/folders/alerts", json={"title": "Alerts (edited)", "version": folder["version"]})
    gp.write("folders.yaml", folder_doc() + "---\n" + folder_doc("reports", "Team reports"))
    assert _causes(gp) == {"alerts": "out_of_band", "reports": "pending"}
    assert _causes(gp, "--only-out-of-band") == {"alerts": "out_of_band"}

    apply_clean(gp)
    assert _causes(gp) == {}
    gp.write("folders.yaml", folder_doc())  # reports is deleted (with our rule), and dropped from the ledger
    gp.remove("reports.yaml")
    apply_clean(gp, "--allow-destructive")
    assert gp.folder("reports") is None
    assert '"reports"' not in gp.api("GET", LEDGER_PATH).json()["template"]
