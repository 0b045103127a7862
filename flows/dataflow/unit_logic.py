"""Per-unit processing of state and log reports inside the dataflow
(docs/compatibility.md#state-and-log-reports).

A state report is accepted at most once per `PU_STATE_SEND_INTERVAL` per unit, measured on the
logged receive times, so a replay after a crash accepts exactly the reports the first run did;
the time of the last accepted one is the unit's memory, in bytewax's recoverable state. Log
entries all go to `unit_logs`. Malformed or oversized reports are counted and dropped, never
raised.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from bytewax.operators import StatefulBatchLogic

from flows.dataflow.items import BATCH, UnitReport, UnitReports
from flows.metrics import FlowMetrics
from flows.units.log_report import parse_log_report
from flows.units.state_report import MalformedReportError, parse_state_report, state_json
from pepeunit_core.stored_data.rows import IngestedRow, UnitStateRow
from pepeunit_core.topics import ReportTopicName
from pipelines.clock import from_epoch_ms


@dataclass(slots=True)
class UnitMemory:
    """What the dataflow keeps for one unit in recoverable state."""

    last_state_report_ms: int | None = None
    """Receive time of the last accepted state report."""


@dataclass(frozen=True, slots=True)
class UnitLogicContext:
    state_interval_ms: int
    log_lifetime: timedelta
    max_payload_size: int
    metrics: FlowMetrics


class UnitReportLogic(StatefulBatchLogic[UnitReport, IngestedRow, UnitMemory]):
    def __init__(self, context: UnitLogicContext, memory: UnitMemory | None) -> None:
        self._context = context
        self._memory = memory or UnitMemory()

    def on_batch(
        self, values: list[UnitReport | UnitReports]
    ) -> tuple[Iterable[IngestedRow], bool]:
        return self.process(values), StatefulBatchLogic.RETAIN

    def process(self, values: list[UnitReport | UnitReports]) -> list[IngestedRow]:
        """The rows of `values` (batches and single reports of this unit, in order)."""
        out: list[IngestedRow] = []
        outcomes: dict[tuple[str, str], int] = {}
        for value in values:
            if value[0] == BATCH:
                unit = value[1]
                entries = value[2]
            else:
                report, unit, ingest_id, received_ms, payload = value  # type: ignore[misc]
                entries = [(report, ingest_id, received_ms, payload)]
            for report, ingest_id, received_ms, payload in entries:  # type: ignore[misc]
                outcome = self._process(report, unit, ingest_id, received_ms, payload, out)
                outcomes[report, outcome] = outcomes.get((report, outcome), 0) + 1
        for (report, outcome), count in outcomes.items():
            self._context.metrics.unit_reports_for(report, outcome).inc(count)
        return out

    def _process(
        self,
        report: str,
        unit: str,
        ingest_id: int,
        received_ms: int,
        payload: bytes,
        out: list[IngestedRow],
    ) -> str:
        if len(payload) > self._context.max_payload_size:
            return "too_large"
        try:
            uuid.UUID(unit)
            text = payload.decode("utf-8")
        except ValueError:  # UnicodeDecodeError is one
            return "malformed"
        try:
            if report == ReportTopicName.STATE:
                return self._state_report(unit, ingest_id, received_ms, text, out)
            return self._log_report(unit, ingest_id, received_ms, text, out)
        except MalformedReportError:
            return "malformed"

    def _state_report(
        self, unit: str, ingest_id: int, received_ms: int, text: str, out: list[IngestedRow]
    ) -> str:
        last = self._memory.last_state_report_ms
        if last is not None and received_ms - last < self._context.state_interval_ms:
            return "throttled"
        state = parse_state_report(text)
        self._memory.last_state_report_ms = received_ms
        row = UnitStateRow(
            unit, state_json(state), state["pu_commit_version"], from_epoch_ms(received_ms)
        )
        out.append(IngestedRow(ingest_id, row))
        return "accepted"

    def _log_report(
        self, unit: str, ingest_id: int, received_ms: int, text: str, out: list[IngestedRow]
    ) -> str:
        if "\x00" in text:
            return "malformed"
        parsed = parse_log_report(
            text, unit, ingest_id, from_epoch_ms(received_ms), self._context.log_lifetime
        )
        out.extend(IngestedRow(ingest_id, row) for row in parsed.rows)
        if parsed.skipped:
            self._context.metrics.unit_log_entries_skipped.inc(parsed.skipped)
        return "accepted" if parsed.rows or not parsed.skipped else "malformed"

    def snapshot(self) -> UnitMemory:
        return UnitMemory(self._memory.last_state_report_ms)
