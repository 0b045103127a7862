"""`pepeunit pipelines ...`: check, simulate, apply and export pipeline files, print the schema."""

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import NoReturn, TextIO

import click
from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.pipeline_store import (
    ApplyReport,
    ChangeKind,
    NodeChange,
    StoredConfigError,
    apply_pipeline_files,
    export_pipeline_files,
)
from pepeunit_core.settings import Settings
from pipelines.clock import parse_utc
from pipelines.config import DEFAULT_MAX_PAYLOAD_SIZE
from pipelines.files import PIPELINE_FILE_SUFFIXES, CheckReport, check_pipeline_files
from pipelines.schema import render_schema
from pipelines.simulation.messages import MessageFileError, read_messages
from pipelines.simulation.output import rejected_to_json, row_to_json
from pipelines.simulation.runner import SimulationSetupError, simulate

_KIB = 1024

max_payload_size_option = click.option(
    "--max-payload-size",
    "max_payload_size_kb",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_PAYLOAD_SIZE // _KIB,
    show_default=True,
    envvar="PU_MQTT_MAX_PAYLOAD_SIZE",
    help="Largest MQTT payload in KB; `filters.max_size` may not exceed it.",
)


@click.group()
def pipelines() -> None:
    """Pipeline files: validate, try on recorded data, apply, export, editor schema."""


def _print_report(report: CheckReport, output_format: str) -> None:
    for warning in report.warnings:
        click.echo(warning, err=True)
    if output_format == "json":
        for problem in report.errors:
            click.echo(json.dumps(problem.as_dict()))
    else:
        for problem in report.errors:
            click.echo(str(problem))


def _count_checked_files(report: CheckReport) -> int:
    """How many files the report covers; exits with an error when the paths held none."""
    checked = len({f.path for f in report.files} | {problem.path for problem in report.errors})
    if checked == 0:
        suffixes = " / ".join(f"*{suffix}" for suffix in PIPELINE_FILE_SUFFIXES)
        click.echo(f"error: no pipeline files ({suffixes}) found in the given paths", err=True)
        sys.exit(1)
    return checked


@pipelines.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: `PATH:LINE: Stage.field: message` lines; json: one object per error.",
)
@max_payload_size_option
def check(paths: tuple[Path, ...], output_format: str, max_payload_size_kb: int) -> None:
    """Validate pipeline files (FILE or DIR, searched for *.yaml / *.yml). Changes nothing.

    Exits 0 when every file is valid, otherwise prints every error and exits 1.
    """
    report = check_pipeline_files(paths, max_payload_size=max_payload_size_kb * _KIB)
    checked = _count_checked_files(report)
    _print_report(report, output_format)
    if not report.ok:
        invalid = len({problem.path for problem in report.errors})
        click.echo(f"{len(report.errors)} error(s) in {invalid} of {checked} file(s)", err=True)
        sys.exit(1)
    click.echo(f"{checked} pipeline file(s) valid", err=True)


def _parse_now(
    _context: click.Context, _parameter: click.Parameter, value: str | None
) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_utc(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@pipelines.command(name="simulate")
@click.argument(
    "pipeline_files",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, path_type=Path),
)
@click.option(
    "--input",
    "messages_file",
    required=True,
    type=click.File("r", encoding="utf-8"),
    help='JSON lines {"t": ISO-8601 UTC, "payload": raw text, "node": uuid}; - for stdin.',
)
@click.option(
    "--now",
    callback=_parse_now,
    help="Time at which TimeWindow expiry is judged (default: the last message time).",
)
@click.option("--rejected", "show_rejected", is_flag=True, help="Also print rejected messages.")
@max_payload_size_option
def simulate_command(
    pipeline_files: tuple[Path, ...],
    messages_file: TextIO,
    now: datetime | None,
    show_rejected: bool,
    max_payload_size_kb: int,
) -> None:
    """Run recorded messages through PIPELINE files (FILE or DIR, searched for *.yaml / *.yml)
    and print the rows a reader would see.

    Each output line is a JSON object with "table" (last_value, n_last_entry, window_entry or
    aggregation_entry) and the stored columns. With one pipeline file, "node" may be left out
    of the messages.
    """
    report = check_pipeline_files(
        pipeline_files, require_binding=False, max_payload_size=max_payload_size_kb * _KIB
    )
    _count_checked_files(report)
    _print_report(report, "text")
    if not report.ok:
        sys.exit(1)
    try:
        result = simulate(report.files, read_messages(messages_file), now)
    except (MessageFileError, SimulationSetupError) as error:
        click.echo(f"error: {messages_file.name}: {error}", err=True)
        sys.exit(1)
    if show_rejected:
        for rejected in result.rejected:
            click.echo(rejected_to_json(rejected))
    for row in result.rows:
        click.echo(row_to_json(row))
    for event in result.alerts:
        click.echo(row_to_json(event))
    click.echo(
        f"{result.accepted_count + len(result.rejected)} message(s): "
        f"{result.accepted_count} accepted, {len(result.rejected)} rejected; "
        f"{len(result.rows)} row(s) visible",
        err=True,
    )


@pipelines.command()
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file instead of standard output.",
)
def schema(output: Path | None) -> None:
    """Print the JSON Schema of pipeline files (for editors and other tools)."""
    text = render_schema()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


_MIGRATION_HINT = "run the database migrations first: pepeunit migrate"
_REQUIRED_TABLES = ("units", "units_nodes", "dataflow_config_version")


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _describe(error: SQLAlchemyError) -> str:
    cause = error.orig if isinstance(error, DBAPIError) else error
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


def _open_database(url: str) -> Engine:
    """An engine for an existing, migrated database; exits with a clear error otherwise."""
    try:
        parsed = make_url(url)
    except SQLAlchemyError as error:
        _fail(f"PU_SQLALCHEMY_DATABASE_URL is not a database URL: {_describe(error)}")
    shown = parsed.render_as_string(hide_password=True)
    sqlite_file = parsed.database if parsed.get_backend_name() == "sqlite" else None
    # Connecting would create a missing SQLite file, and apply and export migrate nothing.
    if sqlite_file and sqlite_file != ":memory:" and not Path(sqlite_file).exists():
        _fail(f"the SQLite database {sqlite_file} does not exist: {_MIGRATION_HINT}")
    try:
        engine = make_engine(url)
        inspector = inspect(engine)
        missing = [table for table in _REQUIRED_TABLES if not inspector.has_table(table)]
    except SQLAlchemyError as error:
        _fail(f"cannot use the database {shown}: {_describe(error)}")
    if missing:
        engine.dispose()
        _fail(f"the database {shown} lacks the table(s) {', '.join(missing)}: {_MIGRATION_HINT}")
    return engine


@contextmanager
def _database_session() -> Iterator[Session]:
    """A session on `PU_SQLALCHEMY_DATABASE_URL`; nothing is kept unless the caller commits."""
    engine = _open_database(Settings().resolved_sqlalchemy_url)
    try:
        with make_session_factory(engine)() as session:
            yield session
    except SQLAlchemyError as error:
        _fail(f"database error: {_describe(error)}")
    finally:
        engine.dispose()


def _change_line(change: NodeChange) -> str:
    line = f"{change.kind:<11} {change.unit_name}/{change.topic_name} ({change.node_uuid})"
    return f"{line} from {change.path}" if change.path is not None else line


def _apply_summary(result: ApplyReport, dry_run: bool) -> str:
    counts = ", ".join(f"{result.count(kind)} {kind}" for kind in ChangeKind)
    if dry_run:
        return f"{counts}; dry run: rolled back, nothing was changed"
    if result.config_version is None:
        return f"{counts}; nothing to change"
    return f"{counts}; dataflow config version {result.config_version}"


@pipelines.command(name="apply")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--prune",
    is_flag=True,
    help="Also deactivate every active pipeline that no file binds (its config is kept).",
)
@click.option("--dry-run", is_flag=True, help="Print what would change, then roll back.")
@max_payload_size_option
def apply_command(
    paths: tuple[Path, ...], prune: bool, dry_run: bool, max_payload_size_kb: int
) -> None:
    """Make pipeline files (FILE or DIR) the pipelines of their nodes, in one transaction.

    Validates every file first, then resolves every binding; on any error prints them all as
    `PATH: Stage.field: message`, changes nothing and exits 1. Uses PU_SQLALCHEMY_DATABASE_URL
    (default: the SQLite file under PU_DATA_DIR) and migrates nothing.
    """
    report = check_pipeline_files(paths, max_payload_size=max_payload_size_kb * _KIB)
    _print_report(report, "text")
    if not report.ok:
        invalid = len({problem.path for problem in report.errors})
        _fail(f"{len(report.errors)} error(s) in {invalid} file(s); nothing was applied")
    if not report.files:
        suffixes = " / ".join(f"*{suffix}" for suffix in PIPELINE_FILE_SUFFIXES)
        _fail(f"no pipeline files ({suffixes}) found in the given paths")
    with _database_session() as session:
        result = apply_pipeline_files(session, report.files, prune=prune)
        if not result.ok:
            for problem in result.errors:
                click.echo(str(problem))
            _fail(f"{len(result.errors)} binding error(s); nothing was applied")
        if not dry_run:
            session.commit()
    for change in result.changes:
        click.echo(_change_line(change))
    click.echo(_apply_summary(result, dry_run), err=True)


@pipelines.command(name="export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export_command(directory: Path) -> None:
    """Write every active pipeline into DIRECTORY as `<unit>/<topic>.yaml` and print the paths.

    Files at the same paths are overwritten; other files in DIRECTORY are left alone.
    """
    with _database_session() as session:
        try:
            written = export_pipeline_files(session, directory)
        except StoredConfigError as error:
            _fail(f"{error}; nothing was exported")
        except OSError as error:
            _fail(f"cannot write the pipeline files: {error}")
    for path in written:
        click.echo(str(path))
    click.echo(f"{len(written)} pipeline file(s) written to {directory}", err=True)
