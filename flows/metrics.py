"""Prometheus metrics of the dataflow: what each stage received, accepted, rejected (by
reason), stored and failed, and how far behind it is."""

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60)


@dataclass(eq=False)
class FlowMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        registry = self.registry
        self.received = Counter(
            "pepeunit_flow_received_messages",
            "MQTT messages received and written to the local log.",
            ["partition"],
            registry=registry,
        )
        self.redelivered_duplicates = Counter(
            "pepeunit_flow_redelivered_duplicates",
            "Broker redeliveries of messages already in the local log (dropped).",
            ["partition"],
            registry=registry,
        )
        self.routed = Counter(
            "pepeunit_flow_routed_messages",
            "Messages republished from an Output node topic to a linked Input node topic.",
            ["partition"],
            registry=registry,
        )
        self.dropped = Counter(
            "pepeunit_flow_dropped_messages",
            "Messages dropped before the pipelines, by reason "
            "(bad_topic, no_pipeline, invalid_utf8, nul_character, too_large, unwritable).",
            ["reason"],
            registry=registry,
        )
        self.accepted = Counter(
            "pepeunit_flow_accepted_messages",
            "Messages accepted by a pipeline.",
            ["policy"],
            registry=registry,
        )
        self.rejected = Counter(
            "pepeunit_flow_rejected_messages",
            "Messages rejected by a pipeline, by stage and rule.",
            ["stage", "reason"],
            registry=registry,
        )
        self.backlog = Gauge(
            "pepeunit_flow_log_backlog_messages",
            "Messages in the local log not yet read by the dataflow.",
            ["partition"],
            registry=registry,
        )
        self.lag_seconds = Gauge(
            "pepeunit_flow_processing_lag_seconds",
            "Receive-to-processing delay of the last message read from the local log.",
            ["partition"],
            registry=registry,
        )
        self.stored_latency = Histogram(
            "pepeunit_flow_receive_to_stored_seconds",
            "From receiving a message to its row being stored (NRecords, TimeWindow).",
            ["table"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.unit_reports = Counter(
            "pepeunit_flow_unit_reports",
            "Unit state and log reports, by outcome (accepted, throttled, malformed, too_large).",
            ["report", "outcome"],
            registry=registry,
        )
        self.unit_log_entries_skipped = Counter(
            "pepeunit_flow_unit_log_entries_skipped",
            "Log entries without a known level or a text, skipped.",
            registry=registry,
        )
        self.mqtt_reconnects = Counter(
            "pepeunit_flow_mqtt_reconnects",
            "Reconnections of the partition's MQTT client after its first connection.",
            ["partition"],
            registry=registry,
        )
        self.mqtt_sessions_lost = Counter(
            "pepeunit_flow_mqtt_sessions_lost",
            "Reconnections on which the broker no longer had the persistent session "
            "(messages sent meanwhile may be lost): alert on any increase.",
            ["partition"],
            registry=registry,
        )
        self.mqtt_deaf_reconnects = Counter(
            "pepeunit_flow_mqtt_deaf_reconnects",
            "Reconnections forced because a connected client heard nothing, not even its own "
            "heartbeat: alert on any increase.",
            ["partition"],
            registry=registry,
        )
        self.mqtt_connected = Gauge(
            "pepeunit_flow_mqtt_connected",
            "1 while the partition's MQTT client is connected.",
            ["partition"],
            registry=registry,
        )

    # Per-message counting: label lookups cost more than the increment, so children are cached.
    @cache  # noqa: B019 - one FlowMetrics per process, alive as long as the process
    def accepted_for(self, policy: str) -> Counter:
        return self.accepted.labels(policy)

    @cache  # noqa: B019
    def rejected_for(self, stage: str, reason: str) -> Counter:
        return self.rejected.labels(stage, reason)

    @cache  # noqa: B019
    def unit_reports_for(self, report: str, outcome: str) -> Counter:
        return self.unit_reports.labels(report, outcome)

    @cache  # noqa: B019
    def dropped_for(self, reason: str) -> Counter:
        return self.dropped.labels(reason)


def observe_all(histogram: Histogram, amounts: Sequence[float]) -> None:
    """`histogram.observe` of each amount, counted per bucket first and then added with one
    increment per bucket (an observation costs a locked increment of the sum and of a bucket)."""
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None:  # not the client this was made for
        for amount in amounts:
            histogram.observe(amount)
        return
    counts = [0] * len(bounds)
    for amount in amounts:
        counts[bisect_left(bounds, amount)] += 1  # the first bound >= amount; the last is +Inf
    total.inc(sum(amounts))
    for bucket, count in zip(buckets, counts, strict=True):
        if count:
            bucket.inc(count)
