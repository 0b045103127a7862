"""LastValue, NRecords and TimeWindow rows, with per-node policy parameters
(docs/compatibility.md#policy-parameters-per-node)."""

from datetime import UTC, datetime

from pipelines.engine import NodeMemory, Pipeline
from pipelines.rows import LastValueRow, NRecordsRow, TimeWindowRow
from tests.pipelines.builders import NODE, at, make_pipeline, run


def only_row(pipeline: Pipeline, payload: str, seconds: float = 0):
    _, results = run(pipeline, [(seconds, payload)])
    (row,) = results[0].rows
    return row


def test_last_value_row():
    row = only_row(make_pipeline(), "on", seconds=1.2345)
    assert row == LastValueRow(NODE, "on", at(1.234))


def test_n_records_row():
    pipeline = make_pipeline(
        {"type_input_value": "Number"}, {"policy_type": "NRecords", "n_records_count": 5}
    )
    row = only_row(pipeline, "21.5", seconds=0.5)
    assert row == NRecordsRow(NODE, "21.5", "Number", at(0.5), 5, 4)


def test_size_is_in_utf8_bytes():
    pipeline = make_pipeline(policy={"policy_type": "NRecords", "n_records_count": 5})
    assert only_row(pipeline, "ééé").size == 6


def test_time_window_expiration_is_truncated_to_whole_seconds():
    pipeline = make_pipeline(policy={"policy_type": "TimeWindow", "time_window_size": 60})
    row = only_row(pipeline, "x", seconds=0.7)
    assert isinstance(row, TimeWindowRow)
    assert row.create_datetime == at(0.7)
    assert row.expiration_datetime == at(60)
    assert (row.state_type, row.size) == ("Text", 1)


def test_every_accepted_message_is_one_row():
    pipeline = make_pipeline(policy={"policy_type": "NRecords", "n_records_count": 2})
    _, results = run(pipeline, [(i, str(i)) for i in range(5)])
    assert [r.rows[0].state for r in results] == ["0", "1", "2", "3", "4"]


def test_policy_parameters_are_per_node():
    # docs/compatibility.md#policy-parameters-per-node: the reference took max_count / window size
    # from the last node that used a buffer.
    small = make_pipeline(policy={"policy_type": "NRecords", "n_records_count": 3}, node="a")
    large = make_pipeline(policy={"policy_type": "NRecords", "n_records_count": 900}, node="b")
    short = make_pipeline(policy={"policy_type": "TimeWindow", "time_window_size": 60}, node="c")
    long = make_pipeline(policy={"policy_type": "TimeWindow", "time_window_size": 86400}, node="d")
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    rows = {}
    for pipeline in (small, large, short, long, small, short):
        (rows[pipeline.unit_node_uuid],) = pipeline.process(NodeMemory(), "v", moment).rows
    assert rows["a"].max_count == 3
    assert rows["b"].max_count == 900
    assert rows["c"].expiration_datetime == datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    assert rows["d"].expiration_datetime == datetime(2026, 1, 2, tzinfo=UTC)


def test_filter_memory_survives_a_config_change():
    memory = NodeMemory()
    before = make_pipeline({"last_unique_check": True})
    after = make_pipeline(
        {"last_unique_check": True}, {"policy_type": "NRecords", "n_records_count": 10}
    )
    assert before.process(memory, "A", at(0)).accepted
    assert not after.process(memory, "A", at(1)).accepted
    assert after.process(memory, "B", at(2)).accepted


def test_naive_clock_is_refused():
    pipeline = make_pipeline()
    try:
        pipeline.process(NodeMemory(), "x", datetime(2026, 1, 1))
    except ValueError as error:
        assert "timezone" in str(error)
    else:
        raise AssertionError("a naive datetime must not be taken as UTC silently")
