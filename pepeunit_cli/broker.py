"""`pepeunit broker`: what an operator needs to wire an MQTT broker to the platform."""

import logging
from pathlib import Path

import click


@click.group()
def broker() -> None:
    """MQTT broker integration: the Mosquitto ACL file and the platform's broker login."""


@broker.command()
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the ACL (default: PU_MOSQUITTO_ACL_FILE).",
)
def acl(path: Path | None) -> None:
    """Write the Mosquitto ACL file for the current units, and reload the broker if it changed.

    The API keeps the file in step by itself once PU_MOSQUITTO_ACL_FILE is set; this writes it
    once, e.g. before Mosquitto's first start. The broker is reloaded through
    PU_MOSQUITTO_RELOAD_COMMAND or a SIGHUP to the pid in PU_MOSQUITTO_PID_FILE, when set.
    """
    from control_plane.services.mosquitto_acl import MosquittoAclError, sync_mosquitto_acl
    from pepeunit_core.db.engine import make_engine
    from pepeunit_core.settings import Settings

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings()
    target = path or settings.mosquitto_acl_file
    if target is None:
        raise click.UsageError("give --file or set PU_MOSQUITTO_ACL_FILE")
    engine = make_engine(settings.resolved_sqlalchemy_url)
    try:
        result = sync_mosquitto_acl(settings, engine, target)
    except MosquittoAclError as error:
        raise click.ClickException(str(error)) from None
    finally:
        engine.dispose()
    if not result.changed:
        state = "unchanged"
    elif result.reloaded:
        state = "written, broker reloaded"
    else:
        state = "written (no reload configured)"
    click.echo(f"{result.path}: {result.units} units, {state}")


@broker.command()
def token() -> None:
    """Print the Backend token of PU_DOMAIN: the MQTT username (PU_MQTT_USERNAME) of the
    platform's own processes, which may use every topic. Keep it secret."""
    from control_plane.security import make_backend_token
    from pepeunit_core.settings import Settings

    settings = Settings()
    click.echo(make_backend_token(settings.domain, settings.resolved_secret_key))
