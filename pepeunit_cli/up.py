"""`pepeunit up`: the whole platform in one command."""

import logging

import click

DEFAULT_PORT = 5000


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the API listens on.")
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True)
@click.option(
    "--external-broker",
    is_flag=True,
    help="Use the broker at PU_MQTT_HOST:PU_MQTT_PORT instead of starting the embedded one "
    "(implied when PU_MQTT_HOST is set).",
)
def up(host: str, port: int, external_broker: bool) -> None:
    """Start the API, the dataflow and an MQTT broker in one process.

    Embedded defaults: SQLite and chdb under PU_DATA_DIR (./pepeunit-data) and the embedded
    amqtt broker. PU_SQLALCHEMY_DATABASE_URL, PU_CLICKHOUSE_DATABASE_URL and PU_MQTT_HOST
    switch to PostgreSQL, a ClickHouse server and a running broker. Ctrl-C or SIGTERM stops
    everything cleanly.

    \b
    Ports (each is checked before anything starts):
      5000  the API, docs and web pages (--port)
      1883  MQTT, the embedded broker (PU_MQTT_PORT)
      9108  the dataflow's metrics (PU_FLOW_METRICS_PORT, 0: off), on the API's
            address unless PU_FLOW_METRICS_HOST is set
    """
    from pepeunit_cli.platform import PlatformStartError, UpOptions, run_platform
    from pepeunit_core.settings import Settings

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = Settings()
    embedded = not external_broker and "mqtt_host" not in settings.model_fields_set
    try:
        run_platform(settings, UpOptions(host, port, embedded))
    except PlatformStartError as error:
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:
        pass  # the platform has stopped cleanly; uvicorn re-raises the Ctrl-C it handled
