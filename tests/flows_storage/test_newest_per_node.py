"""The batch reduction of LastValueWriter: per node the newest row, ties to the later row."""

from hypothesis import given
from hypothesis import strategies as st

from flows.storage.last_value_writer import newest_per_node
from pipelines.rows import LastValueRow
from tests.flows_storage.builders import at

NODES = [f"00000000-0000-0000-0000-00000000000{digit}" for digit in range(4)]

rows = st.lists(
    st.builds(
        LastValueRow,
        unit_node_uuid=st.sampled_from(NODES),
        state=st.text(max_size=3),
        last_update_datetime=st.integers(0, 5).map(at),  # few distinct times: many ties
    ),
    max_size=30,
)


@given(rows)
def test_keeps_per_node_the_newest_row_and_the_last_of_equal_ones(batch):
    newest_time = {}
    for row in batch:
        node, time = row.unit_node_uuid, row.last_update_datetime
        newest_time[node] = max(newest_time.get(node, time), time)
    # Later rows of the batch overwrite earlier ones in the dict.
    expected = {
        row.unit_node_uuid: row
        for row in batch
        if row.last_update_datetime == newest_time[row.unit_node_uuid]
    }

    result = newest_per_node(batch)

    assert {str(node): row for node, row in result} == expected
    assert [node for node, _ in result] == sorted(node for node, _ in result)
    assert all(row is expected[str(node)] for node, row in result)
