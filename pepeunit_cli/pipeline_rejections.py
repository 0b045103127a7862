"""`pepeunit pipelines rejections`: what the nodes' pipelines rejected, read from the database."""

import json
from uuid import UUID

import click
from sqlalchemy import select

from pepeunit_cli.pipelines import _database_session
from pepeunit_core.db.models import Unit, UnitNode
from pepeunit_core.pipe_rejections import RejectionLog


def _as_json(node: UnitNode, unit_name: str, log: RejectionLog) -> str:
    return json.dumps(
        {
            "unit_node_uuid": str(node.uuid),
            "unit": unit_name,
            "topic_name": node.topic_name,
            "rejected_count": log.rejected_count,
            "rejected_by_reason": log.by_reason,
            "last_rejections": [entry.as_json() for entry in reversed(log.recent)],
        },
        ensure_ascii=False,
    )


def _as_text(node: UnitNode, unit_name: str, log: RejectionLog) -> list[str]:
    reasons = ", ".join(f"{reason} {count}" for reason, count in log.by_reason.items())
    lines = [
        f"{unit_name}/{node.topic_name} ({node.uuid}): {log.rejected_count} rejected"
        + (f" ({reasons})" if reasons else "")
    ]
    for entry in reversed(log.recent):
        moment = entry.received_datetime.isoformat(timespec="milliseconds")
        lines.append(f"  {moment} {entry.stage}.{entry.reason}: {entry.message}")
    return lines


@click.command(name="rejections")
@click.argument("node_uuids", nargs=-1, type=click.UUID)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: a line per node, then its last rejected messages; json: one object per node.",
)
def rejections(node_uuids: tuple[UUID, ...], output_format: str) -> None:
    """Messages the pipelines rejected: per node the count, the count per rule and the last
    20 with their time and reason, newest first.

    Lists the given nodes (NODE_UUIDS), or every node with a rejection. Uses
    PU_SQLALCHEMY_DATABASE_URL (default: the SQLite file under PU_DATA_DIR); the dataflow
    stores what it rejected within about a second.
    """
    statement = select(UnitNode, Unit.name).join(Unit, Unit.uuid == UnitNode.unit_uuid)
    if node_uuids:
        statement = statement.where(UnitNode.uuid.in_(node_uuids))
    else:
        statement = statement.where(UnitNode.data_pipe_rejected_count > 0)
    with _database_session() as session:
        rows = session.execute(statement.order_by(Unit.name, UnitNode.topic_name)).all()
        found = {node.uuid for node, _name in rows}
        for node, unit_name in rows:
            log = RejectionLog.from_stored(node.data_pipe_rejected_count, node.data_pipe_rejections)
            if output_format == "json":
                click.echo(_as_json(node, unit_name, log))
            else:
                for line in _as_text(node, unit_name, log):
                    click.echo(line)
    missing = [str(uuid) for uuid in node_uuids if uuid not in found]
    if missing:
        click.echo(f"error: no unit node with uuid {', '.join(missing)}", err=True)
        raise SystemExit(1)
    if not rows:
        click.echo("no pipeline has rejected a message", err=True)
