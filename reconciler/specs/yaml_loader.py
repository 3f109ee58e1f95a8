"""YAML loading that keeps line numbers.

PyYAML's node graph carries a start mark for every node; we build plain Python values from it and,
beside them, a map from field path (a tuple of keys/indices) to the 1-based line where that value
starts. Validation errors then point at `file:line` for any nested field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconciler.errors import SpecError

PathKey = tuple[str | int, ...]


@dataclass
class Document:
    """One YAML document of a spec file, with its line map."""

    file: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)
    start_line: int = 1

    def line_for(self, path: PathKey) -> int:
        """The line of the deepest part of `path` we know; the document start otherwise."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return self.start_line


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[PathKey, int] = {}
        self.errors: list[SpecError] = []
        self._constructor = yaml.SafeLoader("")  # used only to resolve scalar tags
        self._open: set[int] = set()  # collections being built, to catch self-referencing aliases

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            if id(node) in self._open:  # an alias inside the very node it names
                self.errors.append(
                    SpecError(self.file, node.start_mark.line + 1, _dotted(path), "a YAML alias refers to itself")
                )
                return None
            self._open.add(id(node))
            try:
                return self._build_collection(node, path)
            finally:
                self._open.discard(id(node))
        return self.build_scalar(node)

    def _build_collection(self, node: yaml.Node, path: PathKey) -> Any:
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.build_scalar(key_node)
                if key in result:
                    self.errors.append(
                        SpecError(self.file, key_node.start_mark.line + 1, _dotted(path + (str(key),)), "duplicate key")
                    )
                result[key] = self.build(value_node, path + (str(key),))
                # Point a key's errors at the key's own line (value may start on the next line).
                self.lines[path + (str(key),)] = key_node.start_mark.line + 1
            return result
        return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]

    def build_scalar(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            return self.build(node, ())
        return self._constructor.construct_object(node, deep=True)


def _dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


dotted_path = _dotted


_MARKER = re.compile(r"^---(\s|$)")


def _next_marker(text: str, from_line: int | None) -> int | None:
    """The 0-based line of the first document marker at or after `from_line`, if any."""
    if from_line is None:
        return None
    for index, line in enumerate(text.splitlines()[from_line:], start=from_line):
        if _MARKER.match(line) and index > 0:
            return index
    return None


def load_documents(path: Path, display: str) -> tuple[list[Document], list[SpecError]]:
    """All documents of one YAML file; syntax errors come back as SpecErrors, not exceptions."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [SpecError(display, None, "", f"cannot read file: {exc}")]
    docs: list[Document] = []
    errors: list[SpecError] = []
    start: int | None = 0  # parse from this line on; after a syntax error, from the next document marker
    while start is not None:
        # Blank lines in front keep PyYAML's marks at the file's own line numbers.
        chunk = "\n" * start + "".join(text.splitlines(keepends=True)[start:])
        begun, start = start, None
        try:
            for node in yaml.compose_all(chunk, Loader=yaml.SafeLoader):
                if node is None or (
                    isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null" and not node.value
                ):
                    continue  # an empty document: a trailing `---`, or only comments
                builder = _Builder(display)
                data = builder.build(node, ())
                errors.extend(builder.errors)
                docs.append(Document(display, data, builder.lines, node.start_mark.line + 1))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            problem = exc.problem or str(exc)
            if exc.context:
                problem = f"{exc.context}: {problem}" if exc.context != problem else problem
            if exc.context_mark is not None and mark is not None and exc.context_mark.line != mark.line:
                problem += f" (the construct starts on line {exc.context_mark.line + 1})"
            errors.append(SpecError(display, line, "", f"YAML syntax error: {problem}"))
            # The broken document is lost, but the file's later documents are still checked.
            start = _next_marker(text, max(mark.line, begun + 1) if mark else None)
        except yaml.YAMLError as exc:
            errors.append(SpecError(display, None, "", f"YAML error: {exc}"))
    return docs, errors
