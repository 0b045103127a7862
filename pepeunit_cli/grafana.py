"""`pepeunit grafana ...`: Grafana provisioning generated from the active pipelines."""

import sys
from pathlib import Path

import click

DIALECT_CHOICES = ("auto", "postgresql", "sqlite")


@click.group()
def grafana() -> None:
    """Grafana dashboards and data sources for the pipelines' data."""


@grafana.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--sql-dialect",
    type=click.Choice(DIALECT_CHOICES),
    default="auto",
    show_default=True,
    help="Database Grafana reads LastValue from (auto: that of PU_SQLALCHEMY_DATABASE_URL).",
)
@click.option(
    "--dashboards-path",
    default=None,
    help="Where Grafana sees DIRECTORY/dashboards/pepeunit "
    "[default: /etc/grafana/provisioning/dashboards/pepeunit].",
)
@click.option(
    "--push",
    is_flag=True,
    help="Also save the dashboards through Grafana's HTTP API (PU_GRAFANA_URL, PU_GRAFANA_TOKEN).",
)
def generate(directory: Path, sql_dialect: str, dashboards_path: str | None, push: bool) -> None:
    """Write Grafana's provisioning layout into DIRECTORY from the active pipelines.

    DIRECTORY gets datasources/pepeunit.yaml (ClickHouse and the SQL database, connection
    details as ${PEPEUNIT_...} variables of Grafana's environment), dashboards/pepeunit.yaml (a
    file provider) and dashboards/pepeunit/<unit>.json, one dashboard per unit with a panel per
    pipeline node. Generating again gives the same files. Reads PU_SQLALCHEMY_DATABASE_URL.
    """
    # Imported here, as the other commands do: the models take a while to load.
    from pepeunit_cli.pipelines import _database_session, _fail
    from pepeunit_core.settings import Settings
    from pepeunit_grafana import (
        GrafanaPushError,
        SqlDialect,
        build_dashboards,
        push_dashboards,
        read_inventory,
        sql_dialect_of_url,
        write_provisioning,
    )
    from pepeunit_grafana.provisioning import DEFAULT_GRAFANA_DASHBOARDS_PATH

    settings = Settings()
    if push and not (settings.grafana_url and settings.grafana_token):
        _fail("--push needs PU_GRAFANA_URL and PU_GRAFANA_TOKEN")
    if sql_dialect == "auto":
        try:
            dialect = sql_dialect_of_url(settings.resolved_sqlalchemy_url)
        except ValueError as error:
            _fail(str(error))
    else:
        dialect = SqlDialect(sql_dialect)
    with _database_session() as session:
        inventory = read_inventory(session)
    for skipped in inventory.skipped:
        click.echo(f"warning: no panel for {skipped}", err=True)
    dashboards = build_dashboards(inventory, dialect)
    try:
        report = write_provisioning(
            directory, dashboards, dialect, dashboards_path or DEFAULT_GRAFANA_DASHBOARDS_PATH
        )
    except OSError as error:
        _fail(f"cannot write the provisioning files: {error}")
    for path in report.written:
        click.echo(str(path))
    for path in report.removed:
        click.echo(f"removed {path}")
    panels = sum(len(unit.nodes) for unit in inventory.units)
    click.echo(
        f"{len(dashboards)} dashboard(s), {panels} panel(s) written to {directory}", err=True
    )
    if not push:
        return
    assert settings.grafana_url is not None and settings.grafana_token is not None
    try:
        pushed = push_dashboards(settings.grafana_url, settings.grafana_token, dashboards)
    except GrafanaPushError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    for saved in pushed:
        click.echo(f"pushed {saved.uid} {saved.url}")
    click.echo(f"{len(pushed)} dashboard(s) saved in Grafana", err=True)
