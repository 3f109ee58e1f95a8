"""Renderers, schemas and the example specs."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from html import escape
from pathlib import Path

from helpers import REPO, Project, copy_examples, policy, run
from markdown_it import MarkdownIt

from reconciler.kinds.kind_registry import KINDS
from reconciler.plan.model import Action, Operation, Plan
from reconciler.plan.render_markdown import render_markdown
from reconciler.specs.schemas import generate_schemas


def test_checked_in_schemas_match_the_models() -> None:
    for name, text in generate_schemas(KINDS).items():
        path = REPO / "schemas" / name
        assert path.exists(), f"schemas/{name} missing: run `reconciler schema`"
        assert path.read_text() == text, f"schemas/{name} is out of date: run `reconciler schema`"


def test_example_specs_point_editors_at_the_schemas() -> None:
    for path in (REPO / "specs").rglob("*.yaml"):
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        schema = (path.parent / first.split("=", 1)[1]).resolve()
        assert schema.exists(), f"{path}: {schema} does not exist"


def test_examples_plan_cleanly_on_a_fresh_clone(tmp_path: Path) -> None:
    specs = copy_examples(tmp_path)
    plan = run("plan", specs, "--format", "json")
    assert plan.exit_code == 0, plan.output
    data = json.loads(plan.stdout)
    assert data["summary"]["create"] >= 4 and data["summary"]["delete"] == 0
    modes = {c["after"] for op in data["operations"] for c in op["changes"] if c["path"] == "policy_mode"}
    assert modes >= {"SLA_BURST", "ERROR", "ALL"}
    assert run("apply", specs, "--auto-approve").exit_code == 0
    again = run("plan", specs, "--detailed-exitcode")
    assert again.exit_code == 0 and "No changes" in again.stdout


def test_markdown_plan_puts_summary_and_destructive_first(project: Project) -> None:
    project.write("p.yaml", policy("keep", ["w1"], 10) + "---\n" + policy("gone", ["w2"], 20))
    project.cli("apply", "--auto-approve")
    project.write("p.yaml", policy("keep", ["w1"], 11) + "---\n" + policy("new", ["w3"], 30))
    md = project.cli("plan", "--format", "markdown").stdout
    assert md.startswith("**reconciler plan** for target `local`: 1 to create, 1 to update, 0 to replace, 1 to delete")
    assert "[!CAUTION]" in md
    assert md.index("SlaPolicy/gone") < md.index("SlaPolicy/keep") < md.rindex("SlaPolicy/new")
    assert "<details>" in md and "| `sla_seconds` | `10` | `11` |" in md


def test_markdown_plan_stays_under_githubs_limit_and_says_so(project: Project) -> None:
    docs = [
        policy(f"p{i:04d}", [f"warehouse-{i:04d}-" + "x" * 40, f"second-{i:04d}-" + "y" * 40], 100 + i)
        for i in range(600)
    ]
    project.write("many.yaml", "---\n".join(docs))
    md = project.cli("plan", "--format", "markdown").stdout
    assert len(md) < 65_536
    assert "Truncated:" in md and "of 600 operation(s) are not shown" in md


def test_markdown_plan_caps_the_caution_list_of_a_mass_delete(project: Project) -> None:
    names = [f"p{i:03d}-" + "x" * 150 for i in range(400)]  # long names: naming them all would take ~70,000 characters
    project.write("many.yaml", "---\n".join(policy(name, [f"w{i:03d}"]) for i, name in enumerate(names)))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.write("many.yaml", policy("keep", ["w-keep"]))
    md = project.cli("plan", "--format", "markdown").stdout
    assert len(md) <= 65_536
    assert md.startswith(
        "**reconciler plan** for target `local`: 1 to create, 0 to update, 0 to replace, 400 to delete"
    )
    caution = md.split("> [!CAUTION]\n", 1)[1].split("\n\n", 1)[0]
    assert caution.startswith("> 400 destructive operation(s): ")
    assert names[19] in caution and names[20] not in caution and "…and 380 more destructive operation(s)" in caution
    assert "Truncated:" in md and "of 401 operation(s) are not shown" in md


def test_markdown_plan_counts_notes_against_the_limit() -> None:
    deletes = [Operation(Action.DELETE, "SlaPolicy", f"p{i:04d}", f"key{i}", destructive=True) for i in range(3000)]
    notes = [f"note {i}: " + "n" * 2000 for i in range(100)]
    plan = Plan(tool_version="0", target="local", specs_digest="d", operations=deletes, notes=notes)
    md = render_markdown(plan)
    assert len(md) <= 65_536
    assert md.startswith(
        "**reconciler plan** for target `local`: 0 to create, 0 to update, 0 to replace, 3000 to delete"
    )
    assert "…and 2980 more destructive operation(s)" in md
    assert md.count("> **Note:** ") == 20 and "80 of 100 note(s) are not shown" in md
    assert "Truncated: " in md and "of 3000 operation(s) are not shown" in md


def test_markdown_table_cells_keep_backticks_and_pipes(project: Project) -> None:
    odd = "`a|b``c`"  # backticks carry meaning in SQL and PromQL; a pipe must not split the cell
    project.write("p.yaml", policy("odd", [odd]))
    md = project.cli("plan", "--format", "markdown").stdout
    html = MarkdownIt("commonmark").enable("table").render(md)  # GFM table rules, as GitHub renders them
    row = next(r for r in html.split("<tr>") if "<code>warehouse_ids</code>" in r)
    assert row.count("<td>") == 3
    assert f"<code>{escape(json.dumps([odd]))}</code>" in row


def _plan_on_a_terminal(project: Project, *args: str, **env: str) -> str:
    """`reconciler plan` with stdout on a pseudo-terminal, where rich would style its output."""
    clean = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE")}
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "plan", str(project.root), *args],
        stdout=slave,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env={**clean, "TERM": "xterm-256color", **env},
    )
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 60
    try:
        while select.select([master], [], [], max(0.0, deadline - time.monotonic()))[0]:
            chunk = os.read(master, 65536)
            if not chunk:
                break
            out += chunk
    except OSError:  # EIO: the child closed the terminal
        pass
    finally:
        os.close(master)
    _, err = proc.communicate(timeout=5)
    assert proc.returncode == 0, err
    return out.decode()


def test_no_color_writes_no_escape_sequences_on_a_terminal(project: Project) -> None:
    project.write("p.yaml", policy("a", ["wa"]))
    assert "\x1b[" in _plan_on_a_terminal(project)  # styled by default on a terminal
    plain = _plan_on_a_terminal(project, "--no-color", FORCE_COLOR="1")
    assert "create SlaPolicy/a" in plain and "\x1b[" not in plain


def test_python_dash_m_and_help() -> None:
    out = subprocess.run([sys.executable, "-m", "reconciler", "--help"], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0
    for command in ("validate", "plan", "apply", "drift", "schema", "import", "sandbox"):
        assert command in out.stdout


def test_readme_renders_every_kinds_field_table() -> None:
    from reconciler.kinds.kind_registry import KINDS

    readme = (REPO / "README.md").read_text()
    for kind in KINDS.values():
        assert kind.fields.to_markdown() in readme, (
            f"README's {kind.name} field table differs from `reconciler fields {kind.name}`"
        )


def test_drift_markdown_puts_drift_first_and_stays_under_githubs_limit() -> None:
    from reconciler.plan.drift import DriftEntry, DriftReport, render_drift_markdown
    from reconciler.plan.model import Change

    entries = [
        DriftEntry("SlaPolicy", "", f"{i:064x}", "unmanaged", description="row made by hand " * 5) for i in range(3_000)
    ]
    entries.append(DriftEntry("SlaPolicy", "etl", "k", "drifted", [Change("sla_seconds", 900, 300)]))
    md = render_drift_markdown(DriftReport("prod", entries, []))
    assert len(md) <= 65_536
    assert md.startswith("**reconciler drift** for target `prod`: drift detected")
    assert md.index("| drifted |") < md.index("| unmanaged |")
    assert "Truncated:" in md and "of 3001 object(s) are not listed" in md
