"""Paged reads filter, order and page in ClickHouse and return what the whole-node reads would
after the same filter and slice; exports give the CSV values of the same rows."""

from datetime import timedelta

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
from pepeunit_core.stored_data.reads import read_aggregations, read_time_window
from pipelines.clock import to_epoch_ms
from tests.flows_storage.builders import (
    aggregation_record,
    at,
    n_record,
    new_node,
    recent,
    window_record,
)
from tests.pepeunit_core.clickhouse_rows import store

EVERYTHING = RowPage(0, 100)


def test_n_records_are_numbered_among_the_visible_rows_whatever_the_filter(clickhouse):
    node = new_node()
    store(clickhouse, [n_record(node, i, f"v{i}", cap=5, ingest_id=i) for i in range(8)])

    def page(selection: RowSelection, rows: RowPage = EVERYTHING) -> tuple[int, list]:
        count, numbered = page_n_records(clickhouse, node, selection, rows)
        return count, [(number, row.state) for number, row in numbered]

    visible = [(number, f"v{i}") for number, i in enumerate(range(3, 8), start=1)]
    assert page(RowSelection()) == (5, visible)
    assert page(RowSelection(descending=True), RowPage(1, 2)) == (5, [(4, "v6"), (3, "v5")])
    assert page(RowSelection(state_contains="V5")) == (1, [(3, "v5")])
    since = RowSelection(created_from_ms=to_epoch_ms(at(5)), created_to_ms=to_epoch_ms(at(6)))
    assert page(since) == (2, [(3, "v5"), (4, "v6")])
    assert page(RowSelection(), RowPage(5, 10)) == (5, [])
    assert page_n_records(clickhouse, new_node(), RowSelection(), EVERYTHING) == (0, [])


def test_time_window_pages_are_slices_of_the_unexpired_rows(clickhouse):
    node = new_node()
    start = recent(-30)
    records = [
        window_record(node, start + timedelta(seconds=i), f"{i}", 60 if i % 3 else 3, i)
        for i in range(10)
    ]
    store(clickhouse, records)
    now = start + timedelta(seconds=20)
    unexpired = read_time_window(clickhouse, node, now)
    assert len(unexpired) == 6  # rows 0, 3, 6 and 9 had a three-second window

    count, rows = page_time_window(clickhouse, node, now, RowSelection(), EVERYTHING)
    assert (count, rows) == (6, unexpired)
    count, rows = page_time_window(
        clickhouse, node, now, RowSelection(descending=True), RowPage(2, 3)
    )
    assert (count, rows) == (6, list(reversed(unexpired))[2:5])
    count, rows = page_time_window(
        clickhouse, node, now, RowSelection(state_contains="8"), EVERYTHING
    )
    assert [row.state for row in rows] == ["8"] and count == 1


def test_aggregation_filters_run_in_the_store(clickhouse):
    node = new_node()
    store(
        clickhouse,
        [
            aggregation_record(node, start, window, function, value)
            for start, window, function, value in [
                (0, 60, "Avg", 1.0),
                (0, 60, "Max", 2.0),
                (60, 60, "Avg", 3.0),
                (0, 300, "Avg", 4.0),
                (120, 60, "Sum", 5.0),
            ]
        ],
    )
    every = read_aggregations(clickhouse, node)

    def states(selection: RowSelection) -> list[float]:
        count, rows = page_aggregations(clickhouse, node, selection, EVERYTHING)
        assert count == len(rows)
        return [row.state for row in rows]

    assert sorted(states(RowSelection())) == sorted(row.state for row in every)
    assert states(RowSelection(aggregation_types=("Avg",))) == [1.0, 3.0, 4.0]
    assert states(RowSelection(aggregation_types=())) == []
    assert states(RowSelection(window_size=300)) == [4.0]
    assert states(RowSelection(window_size=2**70)) == []
    ends = RowSelection(window_end_from_ms=to_epoch_ms(at(120)), window_end_to_ms=None)
    assert states(ends) == [3.0, 5.0, 4.0]
    assert states(RowSelection(descending=True)) == [4.0, 5.0, 3.0, 2.0, 1.0]


def test_exports_give_csv_values_oldest_first(clickhouse):
    records, windows, aggregations = new_node(), new_node(), new_node()
    created = recent(-5)
    store(
        clickhouse,
        [
            n_record(records, 1.5, "b", cap=2, ingest_id=2),
            n_record(records, 0, "a", cap=2, ingest_id=1),
            n_record(records, 0, "cut", cap=2, ingest_id=0),
            window_record(windows, created, "7", 60, 1),
            aggregation_record(aggregations, 60, 60, "Avg", 2.5),
        ],
    )

    assert list(export_n_records(clickhouse, records)) == [
        (records, "a", "Text", "2026-01-01 12:00:00.000000", 2, 1),
        (records, "b", "Text", "2026-01-01 12:00:01.500000", 2, 1),
    ]
    stamp = created.strftime("%Y-%m-%d %H:%M:%S.%f")
    expiry = (created + timedelta(seconds=60)).strftime("%Y-%m-%d %H:%M:%S.000000")
    assert list(export_time_window(clickhouse, windows, created)) == [
        (windows, "7", "Number", stamp, expiry, 1)
    ]
    assert list(export_aggregations(clickhouse, aggregations)) == [
        (
            aggregations,
            2.5,
            "Avg",
            60,
            "2026-01-01 12:02:00.000000",
            "2026-01-01 12:01:00.000000",
            "2026-01-01 12:02:00.000000",
        )
    ]
