"""Thermometer: a unit that publishes a simulated room temperature.

A model of a unit program written with the device SDK (`pepeunit_sdk`). The platform makes
`env.json` (settings, the unit's token, broker and API addresses) and `schema.json` (its MQTT
topics) for every unit created from this repository; the program reads both through the
client and leaves the platform's commands (Update, EnvUpdate, SchemaUpdate, LogSync) to the
library. Run it with `python main.py` next to those two files.
"""

import math
import random
import signal
import time
from pathlib import Path

from pepeunit_sdk import PepeunitClient

HERE = Path(__file__).resolve().parent
TEMPERATURE_TOPIC = "temperature/pepeunit"


class Room:
    """A room whose temperature swings slowly around a base value, read with some noise.

    The swing starts at its lowest point, so a heater listening to this unit has something
    to do at once.
    """

    def __init__(self) -> None:
        self._started_at = time.monotonic()

    def temperature(self, client: PepeunitClient) -> float:
        settings = client.settings
        elapsed = time.monotonic() - self._started_at
        phase = 2 * math.pi * elapsed / float(settings.SWING_PERIOD)
        swing = -float(settings.SWING) * math.cos(phase)
        return float(settings.BASE_TEMPERATURE) + swing + random.gauss(0, float(settings.NOISE))


class TemperaturePublisher:
    """The output function of the main cycle: a reading every PUBLISH_INTERVAL seconds."""

    def __init__(self, room: Room) -> None:
        self._room = room
        self._next_at = 0.0

    def __call__(self, client: PepeunitClient) -> None:
        now = time.monotonic()
        if now < self._next_at:
            return
        self._next_at = now + float(client.settings.PUBLISH_INTERVAL)
        client.publish_to_topics(TEMPERATURE_TOPIC, f"{self._room.temperature(client):.2f}")


def main() -> None:
    with PepeunitClient(
        HERE / "env.json",
        HERE / "schema.json",
        HERE / "log.json",
        enable_mqtt=True,
        enable_rest=True,
    ) as client:
        signal.signal(signal.SIGTERM, lambda _signal, _frame: client.stop_main_cycle())
        client.connect()
        client.subscribe_all_schema_topics()
        client.logger.info(f"thermometer started at version {client.settings.PU_COMMIT_VERSION}")
        client.run_main_cycle(TemperaturePublisher(Room()))
        client.logger.info("thermometer stopped")


if __name__ == "__main__":
    main()
