"""Checks across documents: they run beside every other error of the run, and each clash names
the field that makes it, on both ends, as file:line."""

from __future__ import annotations

from grafana_helpers import folder_doc, group_doc, shorthand_rule
from helpers import Project, policy


def test_cross_document_checks_run_beside_field_errors(project: Project) -> None:
    project.write("a.yaml", policy("a", ["w"], mode="BURST"))
    project.write("b.yaml", policy("b", ["w1", "w2"]))
    project.write("c.yaml", policy("c", ["w2", "w1", "w2"]))
    project.write("d.yaml", policy("b", ["w9"]))
    result = project.cli("validate")
    assert result.exit_code == 1
    err = result.stderr
    assert "3 problem(s)" in err, err
    assert "a.yaml:8: spec.policy_mode: 'BURST' is not one of SLA_BURST, ERROR, ALL" in err
    assert "c.yaml:6: spec.warehouse_ids: same warehouse set as SlaPolicy 'b' (" in err
    assert "b.yaml:6); a warehouse set can have only one policy" in err
    assert "d.yaml:4: metadata.name: SlaPolicy 'b' is already declared at " in err and "b.yaml:4\n" in err


def test_duplicate_identity_points_at_warehouse_ids_of_both_documents(project: Project) -> None:
    project.write(
        "a.yaml",
        """
        apiVersion: reconciler/v1
        kind: SlaPolicy
        metadata: {name: x}
        spec:
          warehouse_ids: [w1, w2]
          sla_seconds: 300
        """,
    )
    project.write(
        "b.yaml",
        """
        # same warehouses, listed the other way round
        apiVersion: reconciler/v1
        kind: SlaPolicy
        metadata:
          name: y
        spec:
          sla_seconds: 60
          warehouse_ids:
            - w2
            - w1
        """,
    )
    result = project.cli("validate")
    assert result.exit_code == 1
    assert "b.yaml:8: spec.warehouse_ids: same warehouse set as SlaPolicy 'x' (" in result.stderr, result.stderr
    assert "a.yaml:5); a warehouse set can have only one policy" in result.stderr


def test_duplicate_name_points_at_metadata_name_of_both_documents(project: Project) -> None:
    project.write("a.yaml", "# first\n\n" + policy("x", ["w1"]))
    project.write(
        "b.yaml", policy("x", ["w2"]).replace("metadata:\n  name: x\n", "metadata:\n  labels: {a: b}\n  name: x\n")
    )
    result = project.cli("validate")
    assert result.exit_code == 1
    assert "1 problem(s)" in result.stderr, result.stderr
    assert "b.yaml:5: metadata.name: SlaPolicy 'x' is already declared at " in result.stderr
    assert "a.yaml:6\n" in result.stderr


def test_a_document_its_kind_rejects_still_takes_part_in_cross_document_checks(project: Project) -> None:
    project.write("folders.yaml", folder_doc())
    # b.yaml passes its model but not GrafanaRuleGroup's own checks (a reserved label) ...
    project.write(
        "b.yaml",
        group_doc(
            "g1",
            shorthand_rule("Slow", extra="labels: {__alert_rule_uid__: x}").replace(
                "  labels: {severity: critical}\n", ""
            ),
        ),
    )
    # ... and still clashes with c.yaml (same title in the folder) and d.yaml (same name).
    project.write("c.yaml", group_doc("g2", shorthand_rule("Slow")))
    project.write("d.yaml", group_doc("g1", shorthand_rule("Other")))
    # e.yaml cannot even be built (shorthand without threshold); its name still counts.
    project.write("e.yaml", group_doc("g3", shorthand_rule("Third").replace('  threshold: "> 300"\n', "")))
    project.write("f.yaml", group_doc("g3", shorthand_rule("Fourth")))
    project.write("p.yaml", policy("p", ["w"], mode="BURST"))
    result = project.cli("validate")
    assert result.exit_code == 1
    err = result.stderr
    assert "6 problem(s)" in err, err
    assert "b.yaml:16: spec.rules[0].labels.__alert_rule_uid__: this label is reserved by Grafana" in err
    assert "c.yaml:9: spec.rules[0].title: rule title 'Slow' is already used in folder alerts (" in err
    assert "d.yaml:4: metadata.name: GrafanaRuleGroup 'g1' is already declared at " in err
    assert "e.yaml:9: spec.rules[0].threshold: required with query" in err
    assert "f.yaml:4: metadata.name: GrafanaRuleGroup 'g3' is already declared at " in err
    assert "p.yaml:8: spec.policy_mode: 'BURST' is not one of" in err


def test_grafana_identity_clashes_point_at_the_field_that_sets_them(project: Project) -> None:
    project.write("folders.yaml", folder_doc() + "---\n" + folder_doc("alerts2", extra="uid: alerts"))
    project.write("a.yaml", group_doc("a", shorthand_rule("One", extra="uid: rule-1"), extra="group: shared"))
    project.write("b.yaml", group_doc("b", shorthand_rule("Two", extra="uid: rule-1"), extra="group: shared"))
    result = project.cli("validate")
    assert result.exit_code == 1
    err = result.stderr
    assert "3 problem(s)" in err, err
    assert "folders.yaml:14: spec.uid: folder uid 'alerts' is already declared at " in err and "folders.yaml:4\n" in err
    assert "b.yaml:8: spec.group: rule group 'alerts/shared' is already declared at " in err and "a.yaml:8\n" in err
    assert "b.yaml:18: spec.rules[0].uid: rule uid 'rule-1' is already declared at " in err and "a.yaml:18\n" in err
