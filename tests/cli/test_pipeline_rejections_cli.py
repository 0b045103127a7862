"""`pepeunit pipelines rejections`, run as the installed console script on a SQLite database:
what a stored record shows, and clear errors for unknown nodes."""

from datetime import UTC, datetime
from uuid import UUID, uuid4

from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.db.models import UnitNode
from pepeunit_core.pipe_rejections import RejectedMessage, RejectionLog
from tests.cli.test_pipelines_apply_cli import run_cli
from tests.flows.support import pipeline_config, seed_nodes


def test_shows_a_nodes_record_and_refuses_unknown_nodes(tmp_path):
    url = f"sqlite:///{tmp_path / 'pepeunit.sqlite'}"
    config = pipeline_config({"policy_type": "LastValue"})
    nodes = seed_nodes(url, {"temp": config, "quiet": config})
    log = RejectionLog()
    for second, payload in enumerate(["warm", "hot"]):
        moment = datetime(2026, 12, 7, 12, 0, second, tzinfo=UTC)
        log.record(RejectedMessage(moment, "Filters", "not_a_number", f"{payload!r}: not a number"))
    with make_session_factory(make_engine(url))() as session:
        node = session.get_one(UnitNode, UUID(nodes["temp"]))
        node.data_pipe_rejected_count, node.data_pipe_rejections = 2, log.to_stored()
        session.commit()

    shown = run_cli("pipelines", "rejections", database_url=url)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        f"flowunit/temp/pepeunit ({nodes['temp']}): 2 rejected (Filters.not_a_number 2)",
        "  2026-12-07T12:00:01.000+00:00 Filters.not_a_number: 'hot': not a number",
        "  2026-12-07T12:00:00.000+00:00 Filters.not_a_number: 'warm': not a number",
    ]

    unknown = uuid4()
    missing = run_cli("pipelines", "rejections", nodes["quiet"], str(unknown), database_url=url)
    assert missing.returncode == 1
    assert missing.stdout == f"flowunit/quiet/pepeunit ({nodes['quiet']}): 0 rejected\n"
    assert f"error: no unit node with uuid {unknown}" in missing.stderr

    bad = run_cli("pipelines", "rejections", "not-a-uuid", database_url=url)
    assert bad.returncode == 2 and "not-a-uuid" in bad.stderr
