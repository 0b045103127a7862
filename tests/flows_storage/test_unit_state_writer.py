"""UnitStateWriter on SQLite and PostgreSQL: a state report sets the time of the last report,
which an edit of the unit does not move, so a report received after an edit is stored and a
replay of an older one is not (docs/compatibility.md#state-and-log-reports)."""

from datetime import UTC, datetime, timedelta

from flows.storage.unit_state_writer import UnitStateWriter
from pepeunit_core.db.models import Unit
from pepeunit_core.stored_data.rows import UnitStateRow
from tests.flows_storage.builders import ingested
from tests.pepeunit_core.builders import add_unit_tree


def report(unit: Unit, millis: int, received: datetime) -> UnitStateRow:
    return UnitStateRow(str(unit.uuid), f'{{"millis":{millis}}}', "abc", received)


def test_reports_set_their_own_time_which_an_edit_leaves(session_factory):
    with session_factory() as session, session.begin():
        _, unit = add_unit_tree(session)
        uuid = unit.uuid
    writer = UnitStateWriter(session_factory, state_send_interval_s=30)
    first = datetime.now(UTC) - timedelta(minutes=5)
    assert writer.write(ingested([report(unit, 1, first)])).stored == 1
    with session_factory() as session, session.begin():
        row = session.get_one(Unit, uuid)
        assert row.last_state_report_datetime == first
        row.name = "renamed"
        row.last_update_datetime = datetime.now(UTC)  # as an edit through the API
    later = first + timedelta(seconds=30)
    assert writer.write(ingested([report(unit, 2, later)])).stored == 1
    assert writer.write(ingested([report(unit, 1, first)])).stored == 0  # a replay
    with session_factory() as session:
        row = session.get_one(Unit, uuid)
        assert row.last_state_report_datetime == later and row.unit_state_dict == '{"millis":2}'
