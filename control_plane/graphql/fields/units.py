"""Units (REST `/units`): read, list, create, change and delete them, their env, schema,
target version, state storage, logs and commands."""

import dataclasses
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

import strawberry
from sqlalchemy.orm import Session
from strawberry.file_uploads import Upload

from control_plane.graphql.common import NoneType, PaginationInput
from control_plane.graphql.context import GraphQLInfo
from control_plane.graphql.enums import (
    BackendTopicCommand,
    LogLevel,
    OrderByDate,
    OrderByText,
    UnitFirmwareUpdateStatus,
    UnitNodeTypeEnum,
    VisibilityLevel,
)
from control_plane.graphql.selection import selects_field
from control_plane.graphql.types.unit_node import UnitNodeType
from control_plane.graphql.types.unit_state import UnitStateType
from control_plane.graphql.uploads import uploaded_file
from control_plane.graphql.validation import validated
from control_plane.models import unit_node as node_models
from control_plane.models.unit import (
    UnitCreate,
    UnitFilter,
    UnitRead,
    UnitUpdate,
)
from control_plane.models.unit_log import UnitLogFilter, UnitLogRead, UnitLogsResult
from control_plane.security import Agent, AgentType
from control_plane.services.units import access as unit_access
from control_plane.services.units import commands as unit_commands
from control_plane.services.units import env as unit_env
from control_plane.services.units import logs as unit_logs
from control_plane.services.units import readme, state_storage, units
from control_plane.services.units import target as unit_target
from control_plane.services.users.agents import require_agent_types, require_user
from pepeunit_core.db import enums as db
from pepeunit_core.db.models import UnitNode

UNIT_READERS = (AgentType.BOT, AgentType.USER, AgentType.UNIT, AgentType.BACKEND)
"""Who may read units (REST's `UnitReader`)."""


@strawberry.type
class UnitType:
    uuid: UUID
    visibility_level: VisibilityLevel
    name: str
    create_datetime: datetime
    is_auto_update_from_repo_unit: bool
    target_firmware_platform: str | None
    repo_branch: str | None
    repo_commit: str | None
    unit_state: UnitStateType | None
    current_commit_version: str | None
    last_update_datetime: datetime
    creator_uuid: UUID
    repo_uuid: UUID
    firmware_update_status: UnitFirmwareUpdateStatus | None
    firmware_update_error: str | None
    last_firmware_update_datetime: datetime | None
    unit_nodes: list[UnitNodeType]

    @classmethod
    def of(cls, unit: UnitRead, nodes: Sequence[UnitNode] = ()) -> "UnitType":
        return cls(
            uuid=unit.uuid,
            visibility_level=unit.visibility_level,
            name=unit.name,
            create_datetime=unit.create_datetime,
            is_auto_update_from_repo_unit=unit.is_auto_update_from_repo_unit,
            target_firmware_platform=unit.target_firmware_platform,
            repo_branch=unit.repo_branch,
            repo_commit=unit.repo_commit,
            unit_state=UnitStateType.of(unit.unit_state) if unit.unit_state else None,
            current_commit_version=unit.current_commit_version,
            last_update_datetime=unit.last_update_datetime,
            creator_uuid=unit.creator_uuid,  # type: ignore[arg-type]  # units cascade with users
            repo_uuid=unit.repo_uuid,
            firmware_update_status=unit.firmware_update_status,
            firmware_update_error=unit.firmware_update_error,
            last_firmware_update_datetime=unit.last_firmware_update_datetime,
            unit_nodes=[
                UnitNodeType.of(node_models.UnitNodeRead.model_validate(node)) for node in nodes
            ],
        )


@strawberry.type
class UnitsResultType:
    count: int
    units: list[UnitType]


@strawberry.type
class TargetVersionType:
    commit: str
    tag: str | None


@strawberry.type
class UnitLogType:
    uuid: UUID
    level: LogLevel
    unit_uuid: UUID
    text: str
    create_datetime: datetime
    expiration_datetime: datetime

    @classmethod
    def of(cls, log: UnitLogRead) -> "UnitLogType":
        return cls(**log.model_dump())


@strawberry.type
class UnitLogsResultType:
    count: int
    unit_logs: list[UnitLogType]


@strawberry.input
class UnitCreateInput:
    repo_uuid: UUID
    visibility_level: VisibilityLevel
    name: str
    is_auto_update_from_repo_unit: bool
    target_firmware_platform: str | None = None
    repo_branch: str | None = None
    repo_commit: str | None = None


@strawberry.input
class UnitUpdateInput:
    visibility_level: VisibilityLevel | None = None
    name: str | None = None
    is_auto_update_from_repo_unit: bool | None = None
    target_firmware_platform: str | None = None
    repo_branch: str | None = None
    repo_commit: str | None = None


@strawberry.input
class UnitFilterInput(PaginationInput):
    uuids: list[UUID] | None = strawberry.field(default_factory=list)
    creator_uuid: UUID | None = None
    repo_uuid: UUID | None = None
    repos_uuids: list[UUID] | None = strawberry.field(default_factory=list)
    search_string: str | None = None
    is_auto_update_from_repo_unit: bool | None = None
    visibility_level: list[VisibilityLevel] | None = strawberry.field(
        default_factory=lambda: list(db.VisibilityLevel)
    )
    order_by_unit_name: OrderByText | None = OrderByText.asc
    order_by_create_date: OrderByDate | None = OrderByDate.desc
    order_by_last_update: OrderByDate | None = OrderByDate.desc
    unit_node_input_uuid: UUID | None = None
    unit_node_type: list[UnitNodeTypeEnum] | None = strawberry.field(
        default_factory=lambda: list(db.UnitNodeType)
    )
    unit_node_uuids: list[UUID] | None = strawberry.field(default_factory=list)

    def unit_filter(self, include_nodes: bool) -> UnitFilter:
        """REST's filter; the node filters count only when nodes are included."""
        given = dataclasses.asdict(self) | {"is_include_output_unit_nodes": include_nodes}
        return validated(UnitFilter, "filters", given)


@strawberry.input
class UnitLogFilterInput(PaginationInput):
    uuid: UUID
    level: list[LogLevel] | None = strawberry.field(default_factory=lambda: list(db.LogLevel))
    order_by_create_date: OrderByDate | None = OrderByDate.desc


@strawberry.type
class Query:
    @strawberry.field
    async def get_unit(self, info: GraphQLInfo, uuid: UUID) -> UnitType:
        """REST `GET /units/{uuid}`; `unitNodes` is always empty, as in 1.x."""

        def read(session: Session, agent: Agent) -> UnitRead:
            require_agent_types(agent, *UNIT_READERS)
            return UnitRead.model_validate(unit_access.visible_unit(session, agent, uuid))

        return UnitType.of(await info.context.call(read))

    @strawberry.field
    async def get_unit_env(self, info: GraphQLInfo, uuid: UUID) -> str:
        app = info.context.app
        env = await info.context.call(
            lambda session, agent: unit_env.unit_env(session, app.settings, app.cipher, agent, uuid)
        )
        return json.dumps(env)

    @strawberry.field
    async def get_target_version(self, info: GraphQLInfo, uuid: UUID) -> TargetVersionType:
        settings = info.context.app.settings
        target = await info.context.call(
            lambda session, agent: unit_target.device_target(session, settings, agent, uuid).target
        )
        return TargetVersionType(commit=target.commit, tag=target.tag)

    @strawberry.field
    async def get_unit_current_schema(self, info: GraphQLInfo, uuid: UUID) -> str:
        settings = info.context.app.settings
        schema = await info.context.call(
            lambda session, agent: unit_env.unit_schema(session, settings, agent, uuid)
        )
        return json.dumps(schema)

    @strawberry.field
    async def get_state_storage(self, info: GraphQLInfo, uuid: UUID) -> str:
        cipher = info.context.app.cipher
        return await info.context.call(
            lambda session, agent: state_storage.get_state_storage(session, cipher, agent, uuid)
        )

    @strawberry.field
    async def get_units(self, info: GraphQLInfo, filters: UnitFilterInput) -> UnitsResultType:
        """REST `GET /units`, with `is_include_output_unit_nodes` set when the query selects
        `unitNodes`: the nodes of the whole page come in one query."""
        include_nodes = selects_field(info, "unitNodes")
        settings = info.context.app.settings

        def read(session: Session, agent: Agent) -> UnitsResultType:
            require_agent_types(agent, *UNIT_READERS)
            page = filters.page(settings)
            unit_filter = filters.unit_filter(include_nodes)
            count, rows = units.list_units(session, agent, unit_filter, page)
            nodes = units.included_nodes(session, agent, rows, unit_filter)
            return UnitsResultType(
                count=count,
                units=[
                    UnitType.of(UnitRead.model_validate(row), nodes.get(row.uuid, []))
                    for row in rows
                ],
            )

        return await info.context.call(read)

    @strawberry.field
    async def get_unit_logs(
        self, info: GraphQLInfo, filters: UnitLogFilterInput
    ) -> UnitLogsResultType:
        app = info.context.app

        def read(session: Session, agent: Agent) -> UnitLogsResult:
            page = filters.page(app.settings)
            log_filter = validated(UnitLogFilter, "filters", filters)
            with app.clickhouse.client() as client:
                return unit_logs.list_unit_logs(
                    session, client, agent, log_filter, page, datetime.now(UTC)
                )

        result = await info.context.call(read)
        return UnitLogsResultType(
            count=result.count, unit_logs=[UnitLogType.of(log) for log in result.unit_logs]
        )

    @strawberry.field
    async def get_convert_toml_to_md(self, info: GraphQLInfo, file: Upload) -> str:
        """A README in Markdown from a `pepeunit.toml` (users only, as in 1.x); GraphQL only
        for now (docs/graphql.md)."""
        upload = uploaded_file(file)

        def convert(_session: Session, agent: Agent) -> str:
            require_user(agent)
            return readme.readme_of_upload(upload)

        return await info.context.call(convert)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_unit(self, info: GraphQLInfo, unit: UnitCreateInput) -> UnitType:
        """REST `POST /units`; `unitNodes` is empty, as in 1.x."""
        settings = info.context.app.settings

        def create(session: Session, agent: Agent) -> UnitRead:
            user = require_user(agent)
            data = validated(UnitCreate, "unit", unit)
            return UnitRead.model_validate(units.create_unit(session, settings, user, data))

        return UnitType.of(await info.context.call(create))

    @strawberry.mutation
    async def update_unit(self, info: GraphQLInfo, uuid: UUID, unit: UnitUpdateInput) -> UnitType:
        """REST `PATCH /units/{uuid}` (then an Update command when the unit's schema lists it);
        `unitNodes` is empty, as in 1.x."""
        app = info.context.app

        def update(session: Session, agent: Agent) -> UnitRead:
            user = require_user(agent)
            data = validated(UnitUpdate, "unit", unit)
            changed = units.update_unit(session, app.settings, user, uuid, data)
            unit_commands.send_update_if_supported(session, app.settings, app.publisher, changed)
            return UnitRead.model_validate(changed)

        return UnitType.of(await info.context.call(update))

    @strawberry.mutation
    async def update_unit_env(self, info: GraphQLInfo, uuid: UUID, env_json_str: str) -> NoneType:
        app = info.context.app
        await info.context.call(
            lambda session, agent: unit_env.set_unit_env(
                session, app.settings, app.cipher, require_user(agent), uuid, env_json_str
            )
        )
        return NoneType()

    @strawberry.mutation
    async def reset_unit_env(self, info: GraphQLInfo, uuid: UUID) -> NoneType:
        await info.context.call(
            lambda session, agent: unit_env.reset_unit_env(session, require_user(agent), uuid)
        )
        return NoneType()

    @strawberry.mutation
    async def set_state_storage(self, info: GraphQLInfo, uuid: UUID, state: str) -> NoneType:
        app = info.context.app
        await info.context.call(
            lambda session, agent: state_storage.set_state_storage(
                session, app.settings, app.cipher, agent, uuid, state
            )
        )
        return NoneType()

    @strawberry.mutation
    async def send_command_to_input_base_topic(
        self, info: GraphQLInfo, uuid: UUID, command: BackendTopicCommand
    ) -> NoneType:
        app = info.context.app

        def send(session: Session, agent: Agent) -> None:
            unit = unit_access.device_unit(session, agent, uuid)
            unit_commands.send_command(session, app.settings, app.publisher, unit, command)

        await info.context.call(send)
        return NoneType()

    @strawberry.mutation
    async def delete_unit(self, info: GraphQLInfo, uuid: UUID) -> NoneType:
        settings = info.context.app.settings
        await info.context.call(
            lambda session, agent: units.delete_unit(session, settings, require_user(agent), uuid)
        )
        return NoneType()
