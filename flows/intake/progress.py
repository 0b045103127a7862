"""What the intake process and the dataflow process tell each other, in shared memory.

The intake publishes how far it has logged and its watermark (no message logged later carries
an earlier receive time); the dataflow publishes how far it has read, which bounds the log's
backlog. Counters for the metrics the dataflow process serves ride along.
"""

import multiprocessing
from dataclasses import dataclass, fields
from multiprocessing.context import SpawnContext
from multiprocessing.sharedctypes import Synchronized


def _counter(context: SpawnContext, value: int = 0) -> "Synchronized[int]":
    return context.Value("q", value)


@dataclass
class IntakeProgress:
    logged_offset: "Synchronized[int]"
    consumed_offset: "Synchronized[int]"
    watermark_ms: "Synchronized[int]"
    received: "Synchronized[int]"
    redelivered_duplicates: "Synchronized[int]"
    connected: "Synchronized[int]"
    routed: "Synchronized[int]"
    """Messages republished to linked Input node topics."""
    reconnects: "Synchronized[int]"
    """Connections after the first: the broker dropped us (or another client took our id)."""
    sessions_lost: "Synchronized[int]"
    """Reconnections on which the broker no longer had our persistent session."""
    deaf_reconnects: "Synchronized[int]"
    """Reconnections forced because the connection stopped delivering even our heartbeats."""

    @classmethod
    def create(cls, context: SpawnContext | None = None) -> "IntakeProgress":
        context = context or multiprocessing.get_context("spawn")
        return cls(*(_counter(context) for _ in fields(cls)))
