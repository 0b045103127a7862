"""Heater: a unit that switches a (simulated) heater by the temperature on its input.

A model of a unit program written with the device SDK (`pepeunit_sdk`) that reacts to what it
receives. Its input `temperature/pepeunit` is fed by the platform: an edge from another unit's
output (the thermometer's) makes the platform pass every value published there on to this
unit's input topic. It heats below TARGET_TEMPERATURE - HYSTERESIS, stops above
TARGET_TEMPERATURE + HYSTERESIS, logs each switch and publishes "on" or "off" on its output
`heating/pepeunit` for every temperature it receives. Run it with `python main.py` next to
env.json and schema.json.
"""

import signal
from pathlib import Path

from pepeunit_sdk import MqttMessage, PepeunitClient

HERE = Path(__file__).resolve().parent
TEMPERATURE_TOPIC = "temperature/pepeunit"
HEATING_TOPIC = "heating/pepeunit"


class Thermostat:
    """The input handler: a two-point controller with a dead band around the target."""

    def __init__(self) -> None:
        self.heating: bool | None = None  # not decided yet

    def __call__(self, client: PepeunitClient, message: MqttMessage) -> None:
        if message.topic not in client.schema.input_topic.get(TEMPERATURE_TOPIC, []):
            return  # one of the platform's commands, which the library has served already
        try:
            temperature = float(message.payload)
        except ValueError:
            client.logger.warning(f"not a temperature: {message.payload!r}")
            return
        target = float(client.settings.TARGET_TEMPERATURE)
        hysteresis = float(client.settings.HYSTERESIS)
        heating = bool(self.heating)
        if temperature < target - hysteresis:
            heating = True
        elif temperature > target + hysteresis:
            heating = False
        state = "on" if heating else "off"
        if heating != self.heating:
            client.logger.info(
                f"heating {state} at {temperature:.2f} °C (target {target:.1f} ± {hysteresis:.1f})"
            )
        self.heating = heating
        client.publish_to_topics(HEATING_TOPIC, state)


def main() -> None:
    with PepeunitClient(
        HERE / "env.json",
        HERE / "schema.json",
        HERE / "log.json",
        enable_mqtt=True,
        enable_rest=True,
    ) as client:
        signal.signal(signal.SIGTERM, lambda _signal, _frame: client.stop_main_cycle())
        client.set_input_message_handler(Thermostat())
        client.connect()
        client.subscribe_all_schema_topics()
        client.logger.info(f"heater started at version {client.settings.PU_COMMIT_VERSION}")
        client.run_main_cycle()
        client.logger.info("heater stopped")


if __name__ == "__main__":
    main()
