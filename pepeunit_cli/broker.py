"""`pepeunit broker`: what an operator needs to wire an MQTT broker to the platform."""

import logging
from pathlib import Path

import click


@click.group()
def broker() -> None:
    """MQTT broker integration: the Mosquitto configuration and ACL file, and the platform's
    broker login."""


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
    from control_plane.services.broker.mosquitto_acl import MosquittoAclError, sync_mosquitto_acl
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


@broker.command("mosquitto-conf")
@click.option(
    "--acl-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The ACL file Mosquitto reads (default: PU_MOSQUITTO_ACL_FILE).",
)
@click.option("--listen-host", default="0.0.0.0", show_default=True, help="Listener address.")
@click.option("--listen-port", type=int, default=1883, show_default=True, help="Listener port.")
@click.option(
    "--pid-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Mosquitto's pid_file (default: PU_MOSQUITTO_PID_FILE, else none).",
)
@click.option(
    "--persistence-location",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where Mosquitto keeps its sessions (default: Mosquitto's own).",
)
@click.option("--log-dest", default=None, help="e.g. 'file /var/log/mosquitto/mosquitto.log'.")
def mosquitto_conf(
    acl_file: Path | None,
    listen_host: str,
    listen_port: int,
    pid_file: Path | None,
    persistence_location: Path | None,
    log_dest: str | None,
) -> None:
    """Print a mosquitto.conf for Pepeunit: the ACL file, persistent sessions, no unit tokens
    in the logs."""
    from control_plane.services.broker.mosquitto_conf import (
        MosquittoConf,
        MosquittoConfError,
        render_mosquitto_conf,
    )
    from pepeunit_core.settings import Settings

    settings = Settings()
    acl_file = acl_file or settings.mosquitto_acl_file
    if acl_file is None:
        raise click.UsageError("give --acl-file or set PU_MOSQUITTO_ACL_FILE")
    conf = MosquittoConf(
        acl_file=acl_file,
        listen_host=listen_host,
        listen_port=listen_port,
        pid_file=pid_file or settings.mosquitto_pid_file,
        persistence_location=persistence_location,
        log_dest=log_dest,
    )
    try:
        click.echo(render_mosquitto_conf(conf), nl=False)
    except MosquittoConfError as error:
        raise click.UsageError(str(error)) from None
