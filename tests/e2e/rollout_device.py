"""A device program for the rollout end-to-end test (tests/e2e/test_rollout_devices.py): the
SDK's main cycle, which reports state every PU_STATE_SEND_INTERVAL s and installs an Update by
re-running itself. The test commits it as main.py once per version; the bad version has
`BROKEN = True` and logs an error on every cycle, as a program whose sensor reads fail would.
"""

from pathlib import Path

from pepeunit_sdk import PepeunitClient

BROKEN = False
HERE = Path(__file__).resolve().parent


def cycle(client: PepeunitClient) -> None:
    if BROKEN:
        client.logger.error("sensor read failed")


def main() -> None:
    client = PepeunitClient(
        HERE / "env.json",
        HERE / "schema.json",
        HERE / "log.json",
        enable_mqtt=True,
        enable_rest=True,
        cycle_interval=0.5,
    )
    client.connect()
    client.subscribe_all_schema_topics()
    client.logger.info(f"started {client.settings.PU_COMMIT_VERSION}")
    client.run_main_cycle(cycle)


if __name__ == "__main__":
    main()
