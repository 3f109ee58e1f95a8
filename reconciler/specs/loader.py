"""specs directory -> validated `Resource`s for one target.

Everything wrong with the specs is collected and raised together as `SpecErrors`, so a user
fixes a whole batch per run instead of one error at a time. Nothing here touches a live system.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from packaging.specifiers import SpecifierSet
from pydantic import ValidationError, create_model

from reconciler import __version__, secrets
from reconciler.diagnostics import Diagnostic, resolve
from reconciler.errors import ReconcilerError, SpecError, SpecErrors, shorten
from reconciler.gc_pause import without_gc
from reconciler.kinds.base import Kind, Resource, SourceRef

from .cli_variables import NO_VARIABLES, Assignment, CommandLineVariables
from .envelope import API_VERSION, Envelope
from .errors_format import validation_errors
from .project import PROJECT_FILE, ProjectFile, SandboxSeed, TargetConfig
from .variables import interpolate
from .yaml_loader import Document, dotted_path, load_documents

T = TypeVar("T")


@cache
def document_model(kind: Kind) -> type[Envelope[Any]]:
    """The pydantic model of a whole document of `kind` (envelope with `kind` pinned)."""
    # Built at run time from the kind's values, so these types are runtime objects (Any to mypy).
    pinned: Any = Literal.__getitem__(kind.name)
    base: type[Envelope[Any]] = cast(Any, Envelope)[kind.spec_model]
    return create_model(f"{kind.name}Document", __base__=base, kind=(pinned, ...))


@dataclass
class SpecSet:
    """What a run works from: the project, the chosen target and the declared resources."""

    root: Path
    project: ProjectFile
    target_name: str
    target: TargetConfig
    resources: list[Resource]
    files: list[str]

    def by_kind(self, kind: str) -> list[Resource]:
        return [r for r in self.resources if r.kind == kind]


def display_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def load_project(root: Path) -> tuple[ProjectFile, list[Diagnostic]]:
    path = root / PROJECT_FILE
    if not path.exists():
        return ProjectFile(), []
    docs, read_errors = load_documents(path, display_path(path))
    if read_errors:
        return ProjectFile(), read_errors
    if not docs:
        return ProjectFile(), []
    doc = docs[0]
    errors: list[Diagnostic] = []

    def on_error(path: tuple[str | int, ...], message: str) -> None:
        errors.append(SpecError(doc.file, doc.line_for(path), dotted_path(path), message))

    # `${env:NAME}` works here too (e.g. a Grafana URL per environment); there are no variables yet.
    data = interpolate(doc.data if doc.data is not None else {}, {}, on_error)
    if errors:
        return ProjectFile(), errors
    try:
        project = ProjectFile.model_validate(data)
    except ValidationError as exc:
        return ProjectFile(), validation_errors(exc, doc, model=ProjectFile)
    if project.required_version and not SpecifierSet(project.required_version).contains(__version__, prereleases=True):
        line = doc.line_for(("required_version",))
        message = (
            f"these specs require reconciler {project.required_version}, this is {__version__}: "
            f"install a matching version (pip install 'sla-reconciler{project.required_version}')"
        )
        return ProjectFile(), [SpecError(doc.file, line, "required_version", message)]
    return project, []


def spec_files(root: Path, besides: Iterable[Path] = ()) -> list[Path]:
    """The spec files under `root`: YAML files but the project file and the files `besides` (a
    sandbox seed, var files) that live among the specs without being specs."""
    skipped = {p.resolve() for p in besides}
    files = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and path.suffix in (".yaml", ".yml") and path.name != PROJECT_FILE:
            if path.resolve() not in skipped:
                files.append(path)
    return files


@without_gc
def load_specs(
    root: str | Path,
    target_name: str | None = None,
    *,
    kinds: Mapping[str, Kind],
    variables: CommandLineVariables = NO_VARIABLES,
) -> SpecSet:
    """Load, interpolate and validate every spec under `root` for `target_name`, as documents of
    `kinds` (by name; the engine passes every registered kind — a parameter, so this layer never
    imports the kinds it is imported by). `variables` are the command line's `--var` /
    `--var-file` assignments, in order: they override the project's and the target's."""
    root = Path(root)
    if not root.is_dir():
        raise ReconcilerError(f"spec directory not found: {root}")
    project, errors = load_project(root)
    if errors:
        raise SpecErrors(errors)
    name = target_name or project.default_target
    target = project.target(name)
    if target is None:
        known = ", ".join(sorted(set(project.targets) | {"local"}))
        raise ReconcilerError(f"unknown target '{name}' (known targets: {known})")
    besides = [*variables.files, *([root / target.sandbox_seed] if isinstance(target.sandbox_seed, str) else [])]
    target, seed_errors = _with_seed_file(root, target)
    errors = [*variables.problems, *seed_errors]
    assigned = variables.assignments
    values = _Referenced({**project.variables, **target.variables, **{a.name: a.value for a in assigned}})
    _remember_sensitive(project, values)

    resources: list[Resource] = []
    files = spec_files(root, besides)
    for path in files:
        docs, file_errors = load_documents(path, display_path(path))
        errors.extend(file_errors)
        for doc in docs:
            resources.extend(_declared(doc, values, errors, kinds))
    errors.extend(_unknown_variables(assigned, project, values.referenced))

    # Over every document that validated, even when others did not: one run reports it all.
    errors.extend(_cross_checks(resources, kinds))
    if errors:
        raise SpecErrors(errors)
    return SpecSet(root, project, name, target, resources, [display_path(p) for p in files])


def _with_seed_file(root: Path, target: TargetConfig) -> tuple[TargetConfig, list[Diagnostic]]:
    """The target with its `sandbox_seed` file read and checked (errors at the file's lines)."""
    if not isinstance(target.sandbox_seed, str):
        return target, []
    path = root / target.sandbox_seed
    display = display_path(path)
    if not path.is_file():
        message = f"sandbox seed file not found (sandbox_seed: {target.sandbox_seed}, relative to the spec directory)"
        return target, [SpecError(display, None, "", message)]
    docs, errors = load_documents(path, display)
    if errors:
        return target, errors
    doc = docs[0] if docs else Document(display, {})
    try:
        seed = SandboxSeed.model_validate(doc.data if doc.data is not None else {})
    except ValidationError as exc:
        return target, validation_errors(exc, doc, model=SandboxSeed)
    return target.model_copy(update={"sandbox_seed": seed}), []


class _Referenced(dict[str, Any]):
    """The variables, noting which names a spec looked up (`name in variables`)."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.referenced: set[str] = set()

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self.referenced.add(name)
        return super().__contains__(name)


def _remember_sensitive(project: ProjectFile, values: Mapping[str, Any]) -> None:
    """Values of sensitive variables are secrets for the rest of the run (reconciler/secrets.py)."""
    listed = set(project.sensitive_variables)
    for name, value in values.items():
        if name in listed or secrets.SENSITIVE_KEY.search(name):
            secrets.remember(value if isinstance(value, str) else str(value))


def _unknown_variables(
    assigned: tuple[Assignment, ...], project: ProjectFile, referenced: set[str]
) -> list[Diagnostic]:
    """A command-line variable nothing knows is a typo until proven otherwise (as Terraform's
    "undeclared variable"): an error where it was set, naming the close matches."""
    import difflib

    known = set(project.variables) | set(project.sensitive_variables) | referenced
    for target in project.targets.values():
        known |= set(target.variables)
    errors: list[Diagnostic] = []
    for a in assigned:
        if a.name in known:
            continue
        close = difflib.get_close_matches(a.name, sorted(known), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        message = (
            f"variable '{a.name}' is not used: no spec references ${{var.{a.name}}} and reconciler.yaml does not "
            f"define it{hint}"
        )
        errors.append(SpecError(a.file, a.line, "" if a.line is None else a.name, message))
    return errors


def _declared(
    doc: Document, variables: dict[str, Any], errors: list[Diagnostic], kinds: Mapping[str, Kind]
) -> list[Resource]:
    """The objects one document declares: its own resource and those its kind expands it into.

    A document that passed its model but failed its kind's own checks (`spec_errors`) is reported
    and still returned, so the cross-document checks (duplicate names and identities, rule titles
    per folder) see it too and one run reports every problem; the errors stop the run anyway.
    """
    validated = _validated(doc, variables, errors, kinds)
    if validated is None:
        return []
    kind, model = validated
    located = kind.spec_errors(model.metadata.name, model.spec)
    errors.extend(_at_line(doc, located))
    resource = _tolerant(bool(located), lambda: _resource(kind, model, doc, errors), None)
    if resource is None:
        return []

    def locate(path: tuple[str | int, ...]) -> SourceRef:
        return SourceRef(doc.file, doc.line_for(path))

    return [resource, *_tolerant(bool(located), partial(kind.expand, resource, locate), list[Resource]())]


def _tolerant(rejected: bool, build: Callable[[], T], fallback: T) -> T:
    """`build()`; but building a spec its kind already rejected may trip over the very problem
    reported (a shorthand rule without a threshold, say), and then the document just takes a
    smaller part in the cross-document checks (`fallback`) rather than crash the run."""
    try:
        return build()
    except Exception:
        if not rejected:
            raise
        return fallback


def _validated(
    doc: Document, variables: dict[str, Any], errors: list[Diagnostic], kinds: Mapping[str, Kind]
) -> tuple[Kind, Envelope[Any]] | None:
    """The document's kind and model, or None once its envelope or model errors are recorded."""
    data = doc.data
    if not isinstance(data, dict):
        errors.append(
            SpecError(
                doc.file, doc.start_line, "", "a spec document must be a mapping with apiVersion, kind, metadata, spec"
            )
        )
        return None
    api_version = data.get("apiVersion")
    if api_version != API_VERSION:
        errors.append(
            SpecError(
                doc.file,
                doc.line_for(("apiVersion",)),
                "apiVersion",
                f"{shorten(repr(api_version))} is not supported; use {API_VERSION}",
            )
        )
        return None
    kind_name = data.get("kind")
    kind = kinds.get(str(kind_name)) if kind_name is not None else None
    if kind is None or not kind.standalone:
        known = ", ".join(k.name for k in kinds.values() if k.standalone)
        errors.append(
            SpecError(doc.file, doc.line_for(("kind",)), "kind", f"{shorten(repr(kind_name))} is not one of {known}")
        )
        return None

    unresolved: set[str] = set()

    def on_error(path: tuple[str | int, ...], message: str) -> None:
        unresolved.add(dotted_path(path))
        errors.append(SpecError(doc.file, doc.line_for(path), dotted_path(path), message))

    def on_visible_secret(path: tuple[str | int, ...], name: str) -> None:
        secrets.warn(
            f"{doc.file}:{doc.line_for(path)}: {dotted_path(path)}: the secret from ${{env:{name}}} is written to a "
            "field the live system shows in plain text (only secure settings are stored encrypted)"
        )

    # A file with no `${` in it has nothing to resolve: its documents are validated as read.
    resolved = interpolate(data, variables, on_error, on_visible_secret=on_visible_secret) if doc.references else data
    try:
        model = document_model(kind).model_validate(resolved)
    except ValidationError as exc:
        # The document's other problems are reported too; a field whose variable is unresolved
        # has its error already (its placeholder text would only add a confusing second one).
        found = [e for e in validation_errors(exc, doc, model=document_model(kind)) if not _under(e.field, unresolved)]
        spec = resolved.get("spec") if isinstance(resolved, dict) else None
        for error in _at_line(doc, kind.salvage_errors(spec)):
            if error not in found:
                found.append(error)
        errors.extend(found)
        return None
    # With a value unknown, the document cannot take part in identity checks.
    return None if unresolved else (kind, model)


def _at_line(doc: Document, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """A document's own diagnostics resolved, once, to the line of their path in it."""
    return [d.at(doc.file, doc.line_for(d.path)) for d in diagnostics]


def _under(path: str, roots: set[str]) -> bool:
    return any(path == root or path.startswith((root + ".", root + "[")) for root in roots)


def _resource(kind: Kind, model: Envelope[Any], doc: Document, errors: list[Diagnostic]) -> Resource | None:
    """The planner's view of a validated document; None once a key or state error is recorded."""
    name = model.metadata.name
    try:
        key = kind.key(name, model.spec)
        state = kind.desired_state(model.spec)
    except ValueError as exc:
        errors.append(SpecError(doc.file, doc.line_for(("spec",)), "spec", str(exc)))
        return None
    return Resource(
        kind=kind.name,
        name=name,
        key=key,
        spec=model.spec,
        state=state,
        source=SourceRef(doc.file, doc.line_for(("metadata", "name"))),
        labels=dict(model.metadata.labels),
        depends_on=kind.depends_on(model.spec),
        lines=dict(doc.lines),
    )


def _cross_checks(resources: list[Resource], kinds: Mapping[str, Kind]) -> list[Diagnostic]:
    errors: list[Diagnostic] = []
    seen: dict[tuple[str, str], Resource] = {}
    for res in resources:
        if not kinds[res.kind].standalone:
            continue  # named after their declaring document; their kind checks their identities
        first = seen.setdefault((res.kind, res.name), res)
        if first is not res:
            errors.append(
                SpecError(
                    res.source.file,
                    res.source.line,
                    "metadata.name",
                    f"{res.kind} '{res.name}' is already declared at {first.source}",
                )
            )
    for kind in kinds.values():
        errors.extend(resolve(kind.validate_all([r for r in resources if r.kind == kind.name]), resources))
    return errors
