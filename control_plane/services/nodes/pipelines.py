"""A node's pipeline: its config (check, set, get), stored data (read, CSV export and
import, delete). Reads go through pepeunit_core/stored_data/paged_reads.py, so they never return
more than the newest N rows of NRecords nor expired TimeWindow rows
(docs/compatibility.md#reads-honour-n-and-expiry), and cost the page asked for rather than every
row the node holds."""

import csv
import io
import math
import pickle
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any, BinaryIO
from uuid import UUID

import yaml
from clickhouse_connect.driver.client import Client
from sqlalchemy.orm import Session

from control_plane.models.common import OrderByDate
from control_plane.models.data_pipe import (
    AggregationRead,
    ConfigIssue,
    DataPipeRejectionsRead,
    LastValueRead,
    NRecordsRead,
    PipeDataFilter,
    PipeDataRead,
    RejectedMessageRead,
    TimeWindowRead,
)
from control_plane.services.errors import (
    DataPipeError,
    InputValidationError,
)
from pepeunit_core.db.config_version import bump_dataflow_config_version
from pepeunit_core.db.models import UnitNode
from pepeunit_core.pipe_rejections import RejectionLog
from pepeunit_core.pipeline_store import (
    StoredConfigError,
    config_from_stored,
    config_without_nulls,
    refresh_data_pipe_status,
    stored_config_json,
)
from pepeunit_core.retry import DEFAULT_RETRY, Retrier
from pepeunit_core.stored_data.clickhouse_columns import columns_by_table
from pepeunit_core.stored_data.clickhouse_insert import clickhouse_may_heal, insert_tables
from pepeunit_core.stored_data.paged_reads import (
    RowPage,
    RowSelection,
    export_aggregations,
    export_n_records,
    export_time_window,
    page_aggregations,
    page_n_records,
    page_time_window,
)
from pepeunit_core.stored_data.reads import read_last_value
from pepeunit_core.stored_data.rows import IngestedRow
from pipelines.clock import EPOCH
from pipelines.config import (
    PipelineConfig,
    PolicyType,
    TypeInputValue,
    TypeValueFiltering,
    TypeValueThreshold,
)
from pipelines.issues import ValidationIssue
from pipelines.numbers import presented_aggregate
from pipelines.rows import AggregationRow, NRecordsRow, TimeWindowRow
from pipelines.validation import validate_config

MAX_CONFIG_BYTES = 64 * 1024
MB = 1024 * 1024
IMPORT_BATCH_ROWS = 10_000
CLICKHOUSE_TABLES = ("n_last_entry", "window_entry", "aggregation_entry")
_DELETE_SYNC = {"lightweight_deletes_sync": 2}
_RELATIVE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "M": 30 * 86400, "y": 365 * 86400}
_CSV_TIME_PADDED = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
)
_CSV_TIME = re.compile(
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2}) "
    r"([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.([0-9]{1,6}))?"
)

# --- config -----------------------------------------------------------------------------------


def parse_config_upload(content: bytes) -> Any:
    """The YAML document of an uploaded config; a bad upload is refused, never a crash."""
    if len(content) > MAX_CONFIG_BYTES:
        raise InputValidationError(f"The config is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        return yaml.safe_load(content.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        raise InputValidationError(f"The config is not valid YAML: {error}") from None
    except RecursionError:
        raise InputValidationError("The config is nested too deeply") from None


def read_config_upload(upload: BinaryIO) -> Any:
    """The YAML document of an uploaded config file; only MAX_CONFIG_BYTES + 1 bytes are read,
    enough to refuse a larger one."""
    return parse_config_upload(upload.read(MAX_CONFIG_BYTES + 1))


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
    refresh_data_pipe_status(node)
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


# --- rejections -------------------------------------------------------------------------------


def rejections(node: UnitNode) -> DataPipeRejectionsRead:
    """What the dataflow recorded of the messages the node's pipeline rejected."""
    log = RejectionLog.from_stored(node.data_pipe_rejected_count, node.data_pipe_rejections)
    return DataPipeRejectionsRead(
        unit_node_uuid=node.uuid,
        rejected_count=log.rejected_count,
        rejected_by_reason=log.by_reason,
        last_rejections=[
            RejectedMessageRead(
                received_datetime=entry.received_datetime,
                stage=entry.stage,
                reason=entry.reason,
                message=entry.message,
            )
            for entry in reversed(log.recent)
        ],
    )


# --- reads ------------------------------------------------------------------------------------


def read_pipe_data(
    session: Session, client: Client, query: PipeDataFilter, page: RowPage, now: datetime
) -> tuple[int, list[PipeDataRead]]:
    """How many of the node's visible rows for the policy `query.type` match, and the `page`
    of them in the asked order; ClickHouse does the filtering, ordering and paging."""
    node = str(query.uuid)
    selection = _selection(query, now)
    match query.type:
        case PolicyType.LAST_VALUE:
            last = read_last_value(session, node)
            if last is None:
                return 0, []
            rows: list[PipeDataRead] = [LastValueRead(**_fields(last))]
            return 1, rows[page.offset : page.offset + page.limit]
        case PolicyType.N_RECORDS:
            count, numbered = page_n_records(client, node, selection, page)
            return count, [NRecordsRead(id=number, **_fields(row)) for number, row in numbered]
        case PolicyType.TIME_WINDOW:
            count, windows = page_time_window(client, node, now, selection, page)
            return count, [TimeWindowRead(**_fields(row)) for row in windows]
        case PolicyType.AGGREGATION:
            decimals = _stored_round_decimal_point(session.get(UnitNode, query.uuid))
            count, aggregations = page_aggregations(client, node, selection, page)
            return count, [
                AggregationRead(**_fields(_presented(row, decimals))) for row in aggregations
            ]


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


def _selection(query: PipeDataFilter, now: datetime) -> RowSelection:
    created_from = _epoch_ms(query.start_create_datetime, round_up=True)
    created_since = _epoch_ms(_relative_start(query.relative_time, now), round_up=True)
    if created_since is not None:
        created_from = created_since if created_from is None else max(created_from, created_since)
    return RowSelection(
        created_from_ms=created_from,
        created_to_ms=_epoch_ms(query.end_create_datetime, round_up=False),
        state_contains=query.search_string or None,
        aggregation_types=tuple(function.value for function in query.aggregation_type),
        window_size=query.time_window_size,
        window_end_from_ms=_epoch_ms(query.start_agg_window_datetime, round_up=True),
        window_end_to_ms=_epoch_ms(query.end_agg_window_datetime, round_up=False),
        descending=query.order_by_create_date is OrderByDate.DESC,
    )


def _relative_start(relative_time: str | None, now: datetime) -> datetime | None:
    if relative_time is None:
        return None
    seconds = int(relative_time[:-1]) * _RELATIVE_UNITS[relative_time[-1]]
    try:
        return now - timedelta(seconds=seconds)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


def _epoch_ms(moment: datetime | None, *, round_up: bool) -> int | None:
    """A bound in whole milliseconds (stored times have no more): a lower bound rounds up and
    an upper one down, so a stored time passes exactly when it passes the exact bound.
    Times without a zone are UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - EPOCH
    microseconds = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return -(-microseconds // 1000) if round_up else microseconds // 1000


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


def export_csv_zip(client: Client, node: UnitNode, now: datetime, into: BinaryIO) -> None:
    """Writes to `into` a ZIP with `<uuid>.csv`: every visible row of the node's policy,
    ascending, read from the store a block at a time (memory does not grow with the rows)."""
    config = _csv_config(node)
    with (
        zipfile.ZipFile(into, "w", zipfile.ZIP_DEFLATED) as zipped,
        zipped.open(f"{node.uuid}.csv", "w", force_zip64=True) as entry,
    ):
        _write_csv(client, node, config, now, entry)


def export_csv(client: Client, node: UnitNode, now: datetime, into: BinaryIO) -> None:
    """As `export_csv_zip`, the CSV itself (what `import_csv` takes back)."""
    _write_csv(client, node, _csv_config(node), now, into)


def _write_csv(
    client: Client, node: UnitNode, config: PipelineConfig, now: datetime, into: BinaryIO
) -> None:
    policy = config.processing_policy.policy_type
    node_uuid = str(node.uuid)
    rows: Iterator[tuple[Any, ...]]
    match policy:
        case PolicyType.N_RECORDS:
            rows = export_n_records(client, node_uuid)
        case PolicyType.TIME_WINDOW:
            rows = export_time_window(client, node_uuid, now)
        case _:
            rows = _presented_exports(export_aggregations(client, node_uuid), config)
    text = io.TextIOWrapper(into, encoding="utf-8", newline="", write_through=False)
    try:
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(_csv_columns(policy))
        writer.writerows(rows)
        text.flush()
    finally:
        text.detach()  # `into` belongs to the caller


def _presented_exports(
    rows: Iterator[tuple[Any, ...]], config: PipelineConfig
) -> Iterator[tuple[Any, ...]]:
    """Aggregation export rows with their state as shown (see `_presented`)."""
    columns = _csv_columns(PolicyType.AGGREGATION)
    state_at, function_at = columns.index("state"), columns.index("aggregation_type")
    decimals = _round_decimal_point(config)
    for row in rows:
        values = list(row)
        values[state_at] = presented_aggregate(values[state_at], values[function_at], decimals)
        yield tuple(values)


def _csv_columns(policy: PolicyType) -> tuple[str, ...]:
    row_type = {
        PolicyType.N_RECORDS: NRecordsRow,
        PolicyType.TIME_WINDOW: TimeWindowRow,
    }.get(policy, AggregationRow)
    return tuple(row_type.__slots__)


# --- CSV import -------------------------------------------------------------------------------


class RowError(ValueError):
    pass


@dataclass
class _ImportState:
    last_accepted: datetime | None = None
    last_state: str | None = None
    last_end: datetime | None = None


def import_csv(
    client: Client, node: UnitNode, upload: BinaryIO, max_bytes: int, now: datetime
) -> int:
    """Validates every row of the uploaded CSV against the node's config
    (docs/compatibility.md#csv-import-validates-before-deleting), then replaces the node's stored
    data with them. Any invalid row raises before anything is deleted. An upload larger than
    `max_bytes` is refused before a row is read; the rows go through memory a batch at a time
    (validated batches wait in a temporary file)."""
    size = upload.seek(0, io.SEEK_END)
    if size > max_bytes:
        raise DataPipeError(
            f"The CSV is {size} bytes, larger than the {max_bytes // MB} MB allowed "
            "(PU_MAX_CSV_IMPORT_SIZE)"
        )
    with tempfile.TemporaryFile() as validated:
        row_count, batch_count = validate_csv(node, upload, now, validated)
        delete_data(client, node.uuid)
        insert_validated(client, validated, batch_count)
    return row_count


def validate_csv(
    node: UnitNode, upload: BinaryIO, now: datetime, into: BinaryIO, *, skip_expired: bool = False
) -> tuple[int, int]:
    """Validates every row of the CSV `upload` (seekable) against the node's config and writes
    them to `into` in batches for `insert_validated`; returns (rows, batches). The first bad
    row raises DataPipeError. `skip_expired`: TimeWindow rows whose window has passed are left
    out rather than refused (an export's rows may expire before they are imported)."""
    config = _csv_config(node)
    rows = _csv_rows(config, str(node.uuid), upload, now, skip_expired=skip_expired)
    row_count = batch_count = 0
    while batch := list(islice(rows, IMPORT_BATCH_ROWS)):
        numbered = [IngestedRow(row_count + number, row) for number, row in enumerate(batch, 1)]
        pickle.dump(columns_by_table(numbered), into, protocol=pickle.HIGHEST_PROTOCOL)
        row_count += len(batch)
        batch_count += 1
    cap = config.processing_policy.n_records_count or 0
    if config.processing_policy.policy_type is PolicyType.N_RECORDS and row_count > cap:
        raise DataPipeError(f"The CSV has {row_count} rows, more than n_records_count {cap}")
    return row_count, batch_count


def insert_validated(
    client: Client, validated: BinaryIO, batch_count: int, retrier: Retrier | None = None
) -> None:
    """Stores the batches `validate_csv` wrote to `validated`; a failing insert is retried by
    `retrier` (by default, for as long as ClickHouse may heal)."""
    validated.seek(0)
    retrier = retrier or Retrier(DEFAULT_RETRY, clickhouse_may_heal)
    for _ in range(batch_count):
        insert_tables(client, pickle.load(validated), retrier)  # written by validate_csv


def _csv_rows(
    config: PipelineConfig,
    node_uuid: str,
    upload: BinaryIO,
    now: datetime,
    *,
    skip_expired: bool = False,
) -> Iterator[NRecordsRow | TimeWindowRow | AggregationRow]:
    """The upload's rows from its start, each validated; the first bad one raises."""
    upload.seek(0)
    text = io.TextIOWrapper(upload, encoding="utf-8-sig", newline="")
    policy = config.processing_policy.policy_type
    required = ["state", "create_datetime"]
    if policy is PolicyType.AGGREGATION:
        required += ["aggregation_type", "start_window_datetime", "end_window_datetime"]
    try:
        reader = csv.DictReader(text)
        missing = [column for column in required if column not in (reader.fieldnames or [])]
        if missing:
            raise DataPipeError(f"The CSV lacks the columns: {', '.join(missing)}")
        build = _row_builder(config, node_uuid, now)
        state = _ImportState()
        window = timedelta(seconds=config.processing_policy.time_window_size or 0)
        expires = skip_expired and config.processing_policy.policy_type is PolicyType.TIME_WINDOW
        for number, record in enumerate(reader, start=1):
            if expires:
                created = _parse_time_or_none(record)
                if created is not None and created < now - window:
                    continue
            try:
                row = build(record, state)
            except RowError as error:
                raise DataPipeError(f"Row {number}: {error}") from None
            yield row
    except csv.Error as error:
        raise DataPipeError(f"The CSV is malformed: {error}") from None
    except UnicodeDecodeError:
        raise DataPipeError("The CSV is not UTF-8") from None
    finally:
        text.detach()  # the upload belongs to the caller


def _cell(record: dict[str | Any, Any], column: str) -> str:
    value = record.get(column)
    if not isinstance(value, str):
        raise RowError(f"{column} is missing")
    return value


def _parse_time(record: dict[str | Any, Any], column: str) -> datetime:
    """`YYYY-MM-DD HH:MM:SS[.ffffff]` in UTC, read as strptime would (one- or two-digit fields)
    at a fraction of its cost: an import reads every row twice."""
    text = _cell(record, column)
    try:
        if _CSV_TIME_PADDED.fullmatch(text):
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        found = _CSV_TIME.fullmatch(text)
        if found is not None:
            *fields, fraction = found.groups()
            microseconds = int(fraction.ljust(6, "0")) if fraction else 0
            return datetime(*map(int, fields), microseconds, tzinfo=UTC)
    except ValueError:
        pass
    raise RowError(f"{column} {text!r} is not YYYY-MM-DD HH:MM:SS[.ffffff]")


def _parse_time_or_none(record: dict[str | Any, Any]) -> datetime | None:
    try:
        return _parse_time(record, "create_datetime")
    except RowError:
        return None


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
