"""The import workflow (`reconciler import`): adopt existing live objects that specs declare,
optionally writing those specs from the live objects (or an export file) first.

Adopting records ownership on the live side and changes nothing else. Only declared objects are
adopted — an adopted object no spec declares would be planned for deletion next. Messages are
handed to `say` as they happen, so a failure half-way still leaves the caller's output saying
what was done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reconciler.commands import import_command
from reconciler.errors import ReconcilerError
from reconciler.kinds.kind_registry import KINDS
from reconciler.providers.base import Provider
from reconciler.specs.schemas import with_modeline

from .session import Session


@dataclass(frozen=True)
class ImportRequest:
    kind: str
    key: str  # the identity `plan` shows; with generate_specs a glob, e.g. 'alerts/*'
    specs_dir: Path
    target: str | None = None
    generate_specs: bool = False
    from_file: Path | None = None  # an export file of the live system; implies generate_specs
    expand_env: tuple[str, ...] = ()  # environment variables the export file may expand ("*": all)
    allow_migrate: bool = False  # first run the store's schema migrations (ownership columns)


def run_import(request: ImportRequest, say: Callable[[str], None]) -> None:
    """Adopt what `request` names; raise ReconcilerError (after saying what was done) on failure."""
    kind, specs_dir = request.kind, request.specs_dir
    if kind not in KINDS:
        raise ReconcilerError(f"unknown kind '{kind}' (known: {', '.join(KINDS)})")
    with Session(specs_dir, request.target) as session:
        provider = session.provider(kind)
        if not (request.generate_specs or request.from_file):
            if request.allow_migrate:
                _migrate(session, provider, say)
            _adopt(session, provider, request.key, specs_dir, say)
            say("Run `reconciler plan` to see its differences from the spec.")
            return
        provider.expand_env = request.expand_env
        generated = provider.generate_specs(session.request(provider), request.key, request.from_file)
    existing = [name for name in generated.files if (specs_dir / name).exists()]
    if existing:
        raise ReconcilerError(
            f"not overwriting existing spec file(s): {', '.join(existing)}; move them away or pick other objects"
        )
    written: list[Path] = []
    for name, text in sorted(generated.files.items()):
        path = specs_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(with_modeline(text, path, specs_dir), encoding="utf-8")
        written.append(path)
        say(f"Wrote {path}")
    for note in generated.notes:
        say(f"note: {note}")
    # Adopt against the specs as they are now, the files just written included.
    try:
        session = Session(specs_dir, request.target)
    except ReconcilerError as exc:
        _remove(written)
        raise ReconcilerError(
            f"{exc}\nNothing was imported; the spec files written for it were removed again."
        ) from None
    with session:
        provider = session.provider(kind)
        if request.allow_migrate and generated.adopt:
            _migrate(session, provider, say)
        for number, (adopt_key, _name) in enumerate(generated.adopt):
            try:
                _adopt(session, provider, adopt_key, specs_dir, say)
            except ReconcilerError as exc:
                if number == 0:
                    # Nothing was adopted: the import did not happen, so its files are not kept
                    # (left behind, they would make a re-run refuse to overwrite them).
                    _remove(written)
                    raise ReconcilerError(
                        f"{exc}\nNothing was imported; the spec files written for it were removed again."
                    ) from None
                rest = [k for k, _ in generated.adopt[number:]]
                raise ReconcilerError(
                    f"{exc}\nThe spec files above were written, but {len(rest)} object(s) were not adopted: "
                    f"{', '.join(rest)}. Fix the cause and adopt them with e.g. "
                    f"`{import_command(kind, rest[0], specs_dir, session.specs.target_name)}`, or delete the written files."
                ) from None
    say("Run `reconciler plan` to check: it should show no changes for what was imported.")


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _migrate(session: Session, provider: Provider, say: Callable[[str], None]) -> None:
    """`--allow-migrate`: the schema changes the store needs before it can record ownership (e.g.
    a policy table the SLA framework created), found by reading it, then made."""
    provider.read(session.request(provider))
    for migration in provider.migrations():
        provider.migrate(migration)
        say(f"Migrated {migration.address}: {migration.description}")


def _adopt(session: Session, provider: Provider, key: str, specs_dir: Path, say: Callable[[str], None]) -> None:
    """Adopt one declared live object and say what happened (and what it cost). `key` may also
    be the name of the spec that declares it."""
    kind, request = provider.kind.name, session.request(provider)
    key = provider.import_key(request, key)
    declared = provider.declaring(request, key)
    if declared is None:
        alternative = (
            " or let `reconciler import --generate-specs` write it from the live object"
            if provider.generates_specs
            else ""
        )
        raise ReconcilerError(
            f"no {kind} spec in {specs_dir} declares {key!r}. Import adopts what a spec declares (an adopted object no spec "
            f"declares would be planned for deletion): write its spec first{alternative}"
        )
    adopted = provider.adopt(request, key, declared.name)
    for note in adopted.notes:
        say(f"note: {note}")
    say(f"Imported {kind} {adopted.key}: reconciler now manages it.")
