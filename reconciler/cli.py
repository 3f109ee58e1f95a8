"""Command line: `reconciler validate | plan | show | apply | drift | import | schema | fields | sandbox`.

Exit codes (Terraform's `-detailed-exitcode` convention): 0 success and nothing to change,
2 success with changes pending (`plan --detailed-exitcode`, and `drift` whenever it finds drift),
1 error — usage errors (an unknown option, a missing argument) included, so a mistyped flag in a
scheduled job can never pass for "drift found". Errors print one clear message, never a
traceback. A closed output pipe (`reconciler plan | head -1`) is not an error: the command runs
to its end and exits with its own code.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TextIO, cast

import click

from reconciler import __version__
from reconciler.errors import ReconcilerError, SpecErrors

FORMATS = click.Choice(["text", "markdown", "json"])
EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn reconciler's errors into a message and exit code 1."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ReconcilerError as exc:
            _machine_errors(exc, kwargs.get("fmt"))
            raise_human(exc)

    def raise_human(exc: ReconcilerError) -> NoReturn:
        if isinstance(exc, SpecErrors):
            click.echo(f"Error: {len(exc.errors)} problem(s) in the specs:", err=True)
            for error in exc.errors:
                click.echo(f"  {error}", err=True)
            sys.exit(EXIT_ERROR)
        _fail(str(exc))

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def exit_codes(*codes: tuple[int, str]) -> str:
    """A command's `--help` epilog listing what its exit codes mean (1 always covers usage errors)."""
    lines = [
        f"  {code}  {meaning}" + ("; or a usage error" if code == EXIT_ERROR and "usage" not in meaning else "")
        for code, meaning in codes
    ]
    return "\b\nExit codes:\n" + "\n".join(lines)


ERROR_CODE = (EXIT_ERROR, "error (bad specs, usage error, live system error)")


OPTION_ORDER = "reconciler.option_order"


class _Command(click.Command):
    """Remembers the order options were given in (`ctx.meta[OPTION_ORDER]`): `--var` and
    `--var-file` override each other in command-line order, which click's per-option lists lose."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if any(p.name == "var_files" for p in self.params):
            _, _, order = self.make_parser(ctx).parse_args(args=list(args))
            ctx.meta[OPTION_ORDER] = [p.name for p in order]
        return super().parse_args(ctx, args)


class _Group(click.Group):
    """Usage errors exit 1, not click's 2: 2 means "changes pending" / "drift found" here."""

    command_class = _Command

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            setattr(exc, "exit_code", EXIT_ERROR)  # noqa: B010 - a ClassVar in click's stubs, per instance here
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            setattr(exc, "exit_code", EXIT_ERROR)  # noqa: B010 - a ClassVar in click's stubs, per instance here
            raise


class _PipeSafe:
    """stdout that survives its reader going away (`| head -1`): later output is dropped and the
    command carries on to its own exit code, as an apply must not stop halfway over a pipe."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.broken = False

    def _closed_pipe(self) -> None:
        self.broken = True
        try:  # the interpreter flushes fd 1 at exit too: point it at /dev/null
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass

    def write(self, text: str) -> int:
        if self.broken:
            return len(text)
        try:
            return int(self._stream.write(text))
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            self._closed_pipe()
            return len(text)

    def flush(self) -> None:
        if self.broken:
            return
        try:
            self._stream.flush()
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            self._closed_pipe()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _machine_errors(exc: ReconcilerError, fmt: object) -> None:
    """With `--format json` / `github`, the errors also go to stdout as data / CI annotations."""
    if fmt not in ("json", "github"):
        return
    from reconciler.error_output import errors_document, errors_of, github_annotations

    errors = errors_of(exc)
    if fmt == "json":
        click.echo(json.dumps(errors_document(errors), indent=2))
    else:
        for line in github_annotations(errors):
            click.echo(line)


specs_argument = click.argument("specs_dir", default="specs", type=click.Path(file_okay=False, path_type=Path))
target_option = click.option(
    "--target", "-t", help="Target from reconciler.yaml (default: the project's default_target, else 'local')."
)
format_option = click.option("--format", "fmt", type=FORMATS, default="text", show_default=True, help="Output format.")
plan_format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json", "github"]),
    default="text",
    show_default=True,
    help="Output format; github: the text plan plus GitHub Actions annotations (errors, destructive operations and "
    "warnings on their spec lines).",
)
color_option = click.option(
    "--color/--no-color", default=None, help="Force or disable colour (default: colour on a terminal)."
)


def select_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`--only KIND/NAME` and `--label key=value` (reconciler.selection)."""
    fn = click.option(
        "--label",
        "labels",
        multiple=True,
        metavar="KEY=VALUE",
        help="Only objects whose metadata.labels have this value (repeatable; all must match). The plan is partial.",
    )(fn)
    return click.option(
        "--only",
        "only",
        multiple=True,
        metavar="KIND/NAME",
        help="Only this object (repeatable; globs, e.g. 'SlaPolicy/etl-*', 'GrafanaAlertRule/alerts/*'). "
        "The plan is partial, like terraform -target.",
    )(fn)


def _check_var(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    from reconciler.specs.cli_variables import parse_var

    for value in values:
        try:
            parse_var(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return values


def variable_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`--var NAME=VALUE` and `--var-file FILE` (reconciler.specs.cli_variables)."""
    fn = click.option(
        "--var-file",
        "var_files",
        multiple=True,
        metavar="FILE",
        type=click.Path(dir_okay=False, path_type=Path),
        help="A YAML file of variable values (NAME: VALUE lines), as --var each (repeatable).",
    )(fn)
    return click.option(
        "--var",
        "cli_vars",
        multiple=True,
        metavar="NAME=VALUE",
        callback=_check_var,
        help="Set ${var.NAME} (repeatable). VALUE is read as JSON when it is JSON (a number, true/false, a list), "
        "else as a string. Later --var / --var-file override earlier ones; all override reconciler.yaml's.",
    )(fn)


def _variables(cli_vars: tuple[str, ...], var_files: tuple[Path, ...]) -> Any:
    """The `--var` / `--var-file` assignments in the order given on the command line."""
    from reconciler.specs.cli_variables import command_line_variables
    from reconciler.specs.loader import display_path

    queues: dict[str, list[str]] = {"cli_vars": list(cli_vars), "var_files": [str(f) for f in var_files]}
    order = [n for n in click.get_current_context().meta.get(OPTION_ORDER, []) if n in queues]
    sources: list[Any] = []
    for name in order + ["var_files"] * len(var_files) + ["cli_vars"] * len(cli_vars):
        if queues[name]:
            sources.append(("var" if name == "cli_vars" else "var_file", queues[name].pop(0)))
    return command_line_variables(sources, display_path)


parallelism_option = click.option(
    "--parallelism",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    envvar="RECONCILER_PARALLELISM",
    show_envvar=True,
    help="Requests in flight at once: live reads, and apply's writes of independent objects (as Terraform's "
    "-parallelism). Output is the same whatever the value.",
)


def _selection(only: tuple[str, ...], labels: tuple[str, ...]) -> Any:
    from reconciler.selection import Selection

    return Selection.parse(only, labels)


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=exit_codes(
        (EXIT_OK, "success, nothing to change"),
        (EXIT_CHANGES, "success, changes pending (plan --detailed-exitcode) or drift found (drift)"),
        ERROR_CODE,
    ),
)
@click.version_option(__version__, prog_name="reconciler")
@click.option("--verbose", "-v", is_flag=True, help="Log what is done: each HTTP call and SQL statement (to stderr).")
@click.option(
    "--debug", is_flag=True, help="Log everything, the libraries' request/response detail too (secrets redacted)."
)
def cli(verbose: bool, debug: bool) -> None:
    """Declarative SLA and data-quality monitoring: plan and apply SLA policies, Databricks
    lakehouse monitors and Grafana alert rules from YAML specs in git.

    \b
    Typical use:
      reconciler plan specs/                      # what would change (run on every PR)
      reconciler plan specs/ --out plan.json      # save the plan for review
      reconciler apply plan.json                  # apply exactly that plan (no prompt)
      reconciler drift specs/                     # exit 2 when live state drifted

    Logs: --verbose / --debug here, or RECONCILER_LOG=info|debug (stderr, secrets redacted).
    """
    _redact_output(click.get_current_context())
    from reconciler.logs import configure  # after the redaction: log lines go through it too

    try:
        configure("debug" if debug else "info" if verbose else None)
    except ValueError as exc:
        _fail(str(exc))


def _redact_output(ctx: click.Context) -> None:
    """Every line this run prints goes through the secrets redactor (reconciler/secrets.py)."""
    from reconciler import secrets

    secrets.forget_all()
    saved = sys.stdout, sys.stderr
    sys.stdout = secrets.RedactingStream(sys.stdout)
    sys.stderr = secrets.RedactingStream(sys.stderr)

    def restore() -> None:
        for warning in secrets.warnings():
            click.echo(f"Warning: {warning}", err=True)
        sys.stdout, sys.stderr = saved

    ctx.call_on_close(restore)


@cli.command(epilog=exit_codes((EXIT_OK, "the specs are valid"), ERROR_CODE))
@specs_argument
@target_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="Errors also as a JSON document (json) or as GitHub Actions annotations on the spec lines (github).",
)
@variable_options
@_guard
def validate(
    specs_dir: Path,
    target: str | None,
    fmt: str = "text",
    cli_vars: tuple[str, ...] = (),
    var_files: tuple[Path, ...] = (),
) -> None:
    """Check spec files offline (syntax, fields, variables, identities); touches nothing live."""
    from reconciler.kinds.kind_registry import KINDS
    from reconciler.specs.loader import load_specs

    specs = load_specs(specs_dir, target, kinds=KINDS, variables=_variables(cli_vars, var_files))
    counts: dict[str, int] = {}
    for res in specs.resources:
        counts[res.kind] = counts.get(res.kind, 0) + 1
    detail = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no objects"
    if fmt == "json":
        from reconciler.contracts import ERRORS_FORMAT_VERSION, tool

        click.echo(json.dumps({"format_version": ERRORS_FORMAT_VERSION, "tool": tool(), "ok": True, "errors": []}))
        return
    click.echo(f"Specs valid: {len(specs.files)} file(s), {detail} (target {specs.target_name}).")


@cli.command(
    epilog=exit_codes(
        (EXIT_OK, "planned (no changes; or changes, without --detailed-exitcode)"),
        (EXIT_CHANGES, "changes pending (with --detailed-exitcode)"),
        ERROR_CODE,
    )
)
@specs_argument
@target_option
@plan_format_option
@color_option
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also save the plan as JSON for `apply --plan`.",
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when none.")
@select_options
@variable_options
@parallelism_option
@_guard
def plan(
    specs_dir: Path,
    target: str | None,
    fmt: str,
    color: bool | None,
    out: Path | None,
    detailed_exitcode: bool,
    only: tuple[str, ...] = (),
    labels: tuple[str, ...] = (),
    cli_vars: tuple[str, ...] = (),
    var_files: tuple[Path, ...] = (),
    parallelism: int | None = None,
) -> None:
    """Show what apply would change: creates, updates, replaces and deletes, field by field."""
    from reconciler.engine.plan import run_plan

    selection = _selection(only, labels)
    the_plan = run_plan(
        specs_dir, target, selection=selection, variables=_variables(cli_vars, var_files), parallelism=parallelism
    )
    if selection:
        click.echo(f"Warning: {the_plan.notes[0]}", err=True)
    if out:
        from reconciler.secrets import redact

        out.write_text(redact(the_plan.to_json()), encoding="utf-8")
    _emit_plan(the_plan, fmt, color)
    if out and fmt == "text":
        from reconciler.commands import command

        click.echo(f"Plan saved to {out}. Apply it exactly with: {command('apply', out)}")
    sys.exit(EXIT_CHANGES if detailed_exitcode and the_plan.has_changes else EXIT_OK)


def _emit_plan(
    the_plan: Any, fmt: str, color: bool | None, title: str = "plan", allow_destructive: bool = False
) -> None:
    if fmt == "json":
        click.echo(the_plan.to_json(), nl=False)
    elif fmt == "markdown":
        from reconciler.plan.render_markdown import render_markdown

        click.echo(render_markdown(the_plan, title=title), nl=False)
    elif fmt == "github":
        from reconciler.error_output import plan_annotations
        from reconciler.plan.render_text import console_for, render_text

        render_text(the_plan, console_for(sys.stdout, False), title=title)
        for line in plan_annotations(the_plan):
            click.echo(line)
    else:
        from reconciler.plan.render_text import console_for, render_text

        render_text(the_plan, console_for(sys.stdout, color), title=title, allow_destructive=allow_destructive)


@cli.command(
    epilog=exit_codes(
        (EXIT_OK, "applied (and ready, with --wait), or nothing to change"),
        (
            EXIT_ERROR,
            "error: refused (destructive, stale plan, other target), cancelled, an operation failed, --wait failed or "
            "timed out",
        ),
    )
)
@click.argument("specs_dir", metavar="[SPECS_DIR | PLANFILE]", default="specs", type=click.Path(path_type=Path))
@target_option
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Apply this saved plan exactly (refused if stale); as `apply PLANFILE`, with SPECS_DIR given.",
)
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation (a saved plan never asks).")
@click.option("--allow-destructive", is_flag=True, help="Allow replace and delete operations.")
@click.option(
    "--allow-migrate",
    is_flag=True,
    help="Allow the plan's schema migrations (e.g. adding reconciler's ownership columns to an existing policy table).",
)
@click.option(
    "--wait",
    is_flag=True,
    help="After applying, wait until created/updated objects are ready (e.g. monitors ACTIVE with their metric tables).",
)
@click.option("--wait-timeout", type=float, default=1800.0, show_default=True, help="Seconds --wait waits at most.")
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds to wait for the target's lock when another apply holds it.",
)
@click.option("--lock/--no-lock", "use_lock", default=True, help="Hold the target's lock while applying.")
@click.option(
    "--heartbeat",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Off a terminal, print a 'still waiting for ...' / 'still running ...' line this often while an operation, "
    "--wait or a lock wait takes long (default $RECONCILER_HEARTBEAT, else 15).",
)
@format_option
@color_option
@select_options
@variable_options
@parallelism_option
@_guard
def apply(
    specs_dir: Path,
    target: str | None,
    plan_file: Path | None,
    auto_approve: bool,
    allow_destructive: bool,
    allow_migrate: bool,
    wait: bool,
    wait_timeout: float,
    lock_timeout: float,
    use_lock: bool,
    fmt: str,
    color: bool | None,
    heartbeat: float | None = None,
    only: tuple[str, ...] = (),
    labels: tuple[str, ...] = (),
    cli_vars: tuple[str, ...] = (),
    var_files: tuple[Path, ...] = (),
    parallelism: int | None = None,
) -> None:
    """Make the live state match the specs (plans first, or applies a saved plan).

    `apply PLANFILE` applies a plan saved by `plan --out` exactly, like `terraform apply
    PLANFILE`: the plan carries its spec directory, target and --var values, so none need
    giving again (sensitive variables excepted), and it is the approval, so nothing is asked.
    It is refused, changing nothing, if the specs or the live objects changed since, or the
    target now points at other endpoints (a Grafana URL, a Databricks host, a policy store).

    While it runs, each operation prints a line as it starts and as it ends (ok / FAILED, with
    its duration); --wait and a wait for the target's lock print each state change and, off a
    terminal, a heartbeat line ("still waiting for main.sales.orders: MONITOR_STATUS_PENDING,
    3m10s elapsed of 30m"). On a terminal this is a live display instead. Progress goes to
    stdout with --format text, to stderr otherwise (stdout then carries only the report).

    --format markdown prints the apply report as a pull-request comment: every operation as
    ok / FAILED / not started, with its error, within GitHub's comment limit."""
    from reconciler.apply.progress import heartbeat_seconds, reporter_for
    from reconciler.engine.apply import ApplyOptions

    if specs_dir.is_file():
        if plan_file is not None:
            _fail(
                "give the saved plan once: `reconciler apply PLANFILE` or `reconciler apply SPECS_DIR --plan PLANFILE`"
            )
        plan_file, specs_dir = specs_dir, _specs_dir_of(specs_dir)
    try:
        interval = heartbeat_seconds(heartbeat)
    except ValueError as exc:
        _fail(str(exc))
    progress = reporter_for(sys.stdout if fmt == "text" else sys.stderr, interval, color)
    try:
        _apply(
            specs_dir,
            target,
            ApplyOptions(
                plan_file=plan_file,
                allow_destructive=allow_destructive,
                allow_migrate=allow_migrate,
                wait=wait,
                wait_timeout=wait_timeout,
                lock=use_lock,
                lock_timeout=lock_timeout,
                selection=_selection(only, labels),
                variables=_variables(cli_vars, var_files),
                parallelism=parallelism,
            ),
            progress,
            auto_approve or plan_file is not None,  # a saved plan is the approval
            fmt,
            color,
        )
    finally:
        progress.close()


def _specs_dir_of(plan_file: Path) -> Path:
    """The spec directory a saved plan was made from, as `plan` was given it."""
    from reconciler.commands import command
    from reconciler.plan.plan_file import load_plan_file

    saved = load_plan_file(plan_file)
    explicit = command("apply", "SPECS_DIR", options=("--plan", str(plan_file)))
    if not saved.specs_dir:
        raise ReconcilerError(f"{plan_file}: the plan does not name its spec directory; apply it with `{explicit}`")
    specs_dir = Path(saved.specs_dir)
    if not specs_dir.is_dir():
        raise ReconcilerError(
            f"{plan_file}: its spec directory {saved.specs_dir!r} (as `plan` was given it) is not found from here; "
            f"run from where the plan was made, or `{explicit}`"
        )
    return specs_dir


def _apply(
    specs_dir: Path,
    target: str | None,
    options: Any,
    progress: Any,
    auto_approve: bool,
    fmt: str,
    color: bool | None,
) -> NoReturn:
    from reconciler.engine.apply import ApplyHooks, run_apply

    allow_destructive, wait = options.allow_destructive, options.wait

    def confirm(the_plan: Any) -> bool:
        progress.pause()
        if auto_approve:
            return True
        if not sys.stdin.isatty():
            raise ReconcilerError("apply needs confirmation: run it in a terminal or pass --auto-approve")
        answer = click.prompt(
            f"Apply {len(the_plan.operations)} operation(s) to target '{the_plan.target}'? Type 'yes'",
            default="",
            show_default=False,
        )
        return bool(answer.strip() == "yes")

    outcome = run_apply(
        specs_dir,
        target,
        options,
        ApplyHooks(
            planned=lambda the_plan: (
                _emit_plan(the_plan, fmt, color, allow_destructive=allow_destructive) if fmt == "text" else None
            ),
            confirm=confirm,
            # JSON and Markdown are one document each, written once the wait (if any) is over and
            # its outcome known.
            applied=lambda the_plan, report: _emit_result(fmt, the_plan, report) if fmt == "text" else None,
            progress=progress,
            notice=lambda line: click.echo(line, err=True),
        ),
    )
    if outcome.cancelled:
        _fail("apply cancelled; nothing was changed")
    if outcome.report is None:
        _emit_result(fmt, outcome.plan, None)
        sys.exit(EXIT_OK)
    if fmt in ("json", "markdown"):
        _emit_result(fmt, outcome.plan, outcome.report, wait=(wait, outcome.wait_error))
    if outcome.wait_error is not None:
        click.echo(f"Error: the apply went through, but --wait failed: {outcome.wait_error}", err=True)
    elif outcome.waited and fmt == "text":
        click.echo("Ready.")
    sys.exit(EXIT_OK if outcome.ok else EXIT_ERROR)


@cli.command(
    epilog=exit_codes((EXIT_OK, "shown"), (EXIT_ERROR, "the file is missing, not a plan, or of another format_version"))
)
@click.argument("plan_file", metavar="PLANFILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True, help="Output format.")
@color_option
@_guard
def show(plan_file: Path, fmt: str, color: bool | None) -> None:
    """Show a plan saved by `plan --out`, as `plan` showed it (like `terraform show PLANFILE`).

    Reads only the file: nothing live is read or changed, no specs are needed. --format json
    prints the plan document itself, markdown the pull-request comment."""
    from reconciler.engine.apply import load_plan_file

    _emit_plan(load_plan_file(plan_file), fmt, color, title="saved plan")


@cli.command("force-unlock", epilog=exit_codes((EXIT_OK, "the lock was removed"), ERROR_CODE))
@click.argument("lock_id")
@specs_argument
@target_option
@_guard
def force_unlock(lock_id: str, specs_dir: Path, target: str | None) -> None:
    """Remove the target's apply lock LOCK_ID, when its holder is known to be gone.

    The id is the one a refused apply names ("reconciler force-unlock <id>"). Only that lock is
    removed: if another apply has taken the lock since, nothing changes."""
    from reconciler.engine.apply import force_unlock as remove_lock

    removed = remove_lock(specs_dir, target, lock_id)
    click.echo(f"Removed {removed.describe()}.")


def _emit_result(fmt: str, the_plan: Any, report: Any, wait: tuple[bool, str | None] = (False, None)) -> None:
    from reconciler.apply.applier import OpStatus

    if fmt == "json":
        from reconciler.contracts import APPLY_FORMAT_VERSION, tool

        applied: dict[str, Any] | None = report.to_dict() if report else None
        waited, wait_error = wait
        if applied is not None and waited:
            applied["wait"] = {"ok": wait_error is None, "error": wait_error}
            applied["ok"] = bool(applied["ok"]) and wait_error is None
        document = {"format_version": APPLY_FORMAT_VERSION, "tool": tool(), "plan": the_plan.to_dict()}
        click.echo(json.dumps({**document, "apply": applied}, indent=2, default=str))
        return
    if fmt == "markdown":
        from reconciler.apply.render_markdown import render_apply_markdown

        click.echo(render_apply_markdown(the_plan, report, wait_error=wait[1]), nl=False)
        return
    if report is None:
        return
    marks = {OpStatus.SUCCEEDED: "ok", OpStatus.FAILED: "FAILED", OpStatus.NOT_STARTED: "not started"}
    click.echo("")
    click.echo("Apply results:")
    for m in report.migrations:
        line = f"  [{marks[m.status]}] migrate {m.migration.address}: {m.migration.description}"
        click.echo(line + (f": {m.error}" if m.error else ""))
    for r in report.results:
        line = f"  [{marks[r.status]}] {r.operation.action.value} {r.operation.address}"
        click.echo(line + (f": {r.error}" if r.error else ""))
    done, failed, pending = (report.count(s) for s in (OpStatus.SUCCEEDED, OpStatus.FAILED, OpStatus.NOT_STARTED))
    if report.ok:
        click.echo(f"Apply complete: {done} operation(s) succeeded.")
    elif report.interrupted:
        click.echo(
            f"Apply INTERRUPTED by {report.interrupted}: {done} succeeded, {failed} failed, {pending} not started. "
            "Re-run `reconciler apply` to finish: it re-plans from the live state and converges.",
            err=True,
        )
    else:
        click.echo(
            f"Apply FAILED: {done} succeeded, {failed} failed, {pending} not started. "
            "Fix the cause and re-run `reconciler apply`: it re-plans from the live state and converges.",
            err=True,
        )


@cli.command(epilog=exit_codes((EXIT_OK, "no drift"), (EXIT_CHANGES, "drift found"), ERROR_CODE))
@specs_argument
@target_option
@format_option
@color_option
@click.option(
    "--only-out-of-band",
    is_flag=True,
    help="Report only objects changed outside reconciler (not spec changes waiting to be applied).",
)
@click.option("--pushgateway", metavar="URL", help="Also push drift gauges to this Prometheus Pushgateway.")
@click.option(
    "--textfile",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write drift gauges to this file (node-exporter's textfile collector).",
)
@select_options
@variable_options
@parallelism_option
@_guard
def drift(
    specs_dir: Path,
    target: str | None,
    fmt: str,
    color: bool | None,
    only_out_of_band: bool = False,
    pushgateway: str | None = None,
    textfile: Path | None = None,
    only: tuple[str, ...] = (),
    labels: tuple[str, ...] = (),
    cli_vars: tuple[str, ...] = (),
    var_files: tuple[Path, ...] = (),
    parallelism: int | None = None,
) -> None:
    """Read-only check for changes made behind git's back. Exit 2 when anything drifted.

    Each drifted object says why: changed outside reconciler (live is no longer what reconciler
    last applied) or spec changed, not applied yet."""
    from reconciler.drift_metrics import measured_drift
    from reconciler.plan.drift import render_drift_markdown, render_drift_text
    from reconciler.plan.render_text import console_for

    selection = _selection(only, labels)
    variables = _variables(cli_vars, var_files)
    report = measured_drift(
        specs_dir, target, only_out_of_band, pushgateway, textfile, selection, variables, parallelism
    )
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    elif fmt == "markdown":
        click.echo(render_drift_markdown(report), nl=False)
    else:
        render_drift_text(report, console_for(sys.stdout, color))
    sys.exit(EXIT_CHANGES if report.drifted else EXIT_OK)


@cli.command(name="import", epilog=exit_codes((EXIT_OK, "imported"), ERROR_CODE))
@click.argument("kind")
@click.argument("key")
@click.argument("specs_dir", default="specs", type=click.Path(file_okay=False, path_type=Path))
@target_option
@click.option(
    "--generate-specs",
    is_flag=True,
    help="Also write spec files (under SPECS_DIR) for what is imported; KEY may then be a glob, e.g. 'alerts/*' or '*'.",
)
@click.option(
    "--from-file",
    "from_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Convert an export file of the live system (Grafana's export / file-provisioning YAML or JSON) into specs; "
    "implies --generate-specs. What of it exists live is adopted.",
)
@click.option(
    "--expand-env",
    "expand_env",
    multiple=True,
    metavar="NAME",
    help="With --from-file: an environment variable the file may reference as $NAME or ${NAME}, expanded where "
    "Grafana's file provisioning expands it (not in annotations or query models; $$ is a literal $). Repeatable; "
    "'*' allows every variable. A reference to another variable, or to an unset one, is an error at its file:line.",
)
@click.option(
    "--allow-migrate",
    is_flag=True,
    help="First add reconciler's ownership columns to a policy table that lacks them (nullable; a table the SLA "
    "framework created), as `apply --allow-migrate` would.",
)
@_guard
def import_(
    kind: str,
    key: str,
    specs_dir: Path,
    target: str | None,
    generate_specs: bool,
    from_file: Path | None,
    expand_env: tuple[str, ...],
    allow_migrate: bool,
) -> None:
    """Adopt an existing live object that a spec declares (record ownership, nothing else).

    KIND is e.g. SlaPolicy or GrafanaRuleGroup, KEY its identity as shown by `plan` (a policy
    hash; FOLDER_UID/GROUP for a rule group). Only what a spec declares is adopted (of a rule
    group, the rules its spec lists), so the next plan never deletes an imported object; it shows
    the differences between the object and its spec. Grafana rules get an ownership annotation,
    which resets their evaluation state (the command says which rules, with their alerts). With
    --generate-specs the spec files are written first, so the next plan shows no changes.
    """
    from reconciler.engine.adopt import ImportRequest, run_import

    request = ImportRequest(
        kind, key, specs_dir, target, generate_specs, from_file, tuple(expand_env), allow_migrate=allow_migrate
    )
    run_import(request, click.echo)


@cli.command(
    epilog=exit_codes((EXIT_OK, "written, or up to date (--check)"), (EXIT_ERROR, "out of date (--check), or error"))
)
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("schemas"), show_default=True)
@click.option("--check", is_flag=True, help="Exit 1 if the files on disk differ from the models (for CI).")
@_guard
def schema(out_dir: Path, check: bool) -> None:
    """Write JSON Schemas of every spec kind and of reconciler.yaml (for editors)."""
    from reconciler.kinds.kind_registry import KINDS
    from reconciler.specs.schemas import generate_schemas

    files = generate_schemas(KINDS)
    stale = [
        name for name, text in files.items() if not (out_dir / name).exists() or (out_dir / name).read_text() != text
    ]
    if check:
        if stale:
            _fail(f"schemas out of date: {', '.join(stale)}; run `reconciler schema`")
        click.echo(f"Schemas up to date ({len(files)} files).")
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out_dir / name).write_text(text, encoding="utf-8")
    click.echo(f"Wrote {len(files)} schema file(s) to {out_dir}/.")


@cli.command(epilog=exit_codes((EXIT_OK, "printed"), (EXIT_ERROR, "unknown kind, or usage error")))
@click.argument("kind", required=False)
@_guard
def fields(kind: str | None) -> None:
    """Print each kind's field table: how a change applies (identity, update, replace), how it is read (server_owned, write_only, server_default) and compared (unordered, keyed_by, case_insensitive, empty_is_unset)."""
    from reconciler.kinds.kind_registry import KINDS

    if kind and kind not in KINDS:
        import difflib

        close = difflib.get_close_matches(kind, list(KINDS), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise ReconcilerError(f"unknown kind '{kind}' (known: {', '.join(KINDS)}){hint}")
    for k in KINDS.values():
        if kind and k.name != kind:
            continue
        click.echo(f"### {k.name}\n\n{k.fields.to_markdown()}\n")


@cli.command(epilog=exit_codes((EXIT_OK, "printed"), (EXIT_ERROR, "unknown shell, or usage error")))
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@_guard
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL (commands, options, kinds, file names).

    \b
    bash:  eval "$(reconciler completion bash)"   (e.g. in ~/.bashrc)
    zsh:   eval "$(reconciler completion zsh)"    (e.g. in ~/.zshrc)
    fish:  reconciler completion fish > ~/.config/fish/completions/reconciler.fish

    It is click's own completion (the `_RECONCILER_COMPLETE` protocol), so it always matches the
    installed version's commands and options."""
    from click.shell_completion import get_completion_class

    completion_class = get_completion_class(shell)
    assert completion_class is not None  # click ships all three shells the choice allows
    click.echo(completion_class(cli, {}, "reconciler", "_RECONCILER_COMPLETE").source())


@cli.group(cls=_Group, epilog=exit_codes((EXIT_OK, "success"), ERROR_CODE))
def sandbox() -> None:
    """The bundled local emulators of the Databricks and Grafana APIs."""


@sandbox.command(epilog=exit_codes((EXIT_OK, "stopped (Ctrl-C)"), ERROR_CODE))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(".reconciler/sandbox.db"),
    show_default=True,
    help="SQLite state file.",
)
@click.option(
    "--seed",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML file of the Unity Catalog schemas, tables (with columns) and SQL warehouses to serve, in place of the "
    "bundled sample (the format of an embedded target's sandbox_seed in reconciler.yaml).",
)
@click.option(
    "--monitor-delay", type=float, default=5.0, show_default=True, help="Seconds a new monitor stays PENDING."
)
@click.option("--latency-ms", type=float, default=0.0, show_default=True, help="Delay added to every API request.")
@click.option(
    "--fault-rate",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    show_default=True,
    help="Share of API requests answered 500/503/429 (reproducible with --fault-seed).",
)
@click.option("--fault-seed", type=int, default=0, show_default=True, help="Seed of the fault draw.")
@click.option(
    "--fault-mode",
    type=click.Choice(["before", "after", "mixed"]),
    default="before",
    show_default=True,
    help="before: fail without serving; after: serve (the write happens), then lose the answer.",
)
@_guard
def serve(
    host: str,
    port: int,
    state: Path,
    seed: Path | None,
    monitor_delay: float,
    latency_ms: float,
    fault_rate: float,
    fault_seed: int,
    fault_mode: str,
) -> None:
    """Serve the sandbox until interrupted. Point clients at the printed URL."""
    from reconciler.extras import require_extra

    require_extra("sandbox", "reconciler sandbox serve")
    from reconciler.sandbox import SandboxServer, SandboxSettings
    from reconciler.sandbox.faults import FaultSettings

    faults = FaultSettings(fault_rate=fault_rate, fault_seed=fault_seed, fault_mode=fault_mode, latency_ms=latency_ms)
    settings = SandboxSettings(monitor_active_delay_seconds=monitor_delay, seed_path=seed, faults=faults)
    server = SandboxServer(state, settings, host=host, port=port)
    click.echo(f"reconciler sandbox listening on {server.url} (state {state}); Ctrl-C to stop")
    click.echo(f"  Databricks: DATABRICKS_HOST={server.url} DATABRICKS_TOKEN=<any>")
    click.echo(f"  Grafana:    GRAFANA_URL={server.url} GRAFANA_TOKEN=<any> (Grafana 11 alerting provisioning API)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


def _register_ci() -> None:
    from reconciler.ci import ci

    cli.add_command(ci)


_register_ci()


def main() -> None:
    sys.stdout = cast(TextIO, _PipeSafe(sys.stdout))
    cli()
