"""`pepeunit flow`: the streaming data plane."""

import logging

import click


@click.command()
@click.option(
    "--process-id",
    "-i",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="This process's index in the cluster.",
)
@click.option(
    "--addresses",
    "-a",
    default="",
    help="host:port of every flow process, separated by ';' (empty: a single process).",
)
@click.option("--no-migrate", is_flag=True, help="Do not apply database migrations at start.")
def flow(process_id: int, addresses: str, no_migrate: bool) -> None:
    """Run the dataflow: MQTT node topics through the pipelines into storage.

    Settings come from PU_ environment variables (PU_DOMAIN, PU_MQTT_HOST, PU_MQTT_PORT,
    PU_SQLALCHEMY_DATABASE_URL, PU_CLICKHOUSE_DATABASE_URL, PU_DATA_DIR, PU_FLOW_*).
    Stops cleanly on SIGTERM or Ctrl-C.
    """
    # Imported here: the dataflow stack (bytewax, chdb) takes a second or two to load.
    from flows.runner import ClusterPlacement, run_flow
    from pepeunit_core.settings import Settings

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    cluster = tuple(address for address in addresses.split(";") if address)
    if cluster and process_id >= len(cluster):
        raise click.BadParameter(f"must be below the {len(cluster)} addresses", param_hint="-i")
    run_flow(Settings(), ClusterPlacement(process_id, cluster), migrate=not no_migrate)
