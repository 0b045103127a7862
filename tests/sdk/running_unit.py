"""Running a PepeunitClient in a test: its main cycle in a thread, a recording input handler,
and a look into its log."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pepeunit_sdk import MqttMessage, OutputFunction, PepeunitClient


@contextmanager
def main_cycle(client: PepeunitClient, output_fn: OutputFunction | None = None) -> Iterator[None]:
    thread = threading.Thread(target=client.run_main_cycle, args=(output_fn,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        client.stop_main_cycle()
        thread.join(timeout=10)
        assert not thread.is_alive()


def logged(client: PepeunitClient, text: str) -> bool:
    return any(text in entry["text"] for entry in client.logger.get_full_log())


class Inbox:
    """The user's input handler: what it saw, and what the settings said at that moment."""

    def __init__(self) -> None:
        self.messages: list[tuple[MqttMessage, str]] = []

    def __call__(self, client: PepeunitClient, message: MqttMessage) -> None:
        self.messages.append((message, client.settings.GREETING))

    def payloads(self, topic: str) -> list[str]:
        return [message.payload for message, _ in self.messages if message.topic == topic]
