"""`pepeunit pipelines ...`: check, simulate and print the schema of pipeline files."""

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TextIO

import click

from flows.pipelines.clock import parse_utc
from flows.pipelines.config import DEFAULT_MAX_PAYLOAD_SIZE
from flows.pipelines.files import PIPELINE_FILE_SUFFIXES, CheckReport, check_pipeline_files
from flows.pipelines.schema import render_schema
from flows.simulation.messages import MessageFileError, read_messages
from flows.simulation.output import rejected_to_json, row_to_json
from flows.simulation.runner import SimulationSetupError, simulate

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
    """Pipeline files: validate, try on recorded data, editor schema."""


def _print_report(report: CheckReport, output_format: str) -> None:
    for warning in report.warnings:
        click.echo(warning, err=True)
    if output_format == "json":
        for problem in report.errors:
            click.echo(json.dumps({"path": str(problem.path), **problem.issue.as_dict()}))
    else:
        for problem in report.errors:
            click.echo(str(problem))


@pipelines.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: `PATH: Stage.field: message` lines; json: one object per error.",
)
@max_payload_size_option
def check(paths: tuple[Path, ...], output_format: str, max_payload_size_kb: int) -> None:
    """Validate pipeline files (FILE or DIR, searched for *.yaml / *.yml). Changes nothing.

    Exits 0 when every file is valid, otherwise prints every error and exits 1.
    """
    report = check_pipeline_files(paths, max_payload_size=max_payload_size_kb * _KIB)
    checked = len({f.path for f in report.files} | {problem.path for problem in report.errors})
    if checked == 0:
        suffixes = " / ".join(f"*{suffix}" for suffix in PIPELINE_FILE_SUFFIXES)
        click.echo(f"error: no pipeline files ({suffixes}) found in the given paths", err=True)
        sys.exit(1)
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
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
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
    """Run recorded messages through PIPELINE files and print the rows a reader would see.

    Each output line is a JSON object with "table" (last_value, n_last_entry, window_entry or
    aggregation_entry) and the stored columns. With one pipeline file, "node" may be left out
    of the messages.
    """
    report = check_pipeline_files(
        pipeline_files, require_binding=False, max_payload_size=max_payload_size_kb * _KIB
    )
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
