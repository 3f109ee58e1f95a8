"""The embedded target's sandbox takes a seed of Unity Catalog schemas and tables (with columns)
from reconciler.yaml, inline or from a file it names, so a user can try their own monitor specs
locally; a table it lacks is an error that says where to declare it."""

from __future__ import annotations

from helpers import Project
from test_quality_monitors import monitor_doc

EVENTS = """
output_schema_name: main.web
assets_dir: /Shared/monitors/events
time_series:
  timestamp_col: event_ts
  granularities: ["1 day"]
slicing_exprs: [country]
"""
SEED = """\
schemas: [main.web]
tables:
  - full_name: main.web.events
    comment: Page views
    columns:
      - {name: event_ts, type: timestamp, nullable: false}
      - {name: user_id, type: string}
      - {name: country, type: string}
"""


def _monitor(project: Project) -> None:
    project.write("monitors.yaml", monitor_doc(EVENTS, name="events", table="main.web.events"))


def test_without_a_seed_the_missing_table_says_where_to_declare_it(project: Project) -> None:
    _monitor(project)
    result = project.cli("plan")
    assert result.exit_code == 1
    assert "table main.web.events does not exist in Unity Catalog" in result.stderr
    assert "sandbox_seed" in result.stderr


def test_an_inline_seed_lets_the_local_target_plan_and_apply_a_monitor_of_ones_own_table(project: Project) -> None:
    indented = "".join(f"      {line}\n" for line in SEED.splitlines())
    project.write(
        "reconciler.yaml", f"project: test\ntargets:\n  local:\n    embedded: true\n    sandbox_seed:\n{indented}"
    )
    _monitor(project)
    applied = project.cli("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "create QualityMonitor/events: ok" in applied.output
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_a_seed_file_is_checked_with_the_specs_at_its_lines(project: Project) -> None:
    project.write(
        "reconciler.yaml", "project: test\ntargets:\n  local:\n    embedded: true\n    sandbox_seed: seed.yml\n"
    )
    project.write("seed.yml", SEED.replace("type: string}", "typ: string}", 1))
    _monitor(project)
    broken = project.cli("validate")
    assert broken.exit_code == 1
    assert "seed.yml:7: tables[0].columns[1]" in broken.stderr, broken.stderr
    project.write("seed.yml", SEED)
    assert project.cli("validate").exit_code == 0
    applied = project.cli("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    # A column the seed does not declare is caught as on a real workspace.
    project.write(
        "monitors.yaml", monitor_doc(EVENTS.replace("[country]", "[city]"), name="events", table="main.web.events")
    )
    result = project.cli("plan")
    assert result.exit_code == 1 and "'city' is not a column of main.web.events" in result.stderr


def test_a_missing_seed_file_or_a_seed_on_a_real_target_is_an_error(project: Project) -> None:
    project.write(
        "reconciler.yaml", "project: test\ntargets:\n  local:\n    embedded: true\n    sandbox_seed: nope.yaml\n"
    )
    missing = project.cli("validate")
    assert missing.exit_code == 1 and "nope.yaml: sandbox seed file not found" in missing.stderr
    project.write("reconciler.yaml", "project: test\ntargets:\n  prod:\n    sandbox_seed: seed.yaml\n")
    real = project.cli("validate", "-t", "prod")
    assert real.exit_code == 1 and "sandbox_seed needs `embedded: true`" in real.stderr
