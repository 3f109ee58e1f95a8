"""YAML loading that keeps line numbers and survives hostile input.

We compose documents from the parser's *events* ourselves (libyaml's C parser when PyYAML has it,
PyYAML's own otherwise) and build plain Python values from them, with, beside them, a map from
field path (a tuple of keys/indices) to the 1-based line where that value starts. Validation
errors then point at `file:line` for any nested field.

Composing ourselves is what keeps hostile files harmless: nesting depth is capped without
recursion, values reached through aliases are counted (an "alias bomb" of a few hundred bytes
otherwise expands to gigabytes), mapping keys must be plain values, and file size and document
count are bounded (`LIMITS`). Each breach is one `file:line` error. After a syntax error the file
is parsed on from the next `---` marker, so later documents are still checked; every restart
reads from where the last one stopped, so reporting thousands of errors stays linear.

When the C parser rejects a document, the pure-Python parser re-reads just that stretch for the
message, so errors read the same whichever parser is installed.
"""

from __future__ import annotations

import bisect
import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from reconciler.diagnostics import Diagnostic
from reconciler.errors import SpecError, shorten

PathKey = tuple[str | int, ...]

#: Parsers tried in order: libyaml's (fast) when PyYAML was built with it, then PyYAML's own.
PARSERS: tuple[type[Any], ...] = tuple(
    loader for loader in (getattr(yaml, "CSafeLoader", None), yaml.SafeLoader) if loader is not None
)
_PURE = yaml.SafeLoader


@dataclass(frozen=True)
class Limits:
    """Bounds on one spec file; far above any real spec, far below what hurts."""

    max_file_bytes: int = 10 * 1024 * 1024
    max_documents: int = 10_000
    max_depth: int = 64
    #: Values produced by expanding aliases (and merge keys) in one document.
    max_alias_values: int = 10_000


LIMITS = Limits()


@dataclass
class Document:
    """One YAML document of a spec file, with its line map."""

    file: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)
    start_line: int = 1
    #: False when no text of the file holds `${`: no variable to interpolate, the data is final.
    references: bool = True

    def line_for(self, path: PathKey) -> int:
        """The line of the deepest part of `path` we know; the document start otherwise."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return self.start_line


def _dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


dotted_path = _dotted


class _DocumentError(Exception):
    """A problem that loses the whole document (it is reported, the document is not validated)."""

    def __init__(self, line: int, path: PathKey, message: str) -> None:
        super().__init__(message)
        self.line, self.path, self.message = line, path, message


class _Text:
    """The file's text with YAML's line breaks indexed once, read from any line on without copying."""

    _BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
    _MARKER = re.compile(r"---(?:[ \t\r\n\x85\u2028\u2029]|$)")

    def __init__(self, text: str) -> None:
        self.text = text
        self.line_starts = [0] + [m.end() for m in self._BREAK.finditer(text)]
        self.markers = [i for i, start in enumerate(self.line_starts) if i and self._MARKER.match(text, start)]

    def next_marker(self, from_line: int) -> int | None:
        """The 0-based line of the first document marker at or after `from_line`, if any."""
        index = bisect.bisect_left(self.markers, from_line)
        return self.markers[index] if index < len(self.markers) else None

    def line_of(self, offset: int) -> int:
        """0-based line of a character offset."""
        return bisect.bisect_right(self.line_starts, offset) - 1

    def stream(self, line: int) -> _Stream:
        return _Stream(self.text, self.line_starts[line] if line < len(self.line_starts) else len(self.text))


class _Stream:
    """A file-like view of `text` from `pos` on: both parsers read it in chunks."""

    def __init__(self, text: str, pos: int) -> None:
        self.text, self.pos, self.start = text, pos, pos

    def read(self, size: int = -1) -> str:
        end = len(self.text) if size < 0 else self.pos + size
        chunk = self.text[self.pos : end]
        self.pos += len(chunk)
        return chunk


class _Composer:
    """Nodes of one document from parser events, iteratively (no recursion, depth capped)."""

    def __init__(self, loader: Any, offset: int, limits: Limits) -> None:
        self.loader, self.offset, self.limits = loader, offset, limits

    def line(self, mark: Any) -> int:
        return int(mark.line) + 1 + self.offset

    def compose(self) -> Any:
        anchors: dict[str, yaml.Node] = {}
        stack: list[yaml.Node] = []
        keys: list[Any] = []  # per open mapping: its key awaiting a value
        while True:
            event = self.loader.get_event()
            if isinstance(event, (SequenceEndEvent, MappingEndEvent)):
                done = stack.pop()
                keys.pop()
                done.end_mark = event.end_mark
                if not stack:
                    return done
                continue
            node = self._node(event, anchors)
            if stack:
                parent = stack[-1]
                if isinstance(parent, yaml.SequenceNode):
                    parent.value.append(node)
                elif keys[-1] is None:
                    keys[-1] = node
                else:
                    parent.value.append((keys[-1], node))
                    keys[-1] = None
            if isinstance(event, CollectionStartEvent):
                if len(stack) >= self.limits.max_depth:
                    raise _DocumentError(
                        self.line(event.start_mark),
                        (),
                        f"YAML nesting deeper than {self.limits.max_depth} levels; specs are never that deep",
                    )
                stack.append(node)
                keys.append(None)
            elif not stack:
                return node

    def _node(self, parsed: Any, anchors: dict[str, yaml.Node]) -> Any:
        event: Any = parsed  # libyaml's and PyYAML's events and marks differ in type, not in shape
        if isinstance(parsed, AliasEvent):
            found = anchors.get(event.anchor)
            if found is None:
                raise _DocumentError(
                    self.line(event.start_mark),
                    (),
                    f"YAML syntax error: found undefined alias {shorten(repr(event.anchor))}",
                )
            return _Alias(found, event.start_mark)
        if event.anchor is not None and event.anchor in anchors:
            first = self.line(anchors[event.anchor].start_mark)
            raise _DocumentError(
                self.line(event.start_mark),
                (),
                f"YAML syntax error: the anchor &{shorten(event.anchor)} is defined twice (first on line {first})",
            )
        node: yaml.Node
        if isinstance(parsed, ScalarEvent):
            tag = event.tag
            if tag is None or tag == "!":
                tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
            node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
        elif isinstance(parsed, SequenceStartEvent):
            node = yaml.SequenceNode(event.tag or "", [], event.start_mark, None, flow_style=event.flow_style)
        elif isinstance(parsed, MappingStartEvent):
            node = yaml.MappingNode(event.tag or "", [], event.start_mark, None, flow_style=event.flow_style)
        else:  # pragma: no cover - the parser's grammar allows nothing else here
            raise _DocumentError(self.line(event.start_mark), (), f"YAML syntax error: unexpected {event}")
        if event.anchor is not None:
            anchors[event.anchor] = node
        return node


_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_TAG = "tag:yaml.org,2002:null"
_STR_TAG = "tag:yaml.org,2002:str"


def _is_merge(key: Any) -> bool:
    return isinstance(key, yaml.ScalarNode) and key.tag == _MERGE_TAG


class _Alias:
    """Where a document says `*name`: the node it names and the place it is used."""

    __slots__ = ("start_mark", "target")

    def __init__(self, target: yaml.Node, start_mark: Any) -> None:
        self.target, self.start_mark = target, start_mark


def _resolved(node: Any) -> yaml.Node:
    return node.target if isinstance(node, _Alias) else node


class _Builder:
    """Plain values (and the line map) from one document's nodes."""

    def __init__(self, file: str, offset: int, limits: Limits) -> None:
        self.file, self.offset, self.limits = file, offset, limits
        self.lines: dict[PathKey, int] = {}
        self.errors: list[Diagnostic] = []  # reported, the document is still validated
        self._constructor = _PURE("")  # its scalar constructors turn text into int, bool, date...
        self._open: set[int] = set()  # collections being built, to catch self-referencing aliases
        self._alias_at: list[int] = []  # lines of the aliases being expanded, outermost first
        self._expanded = 0

    def line(self, node: Any) -> int:
        return int(node.start_mark.line) + 1 + self.offset

    def build(self, node: Any, path: PathKey) -> Any:
        if isinstance(node, _Alias):
            self._alias_at.append(self.line(node))
            try:
                value = self.build(node.target, path)
            finally:
                self._alias_at.pop()
            self.lines[path] = self.line(node)
            return value
        self.lines[path] = self.line(node)
        if self._alias_at:
            self._expanded += 1
            if self._expanded > self.limits.max_alias_values:
                raise _DocumentError(
                    self._alias_at[0],
                    path,
                    f"YAML aliases expand to more than {self.limits.max_alias_values} values in this document "
                    "(an alias bomb?); write the values out or use fewer aliases",
                )
        if len(path) > self.limits.max_depth:
            raise _DocumentError(
                self.line(node), path, f"YAML nesting deeper than {self.limits.max_depth} levels (through aliases)"
            )
        if not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            return self._scalar(node, path)
        if id(node) in self._open:  # an alias inside the very node it names
            raise _DocumentError(
                self._alias_at[-1] if self._alias_at else self.line(node), path, "a YAML alias refers to itself"
            )
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        finally:
            self._open.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        merges = [value for key, value in node.value if _is_merge(key)]
        for source in reversed(self._merge_sources(merges, path)):
            # `<<: *base` (or a list of them, earlier ones winning): keys written here win over all.
            result.update(self.build(source, path))
        self.lines[path] = self.line(node)
        written: set[Any] = set()
        for key_node, value_node in node.value:
            if _is_merge(key_node):
                continue
            key_target = _resolved(key_node)
            if not isinstance(key_target, yaml.ScalarNode):
                what = "mapping" if isinstance(key_target, yaml.MappingNode) else "list"
                raise _DocumentError(
                    self.line(key_node), path, f"a mapping key must be a plain value (text or number), not a {what}"
                )
            key = self._scalar(key_target, path)
            if key in written:
                self.errors.append(
                    SpecError(self.file, self.line(key_node), _dotted(path + (str(key),)), "duplicate key")
                )
            written.add(key)
            result[key] = self.build(value_node, path + (str(key),))
            # Point a key's errors at the key's own line (value may start on the next line).
            self.lines[path + (str(key),)] = self.line(key_node)
        return result

    def _merge_sources(self, merges: list[Any], path: PathKey) -> list[Any]:
        """The mappings `<<` keys merge in (as written: aliases count as expansions)."""
        sources: list[Any] = []
        for merge in merges:
            items = _resolved(merge).value if isinstance(_resolved(merge), yaml.SequenceNode) else [merge]
            for item in items:
                if not isinstance(_resolved(item), yaml.MappingNode):
                    raise _DocumentError(
                        self.line(item), path, "a merge key (<<) takes a mapping or a list of mappings (e.g. <<: *base)"
                    )
                sources.append(item)
        return sources

    def _scalar(self, node: yaml.Node, path: PathKey) -> Any:
        constructor = self._constructor.yaml_constructors.get(node.tag)
        if constructor is None or node.tag is None:
            raise _DocumentError(
                self.line(node), path, f"YAML tag {shorten(str(node.tag))!r} is not supported in specs"
            )
        try:
            return constructor(self._constructor, node)
        except Exception as exc:  # e.g. `2024-13-45` read as a date, `!!int abc`, bad `!!binary`
            short = str(node.tag).rsplit(":", 1)[-1]
            reason = exc.problem if isinstance(exc, yaml.MarkedYAMLError) and exc.problem else str(exc)
            raise _DocumentError(
                self.line(node),
                path,
                f"{shorten(node.value)!r} is not a valid YAML {short}: {shorten(reason)}"
                + ("" if getattr(node, "style", None) else " (quote it to keep it as text)"),
            ) from None


def _read(path: Path, display: str, limits: Limits) -> tuple[str | None, Diagnostic | None]:
    """The file's text, or the reason it cannot be read (too big, not UTF-8) at file:line."""
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            return None, SpecError(
                display,
                1,
                "",
                f"file is {size / 1048576:.1f} MiB; spec files are limited to "
                f"{limits.max_file_bytes / 1048576:g} MiB (split it into several files)",
            )
        raw = path.read_bytes()
    except OSError as exc:
        return None, SpecError(display, None, "", f"cannot read file: {exc.strerror or exc}")
    encoding = "utf-16" if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        return raw.decode(encoding), None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, SpecError(
            display,
            line,
            "",
            f"not valid {encoding.split('-')[0].upper()}-{encoding.split('-')[1]}: byte 0x{raw[exc.start]:02x} at "
            f"column {column} ({exc.reason}); save the file as UTF-8",
        )


def load_documents(
    path: Path, display: str, limits: Limits = LIMITS, parser: type[Any] | None = None, fast: bool = True
) -> tuple[list[Document], list[Diagnostic]]:
    """All documents of one YAML file; every problem comes back as a SpecError, never an exception.

    A file that breaks a limit (size, document count) yields no documents, only that error.
    `parser` picks a loader class (tests compare them); default the fastest available. `fast`
    tries the one-pass reading of plain files first (tests compare it with the full composer).
    """
    text, problem = _read(path, display, limits)
    if text is None:
        return [], [problem] if problem else []
    indexed = _Text(text)
    bad = yaml.reader.Reader.NON_PRINTABLE.search(text)
    if bad:  # YAML allows no control characters; say where, rather than lose documents around it
        line = indexed.line_of(bad.start())
        column = bad.start() - indexed.line_starts[line] + 1
        return [], [
            SpecError(
                display,
                line + 1,
                "",
                f"control character U+{ord(bad.group()):04X} at column {column}: YAML allows none "
                "(a binary file, or text pasted with stray characters?)",
            )
        ]
    parser = parser or PARSERS[0]
    if fast:
        docs = _plain_documents(indexed, display, limits, parser)
        if docs is not None:
            return docs, []
    return _Loader(indexed, display, limits, parser).run()


class _Loader:
    def __init__(self, text: _Text, display: str, limits: Limits, parser: type[Any]) -> None:
        self.text, self.display, self.limits, self.parser = text, display, limits, parser
        self.docs: list[Document] = []
        self.errors: list[Diagnostic] = []
        self.count = 0

    def run(self) -> tuple[list[Document], list[Diagnostic]]:
        start: int | None = 0  # parse from this line on; after an error, from the next document marker
        while start is not None:
            try:
                start = self._parse_from(start)
            except _TooMany as exc:
                return [], [SpecError(self.display, exc.line, "", str(exc))]
        return self.docs, self.errors

    def _parse_from(self, start: int) -> int | None:
        """Parse documents from line `start`; the line to resume at after an error, else None."""
        loader = self.parser(self.text.stream(start))
        at = start
        try:
            loader.get_event()  # StreamStartEvent
            while not loader.check_event(StreamEndEvent):
                event: Any = loader.get_event()
                assert isinstance(event, DocumentStartEvent) and event.start_mark is not None
                at = start + int(event.start_mark.line)
                self.count += 1
                if self.count > self.limits.max_documents:
                    raise _TooMany(
                        at + 1,
                        f"more than {self.limits.max_documents} documents in one file; split it into several files",
                    )
                try:
                    root = _Composer(loader, start, self.limits).compose()
                    loader.get_event()  # DocumentEndEvent
                except _DocumentError as exc:
                    self.errors.append(SpecError(self.display, exc.line, _dotted(exc.path), exc.message))
                    return self.text.next_marker(max(exc.line - 1, at + 1))
                self._add(root, start)
        except yaml.YAMLError as exc:
            return self._syntax_error(exc, start, at)
        finally:
            loader.dispose()
        return None

    def _add(self, root: Any, offset: int) -> None:
        if isinstance(root, yaml.ScalarNode) and root.tag == _NULL_TAG and not root.value:
            return  # an empty document: a trailing `---`, or only comments
        builder = _Builder(self.display, offset, self.limits)
        try:
            data = builder.build(root, ())
        except _DocumentError as exc:
            self.errors.append(SpecError(self.display, exc.line, _dotted(exc.path), exc.message))
            return
        except RecursionError:  # pragma: no cover - the depth limit keeps far below Python's
            self.errors.append(SpecError(self.display, builder.line(root), "", "YAML nesting too deep"))
            return
        self.errors.extend(builder.errors)
        self.docs.append(Document(self.display, data, builder.lines, builder.line(root)))

    def _syntax_error(self, exc: yaml.YAMLError, start: int, at: int) -> int | None:
        line, problem = _describe(exc, self.text, start)
        if "maximum nesting depth" in problem:  # libyaml's own cap (1000 flow levels), ours is lower
            problem = f"YAML nesting deeper than {self.limits.max_depth} levels; specs are never that deep"
            self.errors.append(SpecError(self.display, line, "", problem))
            return self.text.next_marker(max(line - 1, at + 1)) if line else None
        if self.parser is not _PURE:
            # The same stretch through PyYAML's own parser, for its (more helpful) wording; unless
            # it stops elsewhere (the parsers disagree on a corner of YAML), then libyaml's stands.
            pure = _pure_error(self.text, start)
            if pure is not None:
                pure_line, pure_problem = _describe(pure, self.text, start)
                if pure_line is not None and pure_line > at:
                    line, problem = pure_line, pure_problem
        self.errors.append(SpecError(self.display, line, "", f"YAML syntax error: {shorten(problem, 300)}"))
        # The broken document is lost, but the file's later documents are still checked.
        return self.text.next_marker(max(line - 1, at + 1)) if line else None


def _describe(exc: yaml.YAMLError, text: _Text, start: int) -> tuple[int | None, str]:
    """(1-based line, problem) of a parser error raised reading from line `start`."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        if exc.context:
            problem = f"{exc.context}: {problem}" if exc.context != problem else problem
        if exc.context_mark is not None and mark is not None and exc.context_mark.line != mark.line:
            problem += f" (the construct starts on line {start + exc.context_mark.line + 1})"
        return (start + mark.line + 1 if mark else None), problem
    if isinstance(exc, yaml.reader.ReaderError) and isinstance(exc.position, int):
        line = text.line_of(text.line_starts[start] + exc.position) + 1
        return line, f"unacceptable character: {exc.reason}"
    return None, str(exc)


class _TooMany(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def _pure_error(text: _Text, start: int) -> yaml.YAMLError | None:
    """The error PyYAML's own parser reports reading from line `start`, if it reports one."""
    loader: Any = _PURE(text.stream(start))
    depth = 0
    try:
        while loader.check_event():
            event: Any = loader.get_event()
            depth += isinstance(event, CollectionStartEvent) - isinstance(event, (SequenceEndEvent, MappingEndEvent))
            if depth > LIMITS.max_depth:
                return None  # past the limit PyYAML's scanner slows down quadratically; libyaml's answer stands
    except yaml.YAMLError as exc:
        return exc
    finally:
        loader.dispose()
    return None


class _NotPlain(Exception):
    """The file needs the full composer: an anchor, alias, merge key or tag, or any problem."""


_NO_KEY: Final[Any] = object()


def _plain_documents(text: _Text, display: str, limits: Limits, parser: type[Any]) -> list[Document] | None:
    """The documents of a file that uses none of YAML's rarer features, built straight from the
    parser's events; None when the file needs `_Loader` (see `_NotPlain`).

    Why: composing nodes and then building values from them was most of the time a plan of
    10,000 specs spent loading them. Nearly every spec file is plain (no anchors, aliases, merge
    keys or tags, no errors), and for those this one pass gives the same values, line map and
    start line as `_Loader`; whatever it does not handle, it hands over whole, so every error is
    still reported by the one careful path.
    """
    loader = parser(text.stream(0))
    scalars = _PlainScalars(loader)
    docs: list[Document] = []
    count = 0
    try:
        loader.get_event()  # StreamStartEvent
        while not loader.check_event(StreamEndEvent):
            loader.get_event()  # DocumentStartEvent
            count += 1
            if count > limits.max_documents:
                raise _NotPlain
            doc = _plain_document(loader, scalars, display, limits)
            loader.get_event()  # DocumentEndEvent
            if doc is not None:
                docs.append(doc)
    except (_NotPlain, yaml.YAMLError):
        return None
    finally:
        loader.dispose()
    for doc in docs:
        doc.references = scalars.references
    return docs


class _PlainScalars:
    """Untagged scalars as values: resolved and constructed once per distinct text."""

    def __init__(self, loader: Any) -> None:
        self.resolve = loader.resolve
        self.constructor = _PURE("")
        self.known: dict[tuple[str, Any], Any] = {}
        self.references = False  # some text holds `${`: a variable reference, maybe

    def construct(self, event: Any) -> Any:
        """The value of a scalar not seen before (callers look in `known` first)."""
        if event.anchor is not None or event.tag is not None:
            raise _NotPlain
        tag = self.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _STR_TAG:
            value: Any = event.value
            self.references = self.references or "${" in value
        else:
            build = self.constructor.yaml_constructors.get(tag)
            if build is None or tag == _MERGE_TAG:
                raise _NotPlain
            try:
                value = build(self.constructor, yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark))
            except Exception:
                raise _NotPlain from None
        self.known[(event.value, event.implicit)] = value
        return value


def _plain_document(loader: Any, scalars: _PlainScalars, display: str, limits: Limits) -> Document | None:
    """One plain document from its events (`_NotPlain` at the first thing it does not handle).

    The line map is `_Builder`'s: a mapping value's path points at its key's line, a list item's
    at its own, the document at its root's."""
    lines: dict[PathKey, int] = {}
    known, get_event = scalars.known, loader.get_event
    # Open collections: [value, path, the key awaiting its value (or _NO_KEY), that key's line].
    stack: list[list[Any]] = []
    while True:
        event = get_event()
        cls = type(event)
        if cls is ScalarEvent:
            value = known.get((event.value, event.implicit), _NO_KEY)
            if value is _NO_KEY or event.anchor is not None or event.tag is not None:
                value = scalars.construct(event)
        elif cls is MappingEndEvent or cls is SequenceEndEvent:
            done = stack.pop()
            if not stack:
                return Document(display, done[0], lines, lines[()])
            continue
        elif cls is MappingStartEvent or cls is SequenceStartEvent:
            if event.anchor is not None or event.tag is not None or len(stack) >= limits.max_depth:
                raise _NotPlain
            value = {} if cls is MappingStartEvent else []
        else:  # an alias
            raise _NotPlain
        line = event.start_mark.line + 1
        if not stack:
            if value is None and not event.value:
                return None  # an empty document: a trailing `---`, or only comments
            lines[()] = line
            if cls is ScalarEvent:
                return Document(display, value, lines, line)
            stack.append([value, (), _NO_KEY, 0])
            continue
        top = stack[-1]
        container = top[0]
        if type(container) is list:
            path: PathKey = (*top[1], len(container))
            container.append(value)
            lines[path] = line
        elif top[2] is _NO_KEY:
            if cls is not ScalarEvent or value in container:  # a collection as key, a repeated key
                raise _NotPlain
            top[2], top[3] = value, line
            continue
        else:
            key = top[2]
            path = (*top[1], str(key))
            container[key] = value
            lines[path] = top[3]  # a key's errors point at the key's own line
            top[2] = _NO_KEY
        if cls is not ScalarEvent:
            stack.append([value, path, _NO_KEY, 0])
