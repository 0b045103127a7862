"""What the unit page shows, read through the services with the signed-in agent: the unit as
`GET /units/{uuid}` gives it (its status, versions and nodes); for its creator also what the
device routes give (its env, the commands its schema lists, its state storage) and who has
access to it. A part the
services refuse or cannot make (no local clone of the repo, an unreadable env…) is shown as
the reason instead.
"""

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from sqlalchemy.orm import Session

from control_plane.console.access_view import Access, access_list
from control_plane.console.unit_env_form import EnvField, env_fields
from control_plane.console.unit_rows import (
    NodeValue,
    Target,
    UnitStatus,
    node_value,
    targets_of,
    unit_status,
)
from control_plane.models.permission import ResourceKind
from control_plane.security import Agent
from control_plane.services.errors import ServiceError
from control_plane.services.units import access, commands, env, state_storage, target, units
from control_plane.services.units.commands import UnitCommand
from pepeunit_core.crypto import Cipher
from pepeunit_core.db.enums import UnitNodeType
from pepeunit_core.db.models import Unit
from pepeunit_core.settings import Settings


@dataclass(frozen=True)
class DeviceParts:
    """What only the unit's creator reads: each part, or why it is missing."""

    env: list[EnvField] = field(default_factory=list)
    env_problem: str | None = None
    commands: list[UnitCommand] = field(default_factory=list)
    commands_problem: str | None = None
    state: str | None = None
    state_problem: str | None = None


@dataclass(frozen=True)
class UnitView:
    uuid: UUID
    name: str
    visibility: str
    status: UnitStatus
    target: Target | None
    inputs: list[NodeValue]
    outputs: list[NodeValue]
    device: DeviceParts | None
    """None when the caller is not the unit's creator."""
    access: list[Access] | None
    """Who has access to the unit, for its creator only (None for anyone else)."""

    @property
    def up_to_date(self) -> bool:
        return self.target is not None and self.target.commit == self.status.current_commit


def unit_view(
    session: Session, settings: Settings, cipher: Cipher, agent: Agent, uuid: UUID, now: datetime
) -> UnitView:
    """Raises the services' refusal when `agent` may not see the unit."""
    unit = access.visible_unit(session, agent, uuid)
    nodes = units.visible_nodes(session, agent, [unit]).get(unit.uuid, [])
    is_creator = unit.creator_uuid == agent.uuid
    return UnitView(
        uuid=unit.uuid,
        name=unit.name,
        visibility=unit.visibility_level.value,
        status=unit_status(settings, unit, now),
        target=targets_of(session, settings, agent, [unit]).get(unit.uuid),
        inputs=[node_value(node) for node in nodes if node.type == UnitNodeType.INPUT],
        outputs=[node_value(node) for node in nodes if node.type == UnitNodeType.OUTPUT],
        device=device_parts(session, settings, cipher, agent, unit) if is_creator else None,
        access=(
            access_list(session, agent.user, ResourceKind.UNIT, unit.uuid, unit.creator_uuid)
            if is_creator and agent.user is not None
            else None
        ),
    )


def device_parts(
    session: Session, settings: Settings, cipher: Cipher, agent: Agent, unit: Unit
) -> DeviceParts:
    try:
        found_env = env_fields(env.unit_env(session, settings, cipher, agent, unit.uuid))
        env_problem = None
    except ServiceError as error:
        found_env, env_problem = [], error.message
    try:
        resolved = target.device_target(session, settings, agent, unit.uuid)
        supported = commands.supported_commands(session, settings, resolved)
        commands_problem = None
    except ServiceError as error:
        supported, commands_problem = [], error.message
    try:
        state = state_storage.get_state_storage(session, cipher, agent, unit.uuid)
        state_problem = None
    except ServiceError as error:
        state, state_problem = None, error.message
    return DeviceParts(found_env, env_problem, supported, commands_problem, state, state_problem)
