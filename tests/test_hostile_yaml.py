"""Hostile YAML: every bad file is one clean `file:line` error, exit 1, nothing live changed, and
no input makes the loader crash, hang or eat memory. The parsers (libyaml's and PyYAML's) report
the same errors."""

from __future__ import annotations

import random
import string
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import REPO, Project, policy, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.specs.yaml_loader import LIMITS, PARSERS, load_documents


def _alias_bomb(levels: int = 9) -> str:
    lines = ['    a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"    a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "apiVersion: reconciler/v1\nkind: SlaPolicy\nmetadata: {name: bomb}\nspec:\n  x:\n" + "\n".join(lines) + "\n"


def _deep_block(depth: int) -> str:
    return "".join(f"{'  ' * i}k{i}:\n" for i in range(depth)) + f"{'  ' * depth}v\n"


CASES: dict[str, tuple[str | bytes, str]] = {
    "alias bomb": (_alias_bomb(), "p.yaml:10: spec.x.a4[0][2][0][6][7]: YAML aliases expand to more than 10000 values"),
    "deep flow nesting": ("a: " + "[" * 3000 + "]" * 3000 + "\n", "p.yaml:1: YAML nesting deeper than 64 levels"),
    "deep block nesting": (_deep_block(200), "p.yaml:65: YAML nesting deeper than 64 levels"),
    "list as a key": (
        "a: 1\n? [x, y]\n: 2\n",
        "p.yaml:2: a mapping key must be a plain value (text or number), not a list",
    ),
    "mapping as a key": (
        "{a: 1}: 2\n",
        "p.yaml:1: a mapping key must be a plain value (text or number), not a mapping",
    ),
    "alias of a list as a key": ("a: &l [1]\n*l : 2\n", "p.yaml:2: a mapping key must be a plain value"),
    "not utf-8": (b"a: 1\nb: caf\xe9\n", "p.yaml:2: not valid UTF-8: byte 0xe9 at column 7"),
    "control character": ("a: 1\nb: x\x00y\n", "p.yaml:2: control character U+0000 at column 5"),
    "invalid date": ("a:\n  b: 2024-13-45\n", "p.yaml:2: a.b: '2024-13-45' is not a valid YAML timestamp"),
    "bad explicit int": ("a: !!int twelve\n", "p.yaml:1: a: 'twelve' is not a valid YAML int"),
    "unknown tag": (
        "a: !python/object:os.system x\n",
        "p.yaml:1: a: YAML tag '!python/object:os.system' is not supported",
    ),
    "undefined alias": ("a: *nope\n", "p.yaml:1: YAML syntax error: found undefined alias 'nope'"),
    "anchor defined twice": (
        "a: &x 1\nb: &x 2\n",
        "p.yaml:2: YAML syntax error: the anchor &x is defined twice (first on line 1)",
    ),
    "long value": (
        "apiVersion: reconciler/v1\nkind: " + "K" * 100_000 + "\nmetadata: {name: x}\nspec: {}\n",
        "p.yaml:2: kind: 'KKKKKKKK",
    ),
    "too many documents": (
        "---\n{}\n" * (LIMITS.max_documents + 1),
        "p.yaml:20001: more than 10000 documents in one file",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
def test_hostile_yaml_is_one_located_error_and_changes_nothing(project: Project, case: str, command: str) -> None:
    project.write("good.yaml", policy("good", ["wh-good"]))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    before = project.rows()
    text, expected = CASES[case]
    path = project.root / "p.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = project.cli(command, *(["--auto-approve"] if command == "apply" else []))
    assert result.exit_code == 1, result.output
    assert "1 problem(s)" in result.stderr, result.stderr[:2000]
    assert expected in result.stderr, result.stderr[:2000]
    assert "Traceback" not in result.output and len(result.stderr) < 2000
    assert project.rows() == before


def test_long_values_are_cut_in_messages(project: Project) -> None:
    project.write("p.yaml", policy("x", ["w"], mode="B" * 50_000))
    result = project.cli("validate")
    assert result.exit_code == 1
    assert "... (49922 more characters) is not one of SLA_BURST, ERROR, ALL" in result.stderr
    assert len(result.stderr) < 1000


def test_a_file_over_the_size_limit_is_refused_unread(project: Project) -> None:
    with (project.root / "big.yaml").open("w") as out:
        chunk = "# " + "x" * 1022 + "\n"
        for _ in range(LIMITS.max_file_bytes // len(chunk) + 1):
            out.write(chunk)
    result = project.cli("validate")
    assert result.exit_code == 1
    assert (
        "big.yaml:1: file is 10.0 MiB; spec files are limited to 10 MiB (split it into several files)" in result.stderr
    )


def test_thousands_of_syntax_errors_are_each_reported_at_their_line(project: Project) -> None:
    # Quadratic once (each error re-read the rest of the file); benchmarks/yaml_bench.py times it.
    project.write("p.yaml", "a: [\n---\n" * 4000)
    result = project.cli("validate")
    assert result.exit_code == 1
    assert "4000 problem(s)" in result.stderr
    assert "p.yaml:2: YAML syntax error" in result.stderr and "p.yaml:8000: YAML syntax error" in result.stderr


def test_merge_keys_work_and_locate_merged_fields(project: Project) -> None:
    project.write(
        "p.yaml",
        """
        x-defaults: &defaults {sla_seconds: 300, policy_mode: BURST}
        apiVersion: reconciler/v1
        kind: SlaPolicy
        metadata: {name: m}
        spec:
          <<: *defaults
          warehouse_ids: [w1]
        """,
    )
    result = project.cli("validate")
    assert result.exit_code == 1
    assert "p.yaml:1: spec.policy_mode: 'BURST' is not one of" in result.stderr, result.stderr
    project.write("p.yaml", policy("m", ["w1"]).replace("  sla_seconds: 300\n", "  <<: {sla_seconds: 300}\n"))
    assert project.cli("validate").exit_code == 0


# --- the two parsers agree -------------------------------------------------------------------

BROKEN = [
    "a: [1, 2\nb: 3\n---\nc: {d\n---\nok: 1\n",
    "a: b: c\n",
    "- a\nb: c\n",
    "a: 'unterminated\n---\nb: 1\n",
    "\ta: 1\n",
    "a: 1\n  b: 2\n",
    "a: &x [*x]\n",
    "%YAML 9.9\n---\na: 1\n",
    "a: |\n  text\n b: 1\n",
    '"a\\q": 1\n',
]


@pytest.mark.skipif(len(PARSERS) < 2, reason="PyYAML built without libyaml")
@pytest.mark.parametrize("text", BROKEN)
def test_libyaml_and_pyyaml_report_the_same_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    fast, pure = (load_documents(path, "p.yaml", parser=parser) for parser in PARSERS)
    assert fast[1] == pure[1]
    assert [(d.data, d.lines) for d in fast[0]] == [(d.data, d.lines) for d in pure[0]]


# --- generated and mutated documents never produce a traceback ----------------------------------

EXAMPLES = [p.read_text() for p in sorted((REPO / "specs").glob("*.yaml")) if p.name != "reconciler.yaml"]
YAML_BITS = list(":-[]{},&*!|>'\"#%@`?\n\t ") + [
    "---\n",
    "<<: ",
    "&a ",
    "*a",
    "!!int ",
    "- ",
    "\n  ",
    "${var.x}",
    "9" * 30,
]


@st.composite
def mutated_example(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(EXAMPLES))
    rnd = random.Random(draw(st.integers(0, 2**32)))
    for _ in range(draw(st.integers(1, 6))):
        at = rnd.randrange(len(text) + 1)
        choice = rnd.random()
        if choice < 0.4:
            text = text[:at] + rnd.choice(YAML_BITS) + text[at:]
        elif choice < 0.7:
            text = text[:at] + text[at + rnd.randrange(1, 40) :]
        else:  # a line repeated elsewhere (duplicate keys, wrong indentation)
            lines = text.splitlines(keepends=True)
            lines.insert(rnd.randrange(len(lines) + 1), rnd.choice(lines))
            text = "".join(lines)
    return text


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(string.printable, max_size=20),
    st.sampled_from(["SlaPolicy", "QualityMonitor", "GrafanaRuleGroup", "GrafanaFolder", "reconciler/v1", "${var.x}"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=25,
)


@st.composite
def generated_document(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["SlaPolicy", "QualityMonitor", "GrafanaRuleGroup", "GrafanaFolder", "Nope"]))
    doc = {"apiVersion": "reconciler/v1", "kind": kind, "metadata": {"name": draw(st.text(max_size=12))}}
    doc["spec"] = draw(values)
    doc.update(draw(st.dictionaries(st.sampled_from(["metadata", "spec", "extra"]), values, max_size=2)))
    return yaml.safe_dump(doc, sort_keys=False)


HYPOTHESIS = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow], database=None
)


def _validate(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "reconciler.yaml").write_text("project: fuzz\nvariables: {x: 1}\n")
        (root / "spec.yaml").write_text(text)
        result = run("validate", root)  # an escaping exception fails the test with its traceback
        assert result.exit_code in (0, 1), result.output


@HYPOTHESIS
@given(mutated_example())
def test_mutated_examples_never_crash(text: str) -> None:
    _validate(text)


@HYPOTHESIS
@given(generated_document())
def test_generated_documents_never_crash(text: str) -> None:
    _validate(text)


# --- the one-pass reading of plain files agrees with the full composer -------------------------

PLAIN = [
    "a: 1\nb: [x, 'y', {c: null, d: 2024-01-02}]\n---\n---\n- 1\n- {e: f}\n",
    "just text\n---\n~\n---\n# only a comment\n",
    "k:\n  - a\n  -\n    b: c\n2: two\nno: yes\n",
]


def _read_both(tmp_path: Path, text: str, plain: bool = False) -> tuple[Any, Any]:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    fast, full = load_documents(path, "p.yaml"), load_documents(path, "p.yaml", fast=False)
    if plain:  # read in the one pass indeed: only it knows a file holds no `${`
        assert fast[0] and not any(d.references for d in fast[0])
    return (
        ([(d.data, d.lines, d.start_line) for d in fast[0]], fast[1]),
        ([(d.data, d.lines, d.start_line) for d in full[0]], full[1]),
    )


@pytest.mark.parametrize("text", PLAIN + BROKEN + EXAMPLES)
def test_plain_files_read_in_one_pass_as_the_full_composer_reads_them(tmp_path: Path, text: str) -> None:
    fast, full = _read_both(tmp_path, text, plain=text in PLAIN)
    assert fast == full


@HYPOTHESIS
@given(st.one_of(mutated_example(), generated_document()))
def test_one_pass_and_full_composer_agree_on_any_document(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fast, full = _read_both(Path(tmp), text)
    assert repr(fast) == repr(full)  # repr: NaN equals itself there
