"""`pepeunit user export|import`: one user's data as an archive, and back on another instance
(docs/user-export.md). Like `pepeunit backup`, they use the instance's stores directly
(PU_ settings); over HTTP the same is `GET /users/export` and `POST /users/import`."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import click
from clickhouse_connect.driver.client import Client
from sqlalchemy import select
from sqlalchemy.orm import Session

from pepeunit_core.settings import Settings


@click.group()
def user() -> None:
    """One user's data: export it to an archive, import an archive under a user."""


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@contextmanager
def _stores(settings: Settings) -> Iterator[tuple[Session, Client]]:
    from pepeunit_core.backup import StoreUnavailableError
    from pepeunit_core.backup.clickhouse_tables import open_clickhouse
    from pepeunit_core.db.engine import make_engine, make_session_factory

    if not settings.sqlalchemy_database_url and not settings.default_sqlite_path.exists():
        # checked first: opening the stores would create the data dir and empty databases
        _fail(
            f"no instance in {settings.data_dir} (PU_DATA_DIR): it holds no pepeunit.sqlite; "
            "`pepeunit migrate` or `pepeunit up` creates one, or set PU_SQLALCHEMY_DATABASE_URL"
        )
    try:
        client = open_clickhouse(settings.resolved_clickhouse_url)
    except StoreUnavailableError as error:
        _fail(str(error))
    engine = make_engine(settings.resolved_sqlalchemy_url)
    try:
        with make_session_factory(engine)() as session:
            yield session, client
    finally:
        engine.dispose()
        client.close()


def _user(session: Session, login: str):  # noqa: ANN202 - a User row
    from sqlalchemy.exc import DBAPIError

    from pepeunit_core.db.models import User

    try:
        found = session.scalars(select(User).where(User.login == login)).one_or_none()
    except DBAPIError as error:
        database = session.get_bind().url.render_as_string(hide_password=True)
        _fail(
            f"cannot read the users of {database}: {error.orig}; is it this instance's "
            "database (PU_DATA_DIR, PU_SQLALCHEMY_DATABASE_URL)? `pepeunit migrate` creates it"
        )
    if found is None:
        _fail(f"no user with the login {login!r}")
    return found


@user.command(name="export")
@click.argument("login")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The archive to write [default: pepeunit-export-<login>-<UTC time>.tar here].",
)
@click.option(
    "--include-secrets",
    is_flag=True,
    help="Also the units' env (their keys and your values) and state storage.",
)
def export_command(login: str, output: Path | None, include_secrets: bool) -> None:
    """Write an archive of what the user LOGIN owns (see GET /users/export)."""
    from control_plane.services.errors import ServiceError
    from control_plane.services.user_export import export_file_name, export_user
    from pepeunit_core.crypto import Cipher

    settings = Settings()
    with _stores(settings) as (session, client):
        owner = _user(session, login)
        target = output or Path(export_file_name(owner, datetime.now(UTC)))
        cipher = Cipher(settings.resolved_encrypt_key)
        try:
            manifest = export_user(
                session, settings, cipher, client, owner, target, include_secrets=include_secrets
            )
        except ServiceError as error:
            _fail(error.message)
    counts = ", ".join(f"{count} {name}" for name, count in manifest.counts.items())
    click.echo(f"{target}: {counts}")


@user.command(name="import")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "login", required=True, help="The user (login) the data will belong to.")
def import_command(archive: Path, login: str) -> None:
    """Recreate ARCHIVE (made by `pepeunit user export` or GET /users/export) under the user
    LOGIN, with new uuids. Everything is checked first; a refused archive changes nothing."""
    from control_plane.services.errors import ServiceError
    from control_plane.services.user_export import import_user
    from pepeunit_core.crypto import Cipher

    settings = Settings()
    with _stores(settings) as (session, client):
        owner = _user(session, login)
        cipher = Cipher(settings.resolved_encrypt_key)
        try:
            report = import_user(session, settings, cipher, client, owner, archive)
        except ServiceError as error:
            _fail(f"{archive} was not imported: {error.message}")
    counts = ", ".join(f"{count} {name}" for name, count in report.counts.items())
    click.echo(f"imported {archive} as {login}: {counts}, {report.rows} stored rows")
