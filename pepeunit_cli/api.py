"""`pepeunit api`: the control plane's HTTP API."""

import contextlib
import logging
import socket
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from pepeunit_core.settings import Settings

# The reference backend listens on 5000 behind nginx (`/pepeunit` -> backend:5000).
DEFAULT_PORT = 5000


@click.command()
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes.",
)
@click.option(
    "--no-migrate", is_flag=True, help="Do not apply SQL and ClickHouse migrations at start."
)
def api(host: str, port: int, workers: int, no_migrate: bool) -> None:
    """Serve the REST API under PU_APP_PREFIX + PU_API_V1_PREFIX (/pepeunit/api/v1).

    Settings come from PU_ environment variables (PU_DOMAIN, PU_SQLALCHEMY_DATABASE_URL,
    PU_SECRET_KEY, PU_ENCRYPT_KEY, PU_DATA_DIR, ...). Docs: /pepeunit/docs.
    """
    # Imported here: FastAPI, SQLAlchemy and the models take a while to load.
    import uvicorn

    from pepeunit_core.migrate import migrate_clickhouse, migrate_sql
    from pepeunit_core.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Generated keys are created here, once, before workers start and could race to do it.
    _ = settings.resolved_secret_key, settings.resolved_encrypt_key
    if not no_migrate:
        migrate_sql(settings.resolved_sqlalchemy_url)
        # Before the workers start: chdb lets one process at a time open its directory.
        migrate_clickhouse(settings.resolved_clickhouse_url)
    if settings.mosquitto_acl_file is not None:
        _write_mosquitto_acl(settings)
    app = "control_plane.app:create_app_from_environment"
    if workers == 1:
        uvicorn.run(app, factory=True, host=host, port=port)
        return
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(app, factory=True, host=host, port=port, workers=workers)
    # uvicorn's own socket for workers has protocol 0, so asyncio leaves Nagle's algorithm on
    # for its connections and every keep-alive response waits ~40 ms for a delayed ACK.
    listening = tcp_listening_socket(host, port)
    logging.getLogger("pepeunit.api").info(
        "listening on http://%s:%d with %d workers", host, listening.getsockname()[1], workers
    )
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[listening]).run()


def tcp_listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket for worker processes to share, created with IPPROTO_TCP so that
    asyncio sets TCP_NODELAY on the connections it accepts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as error:
        listening.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {error}") from error
    listening.set_inheritable(True)
    return listening


def _write_mosquitto_acl(settings: "Settings") -> None:
    """Changes made while the API was down (a restored database, ...) reach the broker now."""
    from control_plane.services.broker.mosquitto_acl import MosquittoAclError, sync_mosquitto_acl
    from pepeunit_core.db.engine import make_engine

    engine = make_engine(settings.resolved_sqlalchemy_url)
    try:
        sync_mosquitto_acl(settings, engine)
    except MosquittoAclError as error:
        logging.getLogger("pepeunit.api").error("Mosquitto ACL not written: %s", error)
    finally:
        engine.dispose()
