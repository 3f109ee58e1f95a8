"""Variables given on the command line: `--var NAME=VALUE` and `--var-file FILE` (YAML).

They override `reconciler.yaml`'s `variables` and the target's, and each other in the order
given: a later `--var` or `--var-file` wins over an earlier one, as with Terraform's `-var` /
`-var-file`. Every assignment remembers where it was made (`--var`, or the file and line), so a
problem with it — a malformed name, a variable no spec uses — is reported there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from reconciler.diagnostics import Diagnostic
from reconciler.errors import SpecError

from .yaml_loader import load_documents

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
COMMAND_LINE = "--var"

Source = tuple[Literal["var", "var_file"], str]


@dataclass(frozen=True)
class Assignment:
    """One variable set on the command line, with where: `--var` (no line) or a var file's line."""

    name: str
    value: Any
    file: str = COMMAND_LINE
    line: int | None = None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else f"--var {self.name}=..."


def parse_var(text: str) -> Assignment:
    """`NAME=VALUE`; VALUE is read as JSON when it is JSON (a number, true/false, a list), else as
    the string written. A `ValueError` says what is wrong."""
    name, sep, raw = text.partition("=")
    if not sep:
        raise ValueError(f"--var {text!r}: expected NAME=VALUE")
    name = name.strip()
    if not NAME.match(name):
        raise ValueError(f"--var {text!r}: {name!r} is not a variable name (letters, digits, _)")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return Assignment(name, value)


def read_var_file(path: Path, display: str) -> tuple[list[Assignment], list[Diagnostic]]:
    """The assignments of a var file: one YAML mapping of variable names to values."""
    if not path.is_file():
        return [], [SpecError(display, None, "", "var file not found")]
    docs, errors = load_documents(path, display)
    if errors:
        return [], errors
    if not docs:
        return [], []
    if len(docs) > 1:
        return [], [SpecError(display, docs[1].start_line, "", "a var file holds one document (a mapping)")]
    doc = docs[0]
    if not isinstance(doc.data, dict):
        return [], [SpecError(display, doc.start_line, "", "a var file is a mapping of variable names to values")]
    assignments, problems = [], []
    for name, value in doc.data.items():
        line = doc.line_for((name,))
        if not isinstance(name, str) or not NAME.match(name):
            problems.append(SpecError(display, line, str(name), "not a variable name (letters, digits, _)"))
            continue
        assignments.append(Assignment(name, value, display, line))
    return assignments, problems


@dataclass(frozen=True)
class CommandLineVariables:
    """Every `--var` / `--var-file` assignment in command-line order (later ones override earlier
    ones), and the var files' problems: the spec loader reports them with the specs' own."""

    assignments: tuple[Assignment, ...] = ()
    problems: tuple[Diagnostic, ...] = ()
    files: tuple[Path, ...] = ()  # the var files (never read as specs, should they sit among them)


NO_VARIABLES = CommandLineVariables()


def command_line_variables(sources: Iterable[Source], display: Callable[[Path], str] = str) -> CommandLineVariables:
    """The assignments of `sources` (`("var", "NAME=VALUE")` / `("var_file", PATH)`, in order)."""
    assignments: list[Assignment] = []
    errors: list[Diagnostic] = []
    sources = list(sources)
    for kind, text in sources:
        if kind == "var":
            assignments.append(parse_var(text))
            continue
        found, problems = read_var_file(Path(text), display(Path(text)))
        assignments.extend(found)
        errors.extend(problems)
    files = tuple(Path(text) for kind, text in sources if kind == "var_file")
    return CommandLineVariables(tuple(assignments), tuple(errors), files)
