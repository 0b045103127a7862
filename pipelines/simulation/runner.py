"""Runs recorded messages through pipelines with the message times as the clock, using the
same engine as the live dataflow."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pipelines.alerting import AlertEventRow
from pipelines.clock import from_epoch_ms, to_epoch_ms
from pipelines.config import PipelineConfig
from pipelines.engine import NodeMemory, Pipeline
from pipelines.files import PipelineFile
from pipelines.rejections import Rejection
from pipelines.rows import Row
from pipelines.simulation.messages import MessageFileError, RecordedMessage
from pipelines.simulation.reader_view import visible_rows

PLACEHOLDER_NODE_UUID = "00000000-0000-0000-0000-000000000000"
"""The node of messages without `node` when the single pipeline file has no `node:` binding."""

NO_PIPELINE = Rejection("Binding", "no_pipeline")


class SimulationSetupError(ValueError):
    """The pipeline files cannot be simulated together as given."""


@dataclass(frozen=True, slots=True)
class RejectedMessage:
    message: RecordedMessage
    node: str
    rejection: Rejection


@dataclass(slots=True)
class SimulationResult:
    rows: list[Row]
    """What a reader sees at the end."""
    rejected: list[RejectedMessage] = field(default_factory=list)
    accepted_count: int = 0
    alerts: list[AlertEventRow] = field(default_factory=list)
    """Alerts and recoveries, in the order they were raised."""


class _PipelineRouter:
    """Finds the pipeline config of a message's node."""

    def __init__(self, files: Sequence[PipelineFile]) -> None:
        if not files:
            raise SimulationSetupError("give at least one pipeline file")
        self._config_of_node: dict[str, PipelineConfig] = {}
        self._any_node_config: PipelineConfig | None = None
        self.default_node: str | None = None
        if len(files) == 1:
            only = files[0]
            bound_node = only.binding.node_uuid if only.binding else None
            self.default_node = bound_node or PLACEHOLDER_NODE_UUID
            if bound_node:
                self._config_of_node[bound_node] = only.config
            else:
                self._any_node_config = only.config
            return
        for pipeline_file in files:
            node = pipeline_file.binding.node_uuid if pipeline_file.binding else None
            if node is None:
                raise SimulationSetupError(
                    f"{pipeline_file.path}: with several pipeline files each needs a "
                    "'node: <uuid>' binding to route the messages"
                )
            self._config_of_node[node] = pipeline_file.config

    def node_of(self, message: RecordedMessage) -> str:
        if message.node is not None:
            return message.node
        if self.default_node is None:
            raise MessageFileError(
                message.line_number, "'node' is required when several pipeline files are given"
            )
        return self.default_node

    def config_of(self, node: str) -> PipelineConfig | None:
        return self._config_of_node.get(node, self._any_node_config)


def simulate(
    files: Sequence[PipelineFile],
    messages: Iterable[RecordedMessage],
    now: datetime | None = None,
) -> SimulationResult:
    """Processes `messages` in order; at the end the clock runs on until every aggregation
    window has closed. TimeWindow rows are shown as at `now` (default: the last message time).
    Offline alert rules watch the silence up to each message's time, and up to `now` at the
    end."""
    router = _PipelineRouter(files)
    pipelines: dict[str, Pipeline] = {}
    memories: dict[str, NodeMemory] = {}
    stored: list[Row] = []
    result = SimulationResult(rows=[])
    last_time: datetime | None = None
    watching: list[str] = []
    """Nodes whose pipelines watch the clock for offline alerts."""

    def watch_until(moment: datetime) -> None:
        for node in watching:
            result.alerts.extend(pipelines[node].on_time(memories[node], to_epoch_ms(moment)))

    for message in messages:
        last_time = message.t
        watch_until(message.t)
        node = router.node_of(message)
        pipeline = pipelines.get(node)
        if pipeline is None:
            config = router.config_of(node)
            if config is None:
                result.rejected.append(RejectedMessage(message, node, NO_PIPELINE))
                continue
            pipeline = pipelines[node] = Pipeline(node, config)
            memories[node] = NodeMemory()
            if config.alerts and pipeline.watches_time:
                watching.append(node)
        outcome = pipeline.process(memories[node], message.payload, message.t)
        stored.extend(outcome.rows)
        result.alerts.extend(outcome.alerts)
        if outcome.rejection is None:
            result.accepted_count += 1
        else:
            result.rejected.append(RejectedMessage(message, node, outcome.rejection))
    for node, pipeline in pipelines.items():
        last_end = memories[node].open_windows.latest_end_ms()
        if last_end is not None:
            stored.extend(pipeline.close_due_windows(memories[node], from_epoch_ms(last_end)))
    view_time = now or last_time
    if view_time is not None:
        watch_until(view_time)
    result.rows = visible_rows(stored, view_time) if view_time is not None else stored
    return result
