"""The bytewax source: one partition per MQTT intake, reading its write-ahead log by offset.

The partition's snapshot is the offset of the next message to emit, so after a crash bytewax
resumes each partition exactly where the last completed epoch left it and the log replays the
rest. The log is trimmed only below offsets that every snapshot of the last `retention` no
longer needs. Every `tick_interval` the partition also emits its watermark.
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from flows.dataflow.items import BATCH, TICK, SourceItem
from flows.intake.process import IntakeProcess
from flows.intake.wal import WriteAheadLog
from flows.metrics import FlowMetrics

logger = logging.getLogger("pepeunit.flow.source")

_FIRST_OFFSET = 1
_IDLE_POLL = timedelta(milliseconds=5)


def _clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class SourcePartition:
    """One intake's log (read here) and the intake process that fills it."""

    wal: WriteAheadLog
    process: IntakeProcess


@dataclass(frozen=True, slots=True)
class SourceSettings:
    partitions: tuple[int, ...]
    """Indexes of the partitions this process owns (one MQTT client each)."""
    batch_size: int = 10_000
    """Messages per read of the log: one item, split per node (more messages per node item)."""
    tick_interval_ms: int = 1_000
    retention_ms: int = 300_000
    clock_ms: Callable[[], int] = _clock_ms


class LogPartition(StatefulSourcePartition[SourceItem, int]):
    def __init__(
        self,
        index: int,
        source: SourcePartition,
        next_offset: int,
        settings: SourceSettings,
        stop_requested: threading.Event,
        metrics: FlowMetrics,
    ) -> None:
        self._index = index
        self._source = source
        self._next_offset = next_offset
        self._settings = settings
        self._stop_requested = stop_requested
        self._metrics = metrics
        self._clock_ms = settings.clock_ms
        self._label = f"p{index}"
        self._last_received_ms = 0
        self._next_tick_ms = 0
        self._idle = False
        self._snapshots: deque[tuple[int, int]] = deque()
        self._reported = (0, 0, 0, 0, 0, 0)

    def next_batch(self) -> list[SourceItem]:
        if self._stop_requested.is_set():
            logger.info("partition %s: stopping intake, then ending input", self._label)
            self._source.process.stop()
            self._report_intake()
            raise StopIteration
        progress = self._source.process.progress
        # the watermark before the logged offset: see `_watermark_ms`
        watermark_ms, logged_offset = progress.watermark_ms.value, progress.logged_offset.value
        rows = self._source.wal.read_from(self._next_offset, self._settings.batch_size)
        items: list[SourceItem] = [(BATCH, self._index, rows)] if rows else []
        now_ms = self._clock_ms()
        if rows:
            last_offset, self._last_received_ms = rows[-1][0], rows[-1][1]
            self._next_offset = last_offset + 1
            progress.consumed_offset.value = self._next_offset - 1
            self._metrics.lag_seconds.labels(self._label).set(
                (now_ms - self._last_received_ms) / 1000
            )
        if now_ms >= self._next_tick_ms:
            items.append((TICK, self._index, self._watermark_ms(watermark_ms, logged_offset)))
            self._next_tick_ms = now_ms + self._settings.tick_interval_ms
            self._source.process.ensure_running()
            self._report_intake()
        self._idle = not rows
        return items

    def _watermark_ms(self, intake_watermark_ms: int, logged_offset: int) -> int:
        """The intake's watermark holds once everything logged before it was read: it was
        read before the logged offset, and the intake raises the offset first."""
        if self._next_offset > logged_offset:
            return intake_watermark_ms
        return self._last_received_ms

    def _report_intake(self) -> None:
        progress = self._source.process.progress
        counts = (
            progress.received.value,
            progress.redelivered_duplicates.value,
            progress.routed.value,
            progress.reconnects.value,
            progress.sessions_lost.value,
            progress.deaf_reconnects.value,
        )
        counters = (
            self._metrics.received,
            self._metrics.redelivered_duplicates,
            self._metrics.routed,
            self._metrics.mqtt_reconnects,
            self._metrics.mqtt_sessions_lost,
            self._metrics.mqtt_deaf_reconnects,
        )
        for counter, count, reported in zip(counters, counts, self._reported, strict=True):
            counter.labels(self._label).inc(max(count - reported, 0))
        self._reported = counts
        self._metrics.mqtt_connected.labels(self._label).set(progress.connected.value)
        self._metrics.backlog.labels(self._label).set(
            max(progress.logged_offset.value - progress.consumed_offset.value, 0)
        )

    def next_awake(self) -> datetime | None:
        return datetime.now(UTC) + _IDLE_POLL if self._idle else None

    def snapshot(self) -> int:
        now_ms = self._clock_ms()
        self._snapshots.append((now_ms, self._next_offset))
        self._trim_log(now_ms)
        return self._next_offset

    def _trim_log(self, now_ms: int) -> None:
        """Drops log entries below the newest snapshot older than the retention."""
        horizon = now_ms - self._settings.retention_ms
        safe_offset = None
        while self._snapshots and self._snapshots[0][0] <= horizon:
            safe_offset = self._snapshots.popleft()[1]
        if safe_offset is not None:
            self._snapshots.appendleft((horizon, safe_offset))
            removed = self._source.wal.trim_below(safe_offset)
            if removed:
                logger.debug("partition %s: trimmed %d logged messages", self._label, removed)

    def close(self) -> None:
        self._source.process.stop()


class LogSource(FixedPartitionedSource[SourceItem, int]):
    def __init__(
        self,
        settings: SourceSettings,
        open_source_partition: Callable[[int], SourcePartition],
        stop_requested: threading.Event,
        metrics: FlowMetrics,
    ) -> None:
        self._settings = settings
        self._open_source_partition = open_source_partition
        self._stop_requested = stop_requested
        self._metrics = metrics

    def list_parts(self) -> list[str]:
        return [f"p{index}" for index in self._settings.partitions]

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> LogPartition:
        index = int(for_part.removeprefix("p"))
        source = self._open_source_partition(index)
        next_offset = resume_state if resume_state is not None else _FIRST_OFFSET
        logger.info(
            "partition %s: resuming at log offset %d (last logged: %d)",
            for_part,
            next_offset,
            source.wal.last_offset(),
        )
        source.process.progress.consumed_offset.value = next_offset - 1
        source.process.start()
        return LogPartition(
            index, source, next_offset, self._settings, self._stop_requested, self._metrics
        )
