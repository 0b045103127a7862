"""A draft of a node's pipeline, as the console's editor holds it: checked with the line and
field of each issue (as `pepeunit pipelines check` reports them), tried on the node's recent
stored values or on a recording (the format of `pepeunit pipelines simulate`), and applied
through `pipelines.set_config`, as `PATCH /unit_nodes/set_data_pipe_config` does."""

import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml
from clickhouse_connect.driver.client import Client
from sqlalchemy.orm import Session

from control_plane.models.data_pipe import LastValueRead, PipeDataFilter, PipeDataRead
from control_plane.services.errors import DataPipeError
from control_plane.services.nodes import pipelines
from pepeunit_core.db.models import UnitNode
from pepeunit_core.stored_data.paged_reads import RowPage
from pipelines.config import PipelineConfig, PolicyType
from pipelines.files import CheckReport, FileIssue, PipelineFile, load_pipeline_text
from pipelines.issues import FILE_STAGE, ValidationIssue
from pipelines.simulation.messages import MessageFileError, RecordedMessage, read_messages
from pipelines.simulation.runner import SimulationResult, SimulationSetupError, simulate

DRAFT_PATH = Path("draft.yaml")
MAX_RECORDING_BYTES = 4 * pipelines.MB
RECENT_INPUTS = 500
"""How many of the node's newest stored values a trial replays."""


@dataclass(frozen=True)
class DraftCheck:
    config: PipelineConfig | None
    """The draft's config when it is valid."""
    issues: list[FileIssue]
    warnings: list[str]


def check_draft(text: str, max_payload_size: int) -> DraftCheck:
    """Every issue of the draft with its line and field; a draft may carry no binding (the
    node is the page's)."""
    if len(text.encode()) > pipelines.MAX_CONFIG_BYTES:
        issue = ValidationIssue(
            FILE_STAGE, "document", f"larger than {pipelines.MAX_CONFIG_BYTES} bytes", "size"
        )
        return DraftCheck(None, [FileIssue(DRAFT_PATH, issue)], [])
    report = CheckReport()
    loaded = load_pipeline_text(
        DRAFT_PATH, text, require_binding=False, max_payload_size=max_payload_size, report=report
    )
    config = loaded.config if loaded is not None else None
    return DraftCheck(config, report.errors, report.warnings)


def apply_draft(session: Session, node: UnitNode, text: str, max_payload_size: int) -> DraftCheck:
    """Makes a valid draft the node's pipeline; an invalid one changes nothing and its issues
    are returned."""
    checked = check_draft(text, max_payload_size)
    if checked.config is None:
        return checked
    pipelines.set_config(session, node, yaml.safe_load(text), max_payload_size)
    return checked


@dataclass(frozen=True)
class TrialInputs:
    messages: list[RecordedMessage]
    note: str
    """Where the messages came from, and what they are not."""
    skipped: int = 0
    """Messages of the recording that were for other nodes."""
    stored: list[PipeDataRead] = field(default_factory=list)
    """The stored rows the messages were made from (stored values only), oldest first."""


@dataclass(frozen=True)
class Trial:
    inputs: TrialInputs
    draft: SimulationResult
    active: SimulationResult | None
    """The active pipeline run on the same messages (recordings only: for stored values, what
    it stored is the stored rows themselves)."""
    recorded: bool
    """Tried on an uploaded recording, not on the stored values."""


def recent_stored_inputs(
    session: Session, client: Client, node: UnitNode, now: datetime
) -> TrialInputs:
    """The node's newest stored values as messages at their times. Only NRecords and
    TimeWindow keep a series of values, and only as the active pipeline stored them (after its
    filters and transformations): the raw messages are not kept."""
    if node.data_pipe_yml is None:
        return TrialInputs([], "This node has no pipeline config, so nothing is stored yet: "
                           "upload a recording to try a draft.")  # fmt: skip
    policy = pipelines.node_config(node).processing_policy.policy_type
    if policy is PolicyType.AGGREGATION:
        return TrialInputs(
            [],
            "This node's pipeline stores aggregates, not the values it received: upload a "
            "recording to try a draft.",
        )
    query = PipeDataFilter(uuid=node.uuid, type=policy)
    _count, rows = pipelines.read_pipe_data(session, client, query, RowPage(0, RECENT_INPUTS), now)
    stored = list(reversed(rows))
    messages = [
        RecordedMessage(number, _stored_time(row), str(row.state), None)
        for number, row in enumerate(stored, start=1)
        if row.state is not None
    ]
    kept = "its last value" if policy is PolicyType.LAST_VALUE else f"its newest {len(messages)}"
    return TrialInputs(
        messages,
        f"The node's stored values ({kept}), as the active pipeline stored them, after its "
        "filters and transformations: the raw messages are not kept. Upload a recording to "
        "try the draft on raw messages.",
        stored=stored,
    )


def _stored_time(row: PipeDataRead) -> datetime:
    if isinstance(row, LastValueRead):
        return row.last_update_datetime
    return row.create_datetime


def recording_inputs(node: UnitNode, content: bytes) -> TrialInputs:
    """The messages of an uploaded recording (JSON lines `{"t", "payload", "node"}`) for this
    node: those naming no node, or this one."""
    if len(content) > MAX_RECORDING_BYTES:
        raise DataPipeError(
            f"The recording is larger than the {MAX_RECORDING_BYTES // pipelines.MB} MB allowed"
        )
    try:
        text = content.decode("utf-8-sig")
        messages = read_messages(io.StringIO(text))
    except UnicodeDecodeError:
        raise DataPipeError("The recording is not UTF-8") from None
    except MessageFileError as error:
        raise DataPipeError(f"The recording: {error}") from None
    own = str(node.uuid)
    kept = [message for message in messages if message.node in (None, own)]
    return TrialInputs(
        kept,
        f"The uploaded recording ({len(kept)} messages).",
        skipped=len(messages) - len(kept),
    )


def try_draft(node: UnitNode, draft: PipelineConfig, inputs: TrialInputs, recorded: bool) -> Trial:
    """What the draft would store from `inputs`, and for a recording what the active pipeline
    would store from it."""
    draft_result = _simulate(draft, inputs.messages)
    active = None
    if recorded and node.data_pipe_yml is not None:
        active = _simulate(pipelines.node_config(node), inputs.messages)
    return Trial(inputs, draft_result, active, recorded)


def _simulate(config: PipelineConfig, messages: list[RecordedMessage]) -> SimulationResult:
    try:
        return simulate([PipelineFile(DRAFT_PATH, None, config)], messages)
    except (SimulationSetupError, MessageFileError) as error:
        raise DataPipeError(f"The trial failed: {error}") from None
