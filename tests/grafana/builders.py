"""Units and nodes with pipelines in a SQL database, for dashboard tests."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session

from pepeunit_core.db.enums import DataPipeStatus, UnitNodeType
from pepeunit_core.db.models import Unit, UnitNode
from pepeunit_core.pipeline_store import stored_config_json
from pipelines.config import PipelineConfig
from pipelines.validation import validate_config
from tests.pepeunit_core.builders import add_registry, add_repo, add_user


def config(policy: dict[str, Any], kind: str = "Number") -> PipelineConfig:
    document = {
        "active_period": {"type": "Permanent"},
        "filters": {"type_input_value": kind, "max_rate": 0, "max_size": 64},
        "processing_policy": policy,
    }
    parsed, issues = validate_config(document)
    assert parsed is not None, issues
    return parsed


@dataclass(frozen=True)
class NodeSpec:
    uuid: UUID
    topic: str
    config: PipelineConfig | None
    """None: a node without an active pipeline."""


@dataclass(frozen=True)
class UnitSpec:
    uuid: UUID
    name: str
    nodes: Sequence[NodeSpec]


CREATED = datetime(2020, 1, 1, tzinfo=UTC)
"""When the test nodes were made and last updated: before any value a test stores."""


def add_units(session: Session, units: Sequence[UnitSpec]) -> None:
    """The units (one owner, registry and repo for all) and their nodes, in the given order."""
    user = add_user(session)
    repo = add_repo(session, user, add_registry(session, user))
    for spec in units:
        session.add(
            Unit(uuid=spec.uuid, name=spec.name, creator_uuid=user.uuid, repo_uuid=repo.uuid)
        )
        session.flush()
        for node in spec.nodes:
            session.add(
                UnitNode(
                    uuid=node.uuid,
                    type=UnitNodeType.OUTPUT,
                    topic_name=node.topic,
                    creator_uuid=user.uuid,
                    unit_uuid=spec.uuid,
                    is_data_pipe_active=node.config is not None,
                    data_pipe_status=DataPipeStatus.ACTIVE
                    if node.config is not None
                    else DataPipeStatus.INACTIVE,
                    data_pipe_yml=stored_config_json(node.config) if node.config else None,
                    create_datetime=CREATED,
                    last_update_datetime=CREATED,
                )
            )
        session.flush()
