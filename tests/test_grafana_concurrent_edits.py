"""A person editing Grafana while an apply runs (issue #13, "Nothing outside the plan is
overwritten"): a rule added by hand to a group the apply writes survives it, and a hand edit to
one of reconciler's rules, contact points or the notification policy tree between the plan's
read and the apply's write is refused, not overwritten; a re-plan shows it and converges. Two
applies creating the notification ledger at once both keep their entries.

The edit lands exactly inside the apply: the sandbox holds one request of the apply (a `hold`
fault) until the edit is done, then serves it.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from click.testing import Result
from grafana_helpers import FULL_FORM_RULE, GrafanaProject, apply_clean, base, definition, group_doc, shorthand_rule
from helpers import SandboxTarget

from reconciler.grafana.notification_model import Ledger

RULES = "/api/v1/provisioning/alert-rules"
PROVISIONING = "/api/v1/provisioning"


@pytest.fixture
def gp(sandbox_target: Callable[..., SandboxTarget]) -> GrafanaProject:
    """A project whose target is a fresh sandbox Grafana (the shared fault-test set-up)."""
    target = sandbox_target(databricks=None, grafana=True, retries=None)
    return GrafanaProject(target.project, target.server)


def _apply_while(
    gp: GrafanaProject, method: str, path: str, edit: Callable[[], None], *args: str, skip: int = 0
) -> Result:
    """`apply`, with its first `method path` request (after `skip` of them) held until `edit`
    (made by someone else, through the HTTP API) is done."""
    faults = gp.sandbox.faults
    faults.add(path, method=method, mode="hold", hold_seconds=60, skip=skip)
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
        # One write at a time: the person's edit lands between two of the apply's writes, as the
        # test tells it (parallel rule writes would let the later write's re-read run meanwhile).
        result = gp.cli("apply", "--auto-approve", "--parallelism", "1", *args)
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


def _doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "reconciler/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def _contact_point(addresses: str) -> dict[str, Any]:
    integrations = [
        {"type": "webhook", "settings": {"url": "https://hooks.example.com/oncall", "httpMethod": "POST"}},
        {"type": "email", "settings": {"addresses": addresses}},
    ]
    return _doc("GrafanaContactPoint", "oncall", {"name": "On-call", "integrations": integrations})


def _policy(group_by: list[str]) -> dict[str, Any]:
    route = {"receiver": "On-call", "matchers": ["team = data"]}
    return _doc(
        "GrafanaNotificationPolicy",
        "org-policy",
        {"receiver": "grafana-default-email", "group_by": group_by, "routes": [route]},
    )


def _notifications(gp: GrafanaProject, addresses: str, group_by: list[str]) -> None:
    gp.write("notifications.yaml", yaml.safe_dump_all([_contact_point(addresses), _policy(group_by)]))


def test_a_hand_edit_to_our_contact_point_during_an_apply_is_refused_not_overwritten(gp: GrafanaProject) -> None:
    _notifications(gp, "oncall@example.com", ["alertname"])
    apply_clean(gp)
    _notifications(gp, "data-oncall@example.com", ["alertname"])

    def edit_by_hand() -> None:
        email = next(
            i
            for i in gp.api("GET", f"{PROVISIONING}/contact-points").json()
            if (i["name"], i["type"]) == ("On-call", "email")
        )
        email["settings"]["addresses"] = "hand@example.com"
        gp.api("PUT", f"{PROVISIONING}/contact-points/{email['uid']}", json=email).raise_for_status()

    # The plan's read is the first list of contact points; the update's re-read the second.
    result = _apply_while(gp, "GET", f"^{PROVISIONING}/contact-points$", edit_by_hand, skip=1)
    assert result.exit_code != 0
    assert (
        "contact point 'On-call' changed in Grafana since plan (settings.addresses); re-plan: nothing was written"
        in result.output
    ), result.output
    assert "Traceback" not in result.output
    listed = gp.api("GET", f"{PROVISIONING}/contact-points").json()
    assert [i["settings"]["addresses"] for i in listed if (i["name"], i["type"]) == ("On-call", "email")] == [
        "hand@example.com"
    ]

    plan = gp.cli("plan")
    assert "hand@example.com" in plan.stdout, plan.output  # the re-plan shows the edit it undoes
    apply_clean(gp)
    listed = gp.api("GET", f"{PROVISIONING}/contact-points").json()
    assert [i["settings"]["addresses"] for i in listed if (i["name"], i["type"]) == ("On-call", "email")] == [
        "data-oncall@example.com"
    ]


def test_a_hand_edit_to_the_policy_tree_during_an_apply_is_refused_not_overwritten(gp: GrafanaProject) -> None:
    _notifications(gp, "oncall@example.com", ["alertname"])
    apply_clean(gp)
    _notifications(gp, "oncall@example.com", ["alertname", "grafana_folder"])
    hand_route = {"receiver": "grafana-default-email", "object_matchers": [["team", "=", "web"]]}

    def edit_by_hand() -> None:
        tree = gp.api("GET", f"{PROVISIONING}/policies").json()
        tree.pop("provenance", None)
        tree["routes"] = [*tree.get("routes", []), hand_route]
        gp.api("PUT", f"{PROVISIONING}/policies", json=tree).raise_for_status()

    result = _apply_while(gp, "GET", f"^{PROVISIONING}/policies$", edit_by_hand, skip=1)
    assert result.exit_code != 0
    assert (
        "the notification policy tree changed in Grafana since plan (routes); re-plan: nothing was written"
        in result.output
    ), result.output
    tree = gp.api("GET", f"{PROVISIONING}/policies").json()
    assert tree["group_by"] == ["alertname"]  # nothing of the planned write
    assert [r.get("object_matchers") for r in tree["routes"]][-1] == [["team", "=", "web"]]  # the edit kept

    plan = gp.cli("plan")
    assert "web" in plan.stdout, plan.output  # the re-plan shows the hand-made route it removes
    apply_clean(gp)
    assert gp.api("GET", f"{PROVISIONING}/policies").json()["group_by"] == ["alertname", "grafana_folder"]


def test_two_applies_creating_the_notification_ledger_at_once_both_keep_their_entries(gp: GrafanaProject) -> None:
    """The ledger does not exist yet; one apply's first ledger write (its creation) is held
    while the other apply runs. Grafana's template PUT without a version overwrites, so without
    the creation guard the held write would erase the other apply's entries when it lands."""
    names = ["a0", "a1", "b0", "b1"]
    text = '{{{{ define "{0}" }}}}{0}{{{{ end }}}}\n'
    gp.write(
        "templates.yaml", yaml.safe_dump_all([_doc("GrafanaTemplate", n, {"template": text.format(n)}) for n in names])
    )
    faults = gp.sandbox.faults
    faults.add(f"^{PROVISIONING}/templates/reconciler-ledger-", method="PUT", mode="hold", hold_seconds=60)
    apply = [sys.executable, "-m", "reconciler", "apply", str(gp.root), "--auto-approve", "--no-lock"]
    env = SandboxTarget(gp.project, gp.sandbox).env

    def start(side: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*apply, "--only", f"GrafanaTemplate/{side}*"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    first = start("a")
    try:
        assert faults.wait_held(timeout=60), "the first apply never wrote the ledger"
        second = start("b")
        # Released once the second apply met the first's creation guard (or, unguarded, finished).
        deadline = time.monotonic() + 60
        while second.poll() is None and time.monotonic() < deadline:
            if faults.counts().get(f"POST {PROVISIONING}/mute-timings", 0) >= 2:
                break
            time.sleep(0.05)
    finally:
        faults.release()
    outputs = [run.communicate(timeout=120)[0] for run in (first, second)]
    assert [run.returncode for run in (first, second)] == [0, 0], outputs
    answer = gp.api("GET", f"{PROVISIONING}/templates/reconciler-ledger-test").json()
    assert sorted(Ledger.parse("reconciler/test", answer["template"]).entries["templates"]) == names
    assert not [t for t in gp.api("GET", f"{PROVISIONING}/mute-timings").json() if t["name"].startswith("reconciler-")]
    plan = gp.cli("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output  # every template ours and as specified
