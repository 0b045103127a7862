"""A unit's program as its repository holds it (main.py): publishes its version and greeting
on value/pepeunit and answers `ping` on command/pepeunit. The SDK tests commit it as v1, and
with VERSION changed as v2, then watch a running unit move from one to the other."""

from pathlib import Path

from pepeunit_sdk import MqttMessage, PepeunitClient

VERSION = "v1"
HERE = Path(__file__).resolve().parent


def publish_version(client: PepeunitClient) -> None:
    client.publish_to_topics("value/pepeunit", f"{VERSION} {client.settings.GREETING}")


def answer(client: PepeunitClient, message: MqttMessage) -> None:
    if message.topic in client.schema.input_topic["command/pepeunit"]:
        client.publish_to_topics("value/pepeunit", f"{VERSION} got {message.payload}")


def main() -> None:
    client = PepeunitClient(
        HERE / "env.json",
        HERE / "schema.json",
        HERE / "log.json",
        enable_mqtt=True,
        enable_rest=True,
        cycle_interval=0.2,
    )
    client.set_input_message_handler(answer)
    client.connect()
    client.subscribe_all_schema_topics()
    client.logger.info(f"Program {VERSION} started")
    client.run_main_cycle(publish_version)


if __name__ == "__main__":
    main()
