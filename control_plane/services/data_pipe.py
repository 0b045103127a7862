"""DataPipe of a unit node: its config (check, set, get), stored data (read, CSV export and
import, delete). Reads go through flows/storage/reads.py, so they never return more than the
newest N rows of NRecords nor expired TimeWindow rows (pipelines.md §3 fix 4)."""

import csv
import io
import math
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import yaml
from clickhouse_connect.driver.client import Client
from pydantic import BaseModel
from sqlalchemy.orm import Session

from control_plane.api.errors import (
    DataPipeError,
    InputValidationError,
    NoAccessError,
    NotFoundError,
)
from control_plane.models.common import OrderByDate
from control_plane.models.data_pipe import (
    AggregationRead,
    ConfigIssue,
    LastValueRead,
    NRecordsRead,
    PipeDataFilter,
    PipeDataRead,
    TimeWindowRead,
)
from control_plane.security import Agent, AgentType
from flows.pipelines.config import (
    PipelineConfig,
    PolicyType,
    TypeInputValue,
    TypeValueFiltering,
    TypeValueThreshold,
)
from flows.pipelines.issues import ValidationIssue
from flows.pipelines.numbers import presented_aggregate
from flows.pipelines.rows import AggregationRow, NRecordsRow, TimeWindowRow
from flows.pipelines.validation import validate_config
from flows.storage.clickhouse_writer import ClickHouseWriter
from flows.storage.ingested import IngestedRow
from flows.storage.reads import read_aggregations, read_last_value, read_n_records, read_time_window
from pepeunit_core.db.config_version import bump_dataflow_config_version
from pepeunit_core.db.models import UnitNode
from pepeunit_core.pipeline_store import (
    StoredConfigError,
    config_from_stored,
    config_without_nulls,
    stored_config_json,
)

MAX_CONFIG_BYTES = 64 * 1024
MAX_CSV_BYTES = 32 * 1024 * 1024
CLICKHOUSE_TABLES = ("n_last_entry", "window_entry", "aggregation_entry")
_DELETE_SYNC = {"lightweight_deletes_sync": 2}
_RELATIVE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "M": 30 * 86400, "y": 365 * 86400}
CSV_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S")

# --- access -----------------------------------------------------------------------------------


def get_node(session: Session, uuid: UUID) -> UnitNode:
    node = session.get(UnitNode, uuid)
    if node is None:
        raise NotFoundError.of("Unit node", uuid)
    return node


def ensure_creator(agent: Agent, node: UnitNode) -> None:
    """Config and data changes: only the node's creator (reference §8.3)."""
    if agent.type is not AgentType.USER or agent.uuid != node.creator_uuid:
        raise NoAccessError("Only the creator of this unit node may do this")


def ensure_reader(agent: Agent, node: UnitNode) -> None:
    """Config and data reads: the creator, or the unit the node belongs to. (The reference lets
    any unit read any node's data; we limit units to their own nodes.)"""
    if agent.type is AgentType.UNIT and agent.uuid == node.unit_uuid:
        return
    ensure_creator(agent, node)


# --- config -----------------------------------------------------------------------------------


def parse_config_upload(content: bytes) -> Any:
    """The YAML document of an uploaded config; bad uploads are a 422, never a 500."""
    if len(content) > MAX_CONFIG_BYTES:
        raise InputValidationError(f"The config is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        return yaml.safe_load(content.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        raise InputValidationError(f"The config is not valid YAML: {error}") from None
    except RecursionError:
        raise InputValidationError("The config is nested too deeply") from None


MAX_ISSUES_IN_MESSAGE = 5


def describe_config_issues(issues: list[ValidationIssue]) -> str:
    """`2 errors in the config: Filters.max_rate: …; ActivePeriod.type: …`"""
    shown = "; ".join(str(issue) for issue in issues[:MAX_ISSUES_IN_MESSAGE])
    more = len(issues) - MAX_ISSUES_IN_MESSAGE
    plural = "s" if len(issues) != 1 else ""
    return f"{len(issues)} error{plural} in the config: {shown}" + (
        f"; and {more} more" if more > 0 else ""
    )


def check_config(document: Any, max_payload_size: int) -> list[ConfigIssue]:
    _config, issues = validate_config(document, max_payload_size)
    return [
        ConfigIssue(stage=issue.stage, message=str(issue), field=issue.field) for issue in issues
    ]


def set_config(session: Session, node: UnitNode, document: Any, max_payload_size: int) -> None:
    if not node.is_data_pipe_active:
        raise DataPipeError("Data pipe is not active")
    config, issues = validate_config(document, max_payload_size)
    if config is None:
        raise DataPipeError(describe_config_issues(issues))
    node.data_pipe_yml = stored_config_json(config)
    bump_dataflow_config_version(session)
    session.commit()


def node_config(node: UnitNode) -> PipelineConfig:
    if node.data_pipe_yml is None:
        raise DataPipeError("Data pipe config is not set")
    try:
        return config_from_stored(node.data_pipe_yml)
    except StoredConfigError as error:
        raise DataPipeError(str(error)) from None


def config_yaml(node: UnitNode) -> str:
    """The stored config as YAML, null keys dropped, key order kept."""
    return yaml.safe_dump(
        config_without_nulls(node_config(node)),
        sort_keys=False,
        allow_unicode=True,
    )


# --- reads ------------------------------------------------------------------------------------


def read_pipe_data(
    session: Session, client: Client, query: PipeDataFilter, now: datetime
) -> list[PipeDataRead]:
    """Every visible row of the node for the policy `query.type`, filtered and ordered."""
    node = str(query.uuid)
    created_since = _relative_start(query.relative_time, now)
    rows: list[Any]
    match query.type:
        case PolicyType.LAST_VALUE:
            last = read_last_value(session, node)
            if last is None:
                return []
            return [LastValueRead(**_fields(last))]
        case PolicyType.N_RECORDS:
            rows = [
                NRecordsRead(id=number, **_fields(row))
                for number, row in enumerate(read_n_records(client, node), start=1)
            ]
        case PolicyType.TIME_WINDOW:
            rows = [TimeWindowRead(**_fields(row)) for row in read_time_window(client, node, now)]
        case PolicyType.AGGREGATION:
            decimals = _stored_round_decimal_point(session.get(UnitNode, query.uuid))
            rows = [
                AggregationRead(**_fields(_presented(row, decimals)))
                for row in read_aggregations(client, node)
            ]
    rows = [row for row in rows if _matches(row, query, created_since)]
    if query.type is not PolicyType.AGGREGATION:
        rows.sort(key=lambda row: row.create_datetime)
    else:
        rows.sort(key=lambda row: (row.create_datetime, row.start_window_datetime))
    if query.order_by_create_date is OrderByDate.DESC:
        rows.reverse()
    return rows


def _round_decimal_point(config: PipelineConfig) -> int | None:
    transformations = config.transformations
    return transformations.round_decimal_point if transformations is not None else None


def _stored_round_decimal_point(node: UnitNode | None) -> int | None:
    """The node's `transformations.round_decimal_point`, if it has a readable config."""
    if node is None or node.data_pipe_yml is None:
        return None
    try:
        return _round_decimal_point(config_from_stored(node.data_pipe_yml))
    except StoredConfigError:
        return None


def _presented(row: AggregationRow, round_decimal_point: int | None) -> AggregationRow:
    """The row with its state as shown: the stored float without its binary noise."""
    state = presented_aggregate(row.state, row.aggregation_type, round_decimal_point)
    return replace(row, state=state)


def _fields(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in row.__slots__}


def _relative_start(relative_time: str | None, now: datetime) -> datetime | None:
    if relative_time is None:
        return None
    seconds = int(relative_time[:-1]) * _RELATIVE_UNITS[relative_time[-1]]
    try:
        return now - timedelta(seconds=seconds)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _within(moment: datetime, start: datetime | None, end: datetime | None) -> bool:
    start, end = _utc(start), _utc(end)
    return (start is None or moment >= start) and (end is None or moment <= end)


def _matches(row: BaseModel, query: PipeDataFilter, created_since: datetime | None) -> bool:
    created: datetime = row.create_datetime  # type: ignore[attr-defined]
    if not _within(created, query.start_create_datetime, query.end_create_datetime):
        return False
    if created_since is not None and created < created_since:
        return False
    if isinstance(row, AggregationRead):
        return (
            row.aggregation_type in query.aggregation_type
            and query.time_window_size in (None, row.time_window_size)
            and _within(
                row.end_window_datetime,
                query.start_agg_window_datetime,
                query.end_agg_window_datetime,
            )
        )
    if query.search_string:
        return query.search_string.lower() in row.state.lower()  # type: ignore[attr-defined]
    return True


# --- delete, CSV export -----------------------------------------------------------------------


def delete_data(client: Client, node_uuid: UUID) -> None:
    for table in CLICKHOUSE_TABLES:
        client.command(
            f"DELETE FROM {table} WHERE unit_node_uuid = {{node:UUID}}",
            parameters={"node": str(node_uuid)},
            settings=_DELETE_SYNC,
        )


def _csv_config(node: UnitNode) -> PipelineConfig:
    config = node_config(node)
    if config.processing_policy.policy_type is PolicyType.LAST_VALUE:
        raise DataPipeError("CSV is not available for the LastValue policy")
    return config


def export_csv_zip(client: Client, node: UnitNode, now: datetime) -> bytes:
    """A ZIP with `<uuid>.csv`: every visible row of the node's policy, ascending."""
    config = _csv_config(node)
    policy = config.processing_policy.policy_type
    node_uuid = str(node.uuid)
    rows: Sequence[Any]
    match policy:
        case PolicyType.N_RECORDS:
            rows = read_n_records(client, node_uuid)
        case PolicyType.TIME_WINDOW:
            rows = read_time_window(client, node_uuid, now)
        case _:
            decimals = _round_decimal_point(config)
            rows = [_presented(row, decimals) for row in read_aggregations(client, node_uuid)]
    columns = _csv_columns(policy)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(getattr(row, column)) for column in columns])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr(f"{node.uuid}.csv", text.getvalue())
    return archive.getvalue()


def _csv_columns(policy: PolicyType) -> tuple[str, ...]:
    row_type = {
        PolicyType.N_RECORDS: NRecordsRow,
        PolicyType.TIME_WINDOW: TimeWindowRow,
    }.get(policy, AggregationRow)
    return tuple(row_type.__slots__)


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime(CSV_TIME_FORMATS[0])
    return value


# --- CSV import -------------------------------------------------------------------------------


class RowError(ValueError):
    pass


@dataclass
class _ImportState:
    last_accepted: datetime | None = None
    last_state: str | None = None
    last_end: datetime | None = None


def import_csv(client: Client, node: UnitNode, content: bytes, now: datetime) -> int:
    """Validates every row against the node's config (reference §3.4), then replaces the node's
    stored data with them. Any invalid row raises before anything is deleted."""
    config = _csv_config(node)
    rows = parse_csv_rows(config, str(node.uuid), content, now)
    delete_data(client, node.uuid)
    ClickHouseWriter(client).write(
        [IngestedRow(number, row) for number, row in enumerate(rows, start=1)]
    )
    return len(rows)


def parse_csv_rows(
    config: PipelineConfig, node_uuid: str, content: bytes, now: datetime
) -> list[NRecordsRow | TimeWindowRow | AggregationRow]:
    if len(content) > MAX_CSV_BYTES:
        raise DataPipeError(f"The CSV is larger than {MAX_CSV_BYTES} bytes")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataPipeError("The CSV is not UTF-8") from None
    policy = config.processing_policy.policy_type
    required = ["state", "create_datetime"]
    if policy is PolicyType.AGGREGATION:
        required += ["aggregation_type", "start_window_datetime", "end_window_datetime"]
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        missing = [column for column in required if column not in (reader.fieldnames or [])]
        if missing:
            raise DataPipeError(f"The CSV lacks the columns: {', '.join(missing)}")
        build = _row_builder(config, node_uuid, now)
        state = _ImportState()
        rows = []
        for number, record in enumerate(reader, start=1):
            try:
                rows.append(build(record, state))
            except RowError as error:
                raise DataPipeError(f"Row {number}: {error}") from None
    except csv.Error as error:
        raise DataPipeError(f"The CSV is malformed: {error}") from None
    cap = config.processing_policy.n_records_count or 0
    if policy is PolicyType.N_RECORDS and len(rows) > cap:
        raise DataPipeError(f"The CSV has {len(rows)} rows, more than n_records_count {cap}")
    return rows


def _cell(record: dict[str | Any, Any], column: str) -> str:
    value = record.get(column)
    if not isinstance(value, str):
        raise RowError(f"{column} is missing")
    return value


def _parse_time(record: dict[str | Any, Any], column: str) -> datetime:
    text = _cell(record, column)
    for layout in CSV_TIME_FORMATS:
        try:
            return datetime.strptime(text, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise RowError(f"{column} {text!r} is not YYYY-MM-DD HH:MM:SS[.ffffff]")


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _row_builder(
    config: PipelineConfig, node_uuid: str, now: datetime
) -> Callable[[dict[str | Any, Any], _ImportState], NRecordsRow | TimeWindowRow | AggregationRow]:
    policy = config.processing_policy
    window = timedelta(seconds=policy.time_window_size or 0)

    def build(
        record: dict[str | Any, Any], state: _ImportState
    ) -> NRecordsRow | TimeWindowRow | AggregationRow:
        created = _parse_time(record, "create_datetime")
        if state.last_accepted is not None and created < state.last_accepted:
            raise RowError("rows must be sorted by create_datetime ascending")
        _check_active_period(config, created)
        if policy.policy_type is PolicyType.AGGREGATION:
            row = _aggregation_row(record, node_uuid, created, window, state)
            state.last_accepted = created
            return row
        value = _checked_state(config, _cell(record, "state"), created, state)
        size = len(value.encode())
        kind = config.filters.type_input_value.value
        if policy.policy_type is PolicyType.N_RECORDS:
            return NRecordsRow(node_uuid, value, kind, created, policy.n_records_count or 0, size)
        if not now - window <= created <= now:
            raise RowError("create_datetime is outside the time window ending now")
        expiration = (created + window).replace(microsecond=0)
        return TimeWindowRow(node_uuid, value, kind, created, expiration, size)

    return build


def _check_active_period(config: PipelineConfig, created: datetime) -> None:
    period = config.active_period
    if (period.start is not None and created < period.start) or (
        period.end is not None and created > period.end
    ):
        raise RowError("create_datetime is outside the active period")


def _checked_state(config: PipelineConfig, raw: str, created: datetime, state: _ImportState) -> str:
    filters = config.filters
    is_number = filters.type_input_value is TypeInputValue.NUMBER
    number = _number(raw)
    if is_number and number is None:
        raise RowError(f"state {raw!r} is not a finite number")
    if filters.type_value_filtering is not None:
        values = filters.filtering_values or []
        listed = (
            any(number == float(value) for value in values)
            if is_number
            else raw in [str(value) for value in values]
        )
        if listed != (filters.type_value_filtering is TypeValueFiltering.WHITE_LIST):
            raise RowError(f"state {raw!r} is rejected by the {filters.type_value_filtering}")
    if is_number and number is not None and filters.type_value_threshold is not None:
        low = filters.threshold_min
        high = filters.threshold_max
        checks_min = filters.type_value_threshold is not TypeValueThreshold.MAX
        checks_max = filters.type_value_threshold is not TypeValueThreshold.MIN
        if (checks_min and low is not None and number < low) or (
            checks_max and high is not None and number > high
        ):
            raise RowError(f"state {raw!r} is outside the threshold")
    if filters.max_size and len(raw) > filters.max_size:
        raise RowError(f"state is longer than max_size {filters.max_size}")
    rate = timedelta(seconds=filters.max_rate)
    if rate and state.last_accepted is not None and created - state.last_accepted < rate:
        raise RowError(f"less than max_rate {filters.max_rate} s after the previous row")
    if filters.last_unique_check and raw == state.last_state:
        raise RowError("state repeats the previous row (last_unique_check)")
    state.last_accepted, state.last_state = created, raw
    return str(number) if is_number else raw


def _aggregation_row(
    record: dict[str | Any, Any],
    node_uuid: str,
    created: datetime,
    window: timedelta,
    state: _ImportState,
) -> AggregationRow:
    value = _number(_cell(record, "state"))
    if value is None:
        raise RowError("state is not a finite number")
    function = _cell(record, "aggregation_type")
    if function not in ("Avg", "Min", "Max", "Sum"):
        raise RowError(f"aggregation_type {function!r} is not Avg, Min, Max or Sum")
    start = _parse_time(record, "start_window_datetime")
    end = _parse_time(record, "end_window_datetime")
    if start.second or start.microsecond or end.second or end.microsecond:
        raise RowError("window bounds must have zero seconds")
    if end - start != window:
        raise RowError(f"the window must last time_window_size {window.total_seconds():g} s")
    if abs(created - end) >= timedelta(seconds=60):
        raise RowError("create_datetime must be within 60 s of end_window_datetime")
    if state.last_end is not None and (end - state.last_end) % window:
        raise RowError("window ends must differ by a multiple of time_window_size")
    state.last_end = end
    return AggregationRow(
        node_uuid, value, function, int(window.total_seconds()), created, start, end
    )
