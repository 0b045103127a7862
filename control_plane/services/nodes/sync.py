"""A unit's nodes follow its schema_example.json: one UnitNode per `input_topic` and
`output_topic` entry (docs/compatibility.md#schema-files), with the default LastValue pipeline on
`/pepeunit` topics when `PU_FF_DATAPIPE_DEFAULT_LAST_VALUE_ENABLE` is on."""

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from control_plane.services.firmware import SchemaExample
from pepeunit_core.db.config_version import bump_dataflow_config_version
from pepeunit_core.db.enums import PermissionEntity, UnitNodeType
from pepeunit_core.db.models import Permission, Unit, UnitNode
from pepeunit_core.pipeline_store import refresh_data_pipe_status, stored_config_json
from pepeunit_core.settings import Settings
from pipelines.binding import PIPELINE_TOPIC_SUFFIX
from pipelines.validation import validate_config

DEFAULT_PIPELINE = {
    "active_period": {"type": "Permanent"},
    "filters": {
        "type_input_value": "Text",
        "max_rate": 5,
        "last_unique_check": False,
        "max_size": 100,
    },
    "processing_policy": {"policy_type": "LastValue"},
}


def default_pipeline_json() -> str:
    config, issues = validate_config(DEFAULT_PIPELINE)
    if config is None:  # a constant: only a change of the pipeline language gets here
        raise RuntimeError(f"the default pipeline no longer validates: {issues}")
    return stored_config_json(config)


def wanted_topics(schema: SchemaExample) -> set[tuple[UnitNodeType, str]]:
    return {(UnitNodeType.INPUT, topic) for topic in schema.input_topic} | {
        (UnitNodeType.OUTPUT, topic) for topic in schema.output_topic
    }


def sync_unit_nodes(
    session: Session, settings: Settings, unit: Unit, schema: SchemaExample, user_uuid: UUID
) -> None:
    """Create the nodes `schema` lists and the unit lacks, delete those it no longer lists
    (their edges and permissions cascade); bumps the dataflow config version when a node with
    an active pipeline comes or goes. Does not commit; after committing, the caller calls
    `broker_changes.broker_access_changed` (the unit's allowed topics follow its nodes)."""
    existing = session.scalars(select(UnitNode).where(UnitNode.unit_uuid == unit.uuid)).all()
    wanted = wanted_topics(schema)
    have = {(node.type, node.topic_name) for node in existing}
    pipelines_changed = False
    for node in existing:
        if (node.type, node.topic_name) not in wanted:
            pipelines_changed |= node.is_data_pipe_active
            session.delete(node)
    ordered = [(UnitNodeType.INPUT, topic) for topic in schema.input_topic] + [
        (UnitNodeType.OUTPUT, topic) for topic in schema.output_topic
    ]
    for node_type, topic in ordered:
        if (node_type, topic) in have:
            continue
        pipelines_changed |= _add_node(session, settings, unit, node_type, topic, user_uuid)
    session.flush()
    if pipelines_changed:
        bump_dataflow_config_version(session)


def _add_node(
    session: Session,
    settings: Settings,
    unit: Unit,
    node_type: UnitNodeType,
    topic: str,
    user_uuid: UUID,
) -> bool:
    pipeline = settings.ff_datapipe_default_last_value_enable and topic.endswith(
        PIPELINE_TOPIC_SUFFIX
    )
    node = UnitNode(
        type=node_type,
        visibility_level=unit.visibility_level,
        topic_name=topic,
        is_data_pipe_active=pipeline,
        data_pipe_yml=default_pipeline_json() if pipeline else None,
        creator_uuid=unit.creator_uuid,
        unit_uuid=unit.uuid,
    )
    refresh_data_pipe_status(node)
    session.add(node)
    session.flush()
    for agent in (
        {"agent_type": PermissionEntity.UNIT, "agent_unit_uuid": unit.uuid},
        {"agent_type": PermissionEntity.USER, "agent_user_uuid": user_uuid},
    ):
        session.add(
            Permission(
                **agent,
                resource_type=PermissionEntity.UNIT_NODE,
                resource_unit_node_uuid=node.uuid,
            )
        )
    return pipeline
