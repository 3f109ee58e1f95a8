"""A person editing Grafana while an apply runs (issue #13, "Nothing outside the plan is
overwritten"): a rule added by hand to a group the apply writes survives it, and a hand edit to
one of reconciler's rules between the plan's read and the apply's write is refused, not
overwritten; a re-plan shows it and converges.

The edit lands exactly inside the apply: the sandbox holds one request of the apply (a `hold`
fault) until the edit is done, then serves it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from click.testing import Result
from grafana_helpers import FULL_FORM_RULE, GrafanaProject, apply_clean, base, definition, group_doc, shorthand_rule

RULES = "/api/v1/provisioning/alert-rules"


def _apply_while(gp: GrafanaProject, method: str, path: str, edit: Callable[[], None], *args: str) -> Result:
    """`apply`, with its first `method path` request held until `edit` (made by someone else,
    through the HTTP API) is done."""
    faults = gp.sandbox.faults
    faults.add(path, method=method, mode="hold", hold_seconds=60)
    problems: list[BaseException] = []

    def person() -> None:
        try:
            assert faults.wait_held(timeout=60), f"the apply never made a {method} {path} request"
            edit()
        except BaseException as exc:  # reported by the test, not lost in the thread
            problems.append(exc)
        finally:
            faults.release()

    editor = threading.Thread(target=person)
    editor.start()
    try:
        result = gp.cli("apply", "--auto-approve", *args)
    finally:
        faults.release()
        editor.join(timeout=60)
    assert not problems, problems
    return result


def _specs(gp: GrafanaProject, threshold: str, extra: str = "") -> None:
    gp.write(
        "rules.yaml",
        group_doc("sla", shorthand_rule("SLA miss visits synchronizer", threshold) + FULL_FORM_RULE + extra),
    )


def test_a_rule_added_by_hand_to_the_group_during_an_apply_survives_it(gp: GrafanaProject) -> None:
    base(gp)
    apply_clean(gp)
    # The apply creates a rule in the group and updates another; the person adds theirs meanwhile.
    _specs(gp, "> 400", shorthand_rule("Orders sync late", expr="orders_sync_duration"))
    made: dict[str, str] = {}

    def add_by_hand() -> None:
        made["rule"] = definition(gp.create_unmanaged("Hand-made check", "sla", uid="hand-made"))

    result = _apply_while(gp, "POST", f"^{RULES}$", add_by_hand)
    assert result.exit_code == 0, result.output
    rules = gp.rules()
    assert definition(rules["Hand-made check"]) == made["rule"]
    assert {"SLA miss visits synchronizer", "Visits synchronizer stalled", "Orders sync late"} <= set(rules)
    assert [r["title"] for r in gp.group("alerts", "sla")["rules"]].count("Hand-made check") == 1
    plan = gp.cli("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output  # converged; the hand-made rule is shown, never changed


def test_a_hand_edit_to_our_rule_during_an_apply_is_refused_not_overwritten(gp: GrafanaProject) -> None:
    base(gp)
    apply_clean(gp)
    ours = gp.rules()["SLA miss visits synchronizer"]
    # The create (a POST) runs before the update of `ours` (a PUT): the person edits `ours` while
    # the create is held, i.e. after the apply planned the update and before it writes it.
    _specs(gp, "> 400", shorthand_rule("Orders sync late", expr="orders_sync_duration"))
    ops = [(o["action"], o["name"]) for o in gp.plan_ops()]
    assert ops.index(("create", "alerts/Orders sync late")) < ops.index(
        ("update", "alerts/SLA miss visits synchronizer")
    )

    result = _apply_while(gp, "POST", f"^{RULES}$", lambda: gp.edit_behind_back(ours["uid"], {"for": "15m"}))
    assert result.exit_code != 0
    assert "changed in Grafana since plan (for); re-plan: nothing was written" in result.output
    assert "Traceback" not in result.output
    edited = gp.rules()["SLA miss visits synchronizer"]
    assert edited["for"] == "15m"  # the person's edit is kept
    assert edited["data"] == ours["data"]  # and nothing of the planned update was written over it

    # A re-plan shows the edit as a change the spec undoes, and applies cleanly.
    plan = gp.cli("plan")
    assert "15m" in plan.stdout, plan.output
    apply_clean(gp)
    assert gp.rules()["SLA miss visits synchronizer"]["for"] == "5m"


def test_a_rule_deleted_by_hand_during_an_apply_is_reported_not_recreated(gp: GrafanaProject) -> None:
    base(gp)
    apply_clean(gp)
    ours = gp.rules()["SLA miss visits synchronizer"]
    _specs(gp, "> 400", shorthand_rule("Orders sync late", expr="orders_sync_duration"))

    def delete_by_hand() -> None:
        gp.api("DELETE", f"{RULES}/{ours['uid']}").raise_for_status()  # provenance api, as reconciler wrote it

    result = _apply_while(gp, "POST", f"^{RULES}$", delete_by_hand)
    assert result.exit_code != 0
    assert "was deleted in Grafana since plan; re-plan: nothing was written" in result.output
    assert "SLA miss visits synchronizer" not in gp.rules()
    apply_clean(gp)  # the re-plan creates it again, as the spec says


def test_an_interval_change_is_refused_when_a_rule_not_ours_joined_the_group_during_the_apply(
    gp: GrafanaProject,
) -> None:
    base(gp)
    apply_clean(gp)
    ours = gp.rules()["SLA miss visits synchronizer"]
    # The rule's update (a PUT of the rule), then the group's interval write after it.
    gp.write(
        "rules.yaml",
        group_doc("sla", shorthand_rule("SLA miss visits synchronizer", "> 400") + FULL_FORM_RULE, interval="2m"),
    )
    result = _apply_while(
        gp, "PUT", f"^{RULES}/{ours['uid']}$", lambda: gp.create_unmanaged("Hand-made check", "sla", uid="hand-made")
    )
    assert result.exit_code != 0
    assert "1 rule(s) joined it in Grafana since plan ('Hand-made check')" in result.output
    assert gp.group("alerts", "sla")["interval"] == 60  # the hand-made rule was not rewritten
    plan = gp.cli("plan")
    assert plan.exit_code == 1 and "reconciler does not manage" in plan.output  # the plan's own refusal now


def test_a_rule_of_ours_edited_by_hand_during_an_apply_that_deletes_it_is_kept(gp: GrafanaProject) -> None:
    base(gp)
    apply_clean(gp)
    ours = gp.rules()["Visits synchronizer stalled"]
    # The spec drops `ours` and declares a new rule: the person edits `ours` while the create is held.
    gp.write(
        "rules.yaml",
        group_doc(
            "sla",
            shorthand_rule("SLA miss visits synchronizer")
            + shorthand_rule("Orders sync late", expr="orders_sync_duration"),
        ),
    )
    ops = [(o["action"], o["name"]) for o in gp.plan_ops()]
    assert ops.index(("create", "alerts/Orders sync late")) < ops.index(
        ("delete", "alerts/Visits synchronizer stalled")
    )

    result = _apply_while(
        gp,
        "POST",
        f"^{RULES}$",
        lambda: gp.edit_behind_back(ours["uid"], {"for": "30m"}),
        "--allow-destructive",
    )
    assert result.exit_code != 0
    assert "changed in Grafana since plan (for); re-plan: nothing was written" in result.output
    assert gp.rules()["Visits synchronizer stalled"]["for"] == "30m"  # not deleted
