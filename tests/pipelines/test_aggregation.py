"""Aggregation windows: [start, end) aligned to UTC multiples, emitted once, never empty."""

import pickle
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines import rejections
from pipelines.aggregation import window_bounds_ms
from pipelines.clock import to_epoch_ms
from pipelines.config import TIME_WINDOW_SIZES
from pipelines.engine import NodeMemory
from pipelines.rows import AggregationRow
from tests.pipelines.builders import NODE, make_pipeline

DAY = datetime(2026, 3, 14, tzinfo=UTC)


def aggregation(size=60, function="Avg", value_type="Number", node=NODE, **filters):
    return make_pipeline(
        {"type_input_value": value_type, **filters},
        {"policy_type": "Aggregation", "time_window_size": size, "aggregation_functions": function},
        node=node,
    )


def feed(pipeline, timed_values, memory=None):
    """Processes (datetime, payload) pairs and returns (memory, emitted rows)."""
    memory = memory or NodeMemory()
    rows = []
    for moment, payload in timed_values:
        rows.extend(pipeline.process(memory, payload, moment).rows)
    return memory, rows


def hms(hours, minutes=0, seconds=0.0):
    return DAY + timedelta(hours=hours, minutes=minutes, seconds=seconds)


def test_window_bounds_are_half_open_and_aligned():
    pipeline = aggregation(size=900)
    memory, rows = feed(
        pipeline,
        [(hms(12, 7), "1"), (hms(12, 14, 59.999), "3"), (hms(12, 15), "10"), (hms(12, 29), "20")],
    )
    assert len(rows) == 1  # the 12:15 message closed [12:00, 12:15)
    first = rows[0]
    assert (first.start_window_datetime, first.end_window_datetime) == (hms(12), hms(12, 15))
    assert first.state == 2.0
    (second,) = pipeline.close_due_windows(memory, hms(12, 30))
    assert (second.start_window_datetime, second.state) == (hms(12, 15), 15.0)


@pytest.mark.parametrize("size", TIME_WINDOW_SIZES)
def test_every_window_size_lines_up_with_utc_midnight(size):
    start, end = window_bounds_ms(to_epoch_ms(hms(23, 59, 59.999)), size)
    assert end == to_epoch_ms(DAY + timedelta(days=1))
    assert end - start == size * 1000


def test_day_window_is_the_utc_day_whatever_the_input_zone():
    pipeline = aggregation(size=86400, function="Sum")
    tokyo = timezone_hours(9)
    memory, _ = feed(pipeline, [(datetime(2026, 3, 15, 8, 0, tzinfo=tokyo), "1")])  # 23:00 UTC
    (row,) = pipeline.close_due_windows(memory, DAY + timedelta(days=2))
    assert row.start_window_datetime == DAY
    assert row.end_window_datetime == DAY + timedelta(days=1)


def timezone_hours(hours):
    from datetime import timezone

    return timezone(timedelta(hours=hours))


@pytest.mark.parametrize(
    ("function", "expected"),
    [("Avg", 4.25), ("Min", -2.0), ("Max", 12.0), ("Sum", 17.0)],
)
def test_functions(function, expected):
    pipeline = aggregation(function=function)
    memory, _ = feed(
        pipeline, [(hms(1, 0, s), v) for s, v in [(1, "5"), (2, "-2"), (3, "12"), (4, "2")]]
    )
    (row,) = pipeline.close_due_windows(memory, hms(1, 1))
    assert row.state == expected
    assert row.aggregation_type == function


def test_average_sums_in_arrival_order():
    pipeline = aggregation()
    values = ["0.1", "0.2", "0.3", "1e16", "-1e16"]
    memory, _ = feed(pipeline, [(hms(2, 0, i), v) for i, v in enumerate(values)])
    (row,) = pipeline.close_due_windows(memory, hms(2, 1))
    total = 0.0
    for value in values:
        total += float(value)
    assert row.state == total / len(values)


def test_aggregates_the_transformed_value():
    pipeline = make_pipeline(
        {"type_input_value": "Number"},
        {"policy_type": "Aggregation", "time_window_size": 60, "aggregation_functions": "Max"},
        transformations={"multiplication_ratio": 0.0625, "round_decimal_point": 1},
    )
    memory, _ = feed(pipeline, [(hms(3, 0, 1), "336"), (hms(3, 0, 2), "341")])
    (row,) = pipeline.close_due_windows(memory, hms(3, 1))
    assert row.state == 21.3  # 341 * 0.0625 = 21.3125 -> "21.3"


def test_row_columns():
    pipeline = aggregation(size=300, function="Min")
    memory, _ = feed(pipeline, [(hms(4, 2), "7")])
    (row,) = pipeline.close_due_windows(memory, hms(4, 5))
    assert row == AggregationRow(
        unit_node_uuid=NODE,
        state=7.0,
        aggregation_type="Min",
        time_window_size=300,
        create_datetime=hms(4, 5),
        start_window_datetime=hms(4),
        end_window_datetime=hms(4, 5),
    )


def test_window_closes_exactly_at_its_end_and_only_once():
    pipeline = aggregation()
    memory, _ = feed(pipeline, [(hms(5, 0, 10), "1")])
    assert pipeline.close_due_windows(memory, hms(5, 0, 59.999)) == []
    assert len(pipeline.close_due_windows(memory, hms(5, 1))) == 1
    assert pipeline.close_due_windows(memory, hms(5, 1)) == []
    assert pipeline.close_due_windows(memory, hms(9)) == []


def test_no_rows_for_empty_windows():
    pipeline = aggregation()
    memory, rows = feed(pipeline, [(hms(6, 0, 5), "1"), (hms(6, 50, 5), "2")])
    rows += pipeline.close_due_windows(memory, hms(7))
    assert [row.start_window_datetime for row in rows] == [hms(6), hms(6, 50)]


def test_a_value_for_an_emitted_window_is_rejected_not_emitted_twice():
    pipeline = aggregation()
    memory, rows = feed(pipeline, [(hms(7, 0, 5), "1"), (hms(7, 1, 5), "2")])
    assert len(rows) == 1
    result = pipeline.process(memory, "3", hms(7, 0, 30))  # the clock went back
    assert result.rejection == rejections.WINDOW_ALREADY_CLOSED
    later = pipeline.close_due_windows(memory, hms(8))
    assert [row.state for row in later] == [2.0]


def test_text_aggregation_needs_a_number_and_keeps_filter_memory_unchanged():
    pipeline = aggregation(value_type="Text", last_unique_check=True)
    memory = NodeMemory()
    assert pipeline.process(memory, "5", hms(8, 0, 1)).accepted
    result = pipeline.process(memory, "warm", hms(8, 0, 2))
    assert result.rejection == rejections.AGGREGATED_NOT_A_NUMBER
    assert memory.filter_memory.last_accepted_raw == "5"
    assert pipeline.process(memory, "NaN", hms(8, 0, 3)).rejection == (
        rejections.AGGREGATED_NOT_A_NUMBER
    )


def test_each_node_uses_its_own_window_size_and_function():
    fast = aggregation(size=60, function="Sum", node="fast")
    slow = aggregation(size=3600, function="Max", node="slow")
    fast_state, fast_rows = feed(fast, [(hms(9, 0, s), "1") for s in range(0, 120, 10)])
    slow_state, slow_rows = feed(slow, [(hms(9, 0, s), str(s)) for s in range(0, 120, 10)])
    fast_rows += fast.close_due_windows(fast_state, hms(10))
    slow_rows += slow.close_due_windows(slow_state, hms(10))
    assert [(r.time_window_size, r.aggregation_type, r.state) for r in fast_rows] == [
        (60, "Sum", 6.0),
        (60, "Sum", 6.0),
    ]
    assert [(r.time_window_size, r.aggregation_type, r.state) for r in slow_rows] == [
        (3600, "Max", 110.0)
    ]


def test_open_window_keeps_its_function_across_a_config_change():
    memory = NodeMemory()
    aggregation(function="Sum").process(memory, "2", hms(10, 0, 1))
    new_config = aggregation(function="Max")
    new_config.process(memory, "3", hms(10, 0, 2))
    (row,) = new_config.close_due_windows(memory, hms(10, 1))
    assert (row.aggregation_type, row.state) == ("Sum", 5.0)


def test_state_snapshot_resumes_open_windows_exactly():
    pipeline = aggregation(function="Avg", max_rate=2, last_unique_check=True)
    messages = [(hms(11, 0, s), str(s % 7)) for s in range(0, 200, 1)]
    _, uninterrupted = feed(pipeline, messages)
    memory, first_half = feed(pipeline, messages[:95])
    restored = pickle.loads(pickle.dumps(memory))
    _, second_half = feed(pipeline, messages[95:], restored)
    assert first_half + second_half == uninterrupted


@settings(max_examples=60, deadline=None)
@given(
    size=st.sampled_from(TIME_WINDOW_SIZES),
    offsets_ms=st.lists(st.integers(min_value=0, max_value=3 * 86_400_000), max_size=60),
    values=st.lists(st.integers(min_value=-1000, max_value=1000), min_size=60, max_size=60),
)
def test_matches_naive_grouping(size, offsets_ms, values):
    pipeline = aggregation(size=size, function="Sum")
    timed = [
        (DAY + timedelta(milliseconds=offset), str(value))
        for offset, value in zip(sorted(offsets_ms), values, strict=False)
    ]
    memory, rows = feed(pipeline, timed)
    rows += pipeline.close_due_windows(memory, DAY + timedelta(days=5))
    expected = defaultdict(float)
    for moment, value in timed:
        epoch_s = int(moment.timestamp())
        expected[epoch_s - epoch_s % size] += float(value)
    assert {int(r.start_window_datetime.timestamp()): r.state for r in rows} == dict(expected)
    assert all(r.create_datetime == r.end_window_datetime for r in rows)


def test_state_copy_is_independent_and_resumes_like_the_original():
    pipeline = aggregation(function="Sum", max_rate=1, last_unique_check=True)
    memory, _ = feed(pipeline, [(hms(12, 0, s), str(s % 5)) for s in range(0, 30, 2)])
    snapshot = memory.copy()
    later = [(hms(12, 0, s), str(s % 5)) for s in range(30, 140, 2)]
    _, from_original = feed(pipeline, later, memory)
    _, from_copy = feed(pipeline, later, snapshot)
    assert from_copy == from_original
    assert snapshot is not memory and snapshot.open_windows.by_key is not memory.open_windows.by_key
