"""Active period bounds are strict and judged on the receive clock."""

import pytest

from pipelines import rejections
from tests.pipelines.builders import at, make_pipeline, run

START, END = at(100), at(200)


@pytest.mark.parametrize(
    ("period", "active_seconds"),
    [
        ({"type": "Permanent"}, [0, 100, 150, 200, 300]),
        ({"type": "Permanent", "start": START, "end": START}, [0, 100, 150, 200, 300]),
        ({"type": "FromDate", "start": START}, [150, 200, 300]),
        ({"type": "ToDate", "end": END}, [0, 100, 150]),
        ({"type": "DateRange", "start": START, "end": END}, [150]),
    ],
)
def test_strict_bounds(period, active_seconds):
    pipeline = make_pipeline(active_period=period)
    seconds = [0, 100, 150, 200, 300]
    _, results = run(pipeline, [(s, str(s)) for s in seconds])
    assert [s for s, r in zip(seconds, results, strict=True) if r.accepted] == active_seconds
    assert {r.rejection for r in results if not r.accepted} <= {rejections.INACTIVE_PERIOD}


def test_one_millisecond_after_the_start_is_active():
    pipeline = make_pipeline(active_period={"type": "FromDate", "start": START})
    _, results = run(pipeline, [(100, "a"), (100.001, "b")])
    assert [r.accepted for r in results] == [False, True]


def test_other_zones_compare_as_instants():
    pipeline = make_pipeline(
        active_period={"type": "FromDate", "start": "2026-01-01T15:00:00+03:00"}  # 12:00 UTC
    )
    _, results = run(pipeline, [(-1, "a"), (1, "b")])
    assert [r.accepted for r in results] == [False, True]


def test_inactive_messages_do_not_touch_filter_memory():
    pipeline = make_pipeline({"max_rate": 60}, active_period={"type": "FromDate", "start": START})
    state, results = run(pipeline, [(50, "early"), (101, "first")])
    assert [r.accepted for r in results] == [False, True]
    assert state.filter_memory.last_accepted_raw == "first"
