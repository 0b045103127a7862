"""`pepeunit api`: the control plane's HTTP API."""

import logging
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
@click.option("--no-migrate", is_flag=True, help="Do not apply SQL migrations at start.")
def api(host: str, port: int, workers: int, no_migrate: bool) -> None:
    """Serve the REST API under PU_APP_PREFIX + PU_API_V1_PREFIX (/pepeunit/api/v1).

    Settings come from PU_ environment variables (PU_DOMAIN, PU_SQLALCHEMY_DATABASE_URL,
    PU_SECRET_KEY, PU_ENCRYPT_KEY, PU_DATA_DIR, ...). Docs: /pepeunit/docs.
    """
    # Imported here: FastAPI, SQLAlchemy and the models take a while to load.
    import uvicorn

    from pepeunit_core.migrate import migrate_sql
    from pepeunit_core.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Generated keys are created here, once, before workers start and could race to do it.
    _ = settings.resolved_secret_key, settings.resolved_encrypt_key
    if not no_migrate:
        migrate_sql(settings.resolved_sqlalchemy_url)
    if settings.mosquitto_acl_file is not None:
        _write_mosquitto_acl(settings)
    uvicorn.run(
        "control_plane.app:create_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
    )


def _write_mosquitto_acl(settings: "Settings") -> None:
    """Changes made while the API was down (a restored database, ...) reach the broker now."""
    from control_plane.services.mosquitto_acl import MosquittoAclError, sync_mosquitto_acl
    from pepeunit_core.db.engine import make_engine

    engine = make_engine(settings.resolved_sqlalchemy_url)
    try:
        sync_mosquitto_acl(settings, engine)
    except MosquittoAclError as error:
        logging.getLogger("pepeunit.api").error("Mosquitto ACL not written: %s", error)
    finally:
        engine.dispose()
