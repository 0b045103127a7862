"""A device program written from the client library's specification alone, line by line (its
main flow, as sdk/README.md shows it first): create the client with `mqtt=True, rest=True`, set
the input handler, subscribe to the schema's topics (no connect step: the first call that needs
the broker connects), run the main cycle with the output function. It also keeps a start count
in the state storage with `get_state_storage(uuid)` / `set_state_storage(uuid, state)`, and reads
the token and the state period under the specification's names.

tests/sdk/test_specification_program.py commits it as a repository's main.py and runs it
against `pepeunit up` (tests/e2e/device_scenario.py says what it must do there).
"""

import json
import time
from pathlib import Path

from pepeunit_sdk import MqttMessage, PepeunitClient

HERE = Path(__file__).resolve().parent
PUBLISH_PERIOD_S = 0.5

client = PepeunitClient(
    HERE / "env.json",
    HERE / "schema.json",
    HERE / "log.json",
    mqtt=True,
    rest=True,
)
sent = {"count": 0, "at": 0.0}


def on_input(client: PepeunitClient, message: MqttMessage) -> None:
    for name, topics in client.schema.input_topic.items():
        if message.topic in topics:
            with (HERE / "received.txt").open("a") as received:
                received.write(f"{name} {message.payload}\n")
            client.logger.info(f"received {message.payload} on {name}")


def output(client: PepeunitClient) -> None:
    now = time.time()
    if now - sent["at"] >= PUBLISH_PERIOD_S:
        sent["at"] = now
        sent["count"] += 1
        temperature = str(20 + sent["count"] % 5)
        client.publish_to_topics(client.schema.output_topic["temperature/pepeunit"], temperature)


client.set_input_message_handler(on_input)
client.subscribe_all_schema_topics()
client.logger.info("device started")

stored = client.get_state_storage(client.unit_uuid)
starts = json.loads(stored)["starts"] + 1 if stored else 1
state = {
    "starts": starts,
    "token_length": len(client.settings.PEPEUNIT_TOKEN),
    "state_send_interval": client.settings.STATE_SEND_INTERVAL,
}
client.set_state_storage(client.unit_uuid, json.dumps(state))

client.run_main_cycle(output)
