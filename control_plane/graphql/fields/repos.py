"""Repos (REST `/repos`): create (users with access to the registry), read and list (by
visibility), update, delete and update the units' firmware (the creator); the fleet-wide
update (Admins)."""

from uuid import UUID

import strawberry
from sqlalchemy.orm import Session

from control_plane.graphql.common import NoneType, PaginationInput
from control_plane.graphql.context import GraphQLInfo
from control_plane.graphql.enums import OrderByDate, VisibilityLevel
from control_plane.graphql.validation import validated, validated_value
from control_plane.models.repo import (
    CommitHash,
    PlatformRead,
    RepoCreate,
    RepoFilter,
    RepoRead,
    RepoUpdate,
    RepoVersionRead,
    RepoVersionsRead,
    TagName,
)
from control_plane.security import Agent, AgentType
from control_plane.services.repos import repos, user_requests
from control_plane.services.repos.access import REPO_READERS, visible_repo
from control_plane.services.users.agents import require_admin, require_agent_types, require_user
from pepeunit_core.db.models import Repo


@strawberry.experimental.pydantic.type(model=RepoRead, all_fields=True, name="RepoType")
class RepoType:
    creator_uuid: UUID  # non-null as in 1.x: the rows cascade with their creator


@strawberry.type
class ReposResultType:
    count: int
    repos: list[RepoType]


@strawberry.experimental.pydantic.type(model=PlatformRead, all_fields=True, name="PlatformType")
class PlatformType:
    pass


@strawberry.experimental.pydantic.type(
    model=RepoVersionRead, all_fields=True, name="RepoVersionType"
)
class RepoVersionType:
    pass


@strawberry.experimental.pydantic.type(
    model=RepoVersionsRead, all_fields=True, name="RepoVersionsType"
)
class RepoVersionsType:
    pass


@strawberry.input
class RepoCreateInput:
    repository_registry_uuid: UUID
    default_branch: str
    visibility_level: VisibilityLevel
    name: str
    is_compilable_repo: bool


@strawberry.input
class RepoUpdateInput:
    visibility_level: VisibilityLevel | None = None
    name: str | None = None
    is_auto_update_repo: bool | None = None
    default_branch: str | None = None
    default_commit: str | None = None
    is_only_tag_update: bool | None = None
    is_compilable_repo: bool | None = None


@strawberry.input
class RepoFilterInput(PaginationInput):
    repository_registry_uuid: UUID | None = None
    uuids: list[UUID] | None = strawberry.field(default_factory=list)
    creator_uuid: UUID | None = None
    creators_uuids: list[UUID] | None = strawberry.field(default_factory=list)
    search_string: str | None = None
    is_auto_update_repo: bool | None = None
    visibility_level: list[VisibilityLevel] | None = strawberry.field(
        default_factory=lambda: list(VisibilityLevel)
    )
    order_by_create_date: OrderByDate | None = OrderByDate("desc")
    order_by_last_update: OrderByDate | None = OrderByDate("desc")


def repo_type(row: Repo) -> RepoType:
    return RepoType.from_pydantic(RepoRead.model_validate(row))


@strawberry.type
class Query:
    @strawberry.field
    async def get_repo(self, info: GraphQLInfo, uuid: UUID) -> RepoType:
        def work(session: Session, agent: Agent) -> RepoType:
            require_agent_types(agent, *REPO_READERS)
            return repo_type(visible_repo(session, agent, uuid))

        return await info.context.call(work)

    @strawberry.field
    async def get_repos(self, info: GraphQLInfo, filters: RepoFilterInput) -> ReposResultType:
        settings = info.context.app.settings

        def work(session: Session, agent: Agent) -> ReposResultType:
            require_agent_types(agent, *REPO_READERS)
            page = filters.page(settings)
            checked = validated(RepoFilter, "filters", filters)
            count, rows = repos.list_repos(session, agent, checked, page)
            return ReposResultType(count=count, repos=[repo_type(row) for row in rows])

        return await info.context.call(work)

    @strawberry.field
    async def get_available_platforms(
        self,
        info: GraphQLInfo,
        uuid: UUID,
        target_commit: str | None = None,
        target_tag: str | None = None,
    ) -> list[PlatformType]:
        """Release assets of `targetTag`, else of `targetCommit`'s tag, else of the repo's
        target tag; always empty for interpretable repos."""
        settings = info.context.app.settings

        def work(session: Session, agent: Agent) -> list[PlatformType]:
            require_agent_types(agent, AgentType.USER)
            commit = validated_value(CommitHash | None, "targetCommit", target_commit)
            tag = validated_value(TagName | None, "targetTag", target_tag)
            found = user_requests.platforms(session, settings, agent, uuid, commit, tag)
            return [PlatformType.from_pydantic(platform) for platform in found]

        return await info.context.call(work)

    @strawberry.field
    async def get_versions(self, info: GraphQLInfo, uuid: UUID) -> RepoVersionsType:
        """Which commits the repo's units report running, most common first."""
        settings = info.context.app.settings

        def work(session: Session, agent: Agent) -> RepoVersionsType:
            require_agent_types(agent, *REPO_READERS)
            return RepoVersionsType.from_pydantic(
                user_requests.versions(session, settings, agent, uuid)
            )

        return await info.context.call(work)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_repo(self, info: GraphQLInfo, repo: RepoCreateInput) -> RepoType:
        """A repo on a registry; it starts updating automatically, by tags only."""
        settings = info.context.app.settings

        def work(session: Session, agent: Agent) -> RepoType:
            user = require_user(agent)
            data = validated(RepoCreate, "repo", repo)
            return repo_type(repos.create_repo(session, settings, user, data))

        return await info.context.call(work)

    @strawberry.mutation
    async def update_repo(self, info: GraphQLInfo, uuid: UUID, repo: RepoUpdateInput) -> RepoType:
        """A change of the manual commit sends the repo's auto-updating units an Update."""
        app = info.context.app

        def work(session: Session, agent: Agent) -> RepoType:
            user = require_user(agent)
            data = validated(RepoUpdate, "repo", repo)
            read = user_requests.update(session, app.settings, app.publisher, user, uuid, data)
            return RepoType.from_pydantic(read)

        return await info.context.call(work)

    @strawberry.mutation
    async def delete_repo(self, info: GraphQLInfo, uuid: UUID) -> NoneType:
        """Only a repo without units."""

        def work(session: Session, agent: Agent) -> NoneType:
            repos.delete_repo(session, require_user(agent), uuid)
            return NoneType()

        return await info.context.call(work)

    @strawberry.mutation
    async def update_units_firmware(self, info: GraphQLInfo, uuid: UUID) -> NoneType:
        """Every auto-updating unit of the repo follows its target and is sent an Update."""
        app = info.context.app

        def work(session: Session, agent: Agent) -> NoneType:
            user = require_user(agent)
            user_requests.update_units_firmware(session, app.settings, app.publisher, user, uuid)
            return NoneType()

        return await info.context.call(work)

    @strawberry.mutation
    async def bulk_update(self, info: GraphQLInfo) -> NoneType:
        """The hourly fleet update, now, in the background: every auto-updating repo's units."""
        app = info.context.app

        def work(_session: Session, agent: Agent) -> NoneType:
            require_admin(agent)
            user_requests.start_bulk_update(app.session_factory, app.settings, app.publisher)
            return NoneType()

        return await info.context.call(work)
