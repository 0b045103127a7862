"""The simulation runner and what a reader sees at the end
(docs/compatibility.md#reads-honour-n-and-expiry)."""

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from pipelines.files import load_pipeline_file
from pipelines.rows import AggregationRow, LastValueRow, NRecordsRow, TimeWindowRow
from pipelines.simulation.messages import MessageFileError, read_messages
from pipelines.simulation.runner import PLACEHOLDER_NODE_UUID, SimulationSetupError, simulate
from tests.pipelines.builders import at

NODE_A = "aaaaaaaa-0000-4000-8000-000000000001"
NODE_B = "bbbbbbbb-0000-4000-8000-000000000002"


def pipeline_file(tmp_path: Path, name: str, policy: dict, node: str | None = None, **filters):
    document = {
        "active_period": {"type": "Permanent"},
        "filters": {"type_input_value": "Text", "max_rate": 0, "max_size": 0, **filters},
        "processing_policy": policy,
    }
    if node:
        document["node"] = node
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document))
    loaded = load_pipeline_file(path, require_binding=False)
    assert loaded is not None
    return loaded


def messages(*records: tuple[float, str, str | None]):
    lines = []
    for seconds, payload, node in records:
        record = {"t": at(seconds).isoformat(), "payload": payload}
        if node:
            record["node"] = node
        lines.append(json.dumps(record))
    return read_messages(io.StringIO("\n".join(lines) + "\n"))


def test_last_value_keeps_the_latest_per_node(tmp_path):
    file = pipeline_file(tmp_path, "p.yaml", {"policy_type": "LastValue"})
    result = simulate([file], messages((0, "a", NODE_A), (1, "b", NODE_B), (2, "c", NODE_A)))
    assert result.rows == [
        LastValueRow(NODE_A, "c", at(2)),
        LastValueRow(NODE_B, "b", at(1)),
    ]


def test_n_records_shows_the_newest_n_per_node(tmp_path):
    file = pipeline_file(tmp_path, "p.yaml", {"policy_type": "NRecords", "n_records_count": 3})
    records = [(i, str(i), NODE_A if i % 2 else NODE_B) for i in range(12)]
    result = simulate([file], messages(*records))
    shown = [(row.unit_node_uuid, row.state) for row in result.rows]
    assert all(isinstance(row, NRecordsRow) for row in result.rows)
    assert shown == [(NODE_A, "7"), (NODE_A, "9"), (NODE_A, "11"), (NODE_B, "6"), (NODE_B, "8"),
                     (NODE_B, "10")]  # fmt: skip


def test_time_window_hides_rows_expired_at_now(tmp_path):
    file = pipeline_file(tmp_path, "p.yaml", {"policy_type": "TimeWindow", "time_window_size": 60})
    stream = [(0.5, "a", None), (30, "b", None), (61, "c", None)]
    # at the last input time (61 s) "a" expired at 60 s; "b" expires at 90 s
    assert [r.state for r in simulate([file], messages(*stream)).rows] == ["b", "c"]
    at_90 = simulate([file], messages(*stream), now=at(90))
    assert [r.state for r in at_90.rows] == ["c"]
    assert all(isinstance(r, TimeWindowRow) for r in at_90.rows)
    at_0 = simulate([file], messages(*stream), now=at(0))
    assert [r.state for r in at_0.rows] == ["a", "b", "c"]


def test_all_aggregation_windows_close_at_the_end(tmp_path):
    policy = {"policy_type": "Aggregation", "time_window_size": 60, "aggregation_functions": "Sum"}
    file = pipeline_file(tmp_path, "p.yaml", policy, type_input_value="Number")
    result = simulate([file], messages((1, "1", None), (2, "2", None), (70, "5", None)))
    assert [(r.start_window_datetime, r.state) for r in result.rows] == [
        (at(0), 3.0),
        (at(60), 5.0),
    ]
    assert all(isinstance(r, AggregationRow) for r in result.rows)


def test_single_file_uses_its_binding_or_the_placeholder(tmp_path):
    bound = pipeline_file(tmp_path, "bound.yaml", {"policy_type": "LastValue"}, node=NODE_A)
    assert simulate([bound], messages((0, "x", None))).rows[0].unit_node_uuid == NODE_A
    unbound = pipeline_file(tmp_path, "unbound.yaml", {"policy_type": "LastValue"})
    row = simulate([unbound], messages((0, "x", None))).rows[0]
    assert row.unit_node_uuid == PLACEHOLDER_NODE_UUID


def test_bound_file_rejects_other_nodes(tmp_path):
    bound = pipeline_file(tmp_path, "bound.yaml", {"policy_type": "LastValue"}, node=NODE_A)
    result = simulate([bound], messages((0, "x", NODE_B), (1, "y", NODE_A.upper())))
    assert [(r.node, r.rejection.reason) for r in result.rejected] == [(NODE_B, "no_pipeline")]
    assert [row.state for row in result.rows] == ["y"]


def test_several_files_route_by_node(tmp_path):
    last = pipeline_file(tmp_path, "a.yaml", {"policy_type": "LastValue"}, node=NODE_A)
    window = pipeline_file(
        tmp_path, "b.yaml", {"policy_type": "TimeWindow", "time_window_size": 60}, node=NODE_B
    )
    result = simulate([last, window], messages((0, "1", NODE_A), (1, "2", NODE_B)))
    assert [(type(r), r.state) for r in result.rows] == [(LastValueRow, "1"), (TimeWindowRow, "2")]
    with pytest.raises(MessageFileError, match="line 1"):
        simulate([last, window], messages((0, "1", None)))


def test_several_files_need_node_bindings(tmp_path):
    one = pipeline_file(tmp_path, "a.yaml", {"policy_type": "LastValue"}, node=NODE_A)
    unbound = pipeline_file(tmp_path, "b.yaml", {"policy_type": "LastValue"})
    with pytest.raises(SimulationSetupError, match=r"b\.yaml"):
        simulate([one, unbound], messages((0, "1", NODE_A)))


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("not json", "not valid JSON"),
        ('["t"]', "JSON object"),
        ('{"payload": "1"}', "'t'"),
        ('{"t": "2026-01-01T00:00:00", "payload": "1"}', "no zone"),
        ('{"t": "yesterday", "payload": "1"}', "'t'"),
        ('{"t": "2026-01-01T00:00:00Z", "payload": 1}', "'payload'"),
        ('{"t": "2026-01-01T00:00:00Z", "payload": "1", "node": 5}', "'node'"),
    ],
)
def test_bad_message_lines_name_the_line(line, problem):
    text = '{"t": "2026-01-01T00:00:00Z", "payload": "ok"}\n\n' + line + "\n"
    with pytest.raises(MessageFileError, match=rf"line 3: .*{problem}"):
        list(read_messages(io.StringIO(text)))


def test_time_must_not_go_back():
    text = (
        '{"t": "2026-01-01T00:00:01Z", "payload": "a"}\n'
        '{"t": "2026-01-01T00:00:01Z", "payload": "b"}\n'
        '{"t": "2026-01-01T00:00:00.999Z", "payload": "c"}\n'
    )
    with pytest.raises(MessageFileError, match="line 3: 't' goes back in time for the messages"):
        list(read_messages(io.StringIO(text)))


def test_concatenated_node_recordings_are_merged_by_time():
    """Two nodes' exports one after the other: each is in order, together they are not."""
    first, second = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
    text = (
        f'{{"t": "2026-01-01T00:00:00Z", "payload": "a0", "node": "{first}"}}\n'
        f'{{"t": "2026-01-01T00:00:02Z", "payload": "a2", "node": "{first}"}}\n'
        f'{{"t": "2026-01-01T00:00:01Z", "payload": "b1", "node": "{second}"}}\n'
        f'{{"t": "2026-01-01T00:00:02Z", "payload": "b2", "node": "{second}"}}\n'
    )
    merged = read_messages(io.StringIO(text))
    assert [message.payload for message in merged] == ["a0", "b1", "a2", "b2"]
    going_back = text + f'{{"t": "2026-01-01T00:00:01Z", "payload": "b?", "node": "{second}"}}\n'
    with pytest.raises(MessageFileError, match=f"line 5: 't' goes back in time for node {second}"):
        read_messages(io.StringIO(going_back))


def test_offsets_are_converted_to_utc():
    text = '{"t": "2026-01-01T03:00:00+03:00", "payload": "a"}\n'
    (message,) = read_messages(io.StringIO(text))
    assert message.t == at(0) - timedelta(hours=12)
