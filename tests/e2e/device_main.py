"""The program of the e2e test's unit, written for the published `pepeunit-client` (1.3.0),
committed as `main.py` of the unit's repository and run from its unpacked firmware archive.

It publishes a temperature every half second, records what arrives on its input topics in
`received.txt`, and serves the platform's commands with the client's own handler. After an
Update it reloads env.json and schema.json in place (the test runs it as one process).
"""

import time
from pathlib import Path

from pepeunit_client import PepeunitClient, RestartMode

HERE = Path(__file__).resolve().parent
PUBLISH_PERIOD_S = 0.5

client = PepeunitClient(
    env_file_path=str(HERE / "env.json"),
    schema_file_path=str(HERE / "schema.json"),
    log_file_path=str(HERE / "log.json"),
    enable_mqtt=True,
    enable_rest=True,
    restart_mode=RestartMode.ENV_SCHEMA_ONLY,
    cycle_speed=0.05,
    ff_console_log_enable=False,
)
sent = {"count": 0, "at": 0.0}


def on_input(client: PepeunitClient, message) -> None:
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
        client.publish_to_topics("temperature/pepeunit", str(20 + sent["count"] % 5))


client.set_mqtt_input_handler(on_input)
client.set_output_handler(output)
client.mqtt_client.connect()
client.subscribe_all_schema_topics()
client.logger.info("device started")
client.run_main_cycle()
