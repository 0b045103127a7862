"""Repository registries (REST `/repository_registry`): git repositories cloned onto the
instance. Reading is open to anonymous callers (public ones), users and the Backend agent;
everything else needs a user, and setting credentials and deleting, the creator."""

from uuid import UUID

import strawberry
from sqlalchemy.orm import Session

from control_plane.graphql.common import NoneType, PaginationInput
from control_plane.graphql.context import GraphQLInfo
from control_plane.graphql.enums import GitPlatform, OrderByDate
from control_plane.graphql.validation import validated, validated_value
from control_plane.models.repository_registry import (
    BranchName,
    CommitRead,
    Credentials,
    OneRepositoryRegistryCredentials,
    RepositoryRegistryCreate,
    RepositoryRegistryFilter,
    RepositoryRegistryRead,
)
from control_plane.security import Agent
from control_plane.services.registry import user_requests
from control_plane.services.registry.access import (
    REGISTRY_READERS,
    list_visible_registries,
    registry_read,
    visible_registry,
)
from control_plane.services.users.agents import require_agent_types, require_user


@strawberry.experimental.pydantic.type(
    model=RepositoryRegistryRead, all_fields=True, name="RepositoryRegistryType"
)
class RepositoryRegistryType:
    pass


@strawberry.type
class RepositoriesRegistryResultType:
    count: int
    repositories_registry: list[RepositoryRegistryType]


@strawberry.experimental.pydantic.type(model=Credentials, all_fields=True, name="CredentialsType")
class CredentialsType:
    pass


@strawberry.experimental.pydantic.type(
    model=OneRepositoryRegistryCredentials,
    all_fields=True,
    name="OneRepositoryRegistryCredentialsType",
)
class OneRepositoryRegistryCredentialsType:
    pass


@strawberry.experimental.pydantic.type(model=CommitRead, name="CommitType")
class CommitType:
    """1.x's commit: REST's `tags` (every tag) is left out."""

    commit: strawberry.auto
    summary: strawberry.auto
    tag: strawberry.auto


@strawberry.input
class CredentialsInput:
    username: str
    pat_token: str


@strawberry.input
class RepositoryRegistryCreateInput:
    platform: GitPlatform
    repository_url: str
    is_public_repository: bool
    credentials: CredentialsInput | None = None


@strawberry.input
class RepositoryRegistryFilterInput(PaginationInput):
    uuids: list[UUID] | None = strawberry.field(default_factory=list)
    creator_uuid: UUID | None = None
    search_string: str | None = None
    is_public_repository: bool | None = None
    order_by_create_date: OrderByDate | None = OrderByDate("desc")
    order_by_last_update: OrderByDate | None = OrderByDate("desc")


@strawberry.input
class CommitFilterInput(PaginationInput):
    repo_branch: str
    only_tag: bool = False


def registry_type(read: RepositoryRegistryRead) -> RepositoryRegistryType:
    return RepositoryRegistryType.from_pydantic(read)


@strawberry.type
class Query:
    @strawberry.field
    async def get_repository_registry(
        self, info: GraphQLInfo, uuid: UUID
    ) -> RepositoryRegistryType:
        """With the branches of its local clone (none before a sync)."""
        settings = info.context.app.settings

        def work(session: Session, agent: Agent) -> RepositoryRegistryType:
            require_agent_types(agent, *REGISTRY_READERS)
            registry = visible_registry(session, agent, uuid)
            return registry_type(registry_read(session, settings, registry))

        return await info.context.call(work)

    @strawberry.field
    async def get_branch_commits(
        self, info: GraphQLInfo, uuid: UUID, filters: CommitFilterInput
    ) -> list[CommitType]:
        """Commits of `repoBranch`, newest first; `onlyTag`: tagged ones only."""
        settings = info.context.app.settings

        def work(session: Session, agent: Agent) -> list[CommitType]:
            user = require_user(agent)
            page = filters.page(settings)
            branch = validated_value(BranchName, "filters.repoBranch", filters.repo_branch)
            commits = user_requests.branch_commits(
                session, settings, user, uuid, branch, filters.only_tag, page
            )
            return [CommitType.from_pydantic(commit) for commit in commits]

        return await info.context.call(work)

    @strawberry.field
    async def get_credentials(
        self, info: GraphQLInfo, uuid: UUID
    ) -> OneRepositoryRegistryCredentialsType | None:
        """The caller's own credentials for the registry, token included, or null."""
        settings = info.context.app.settings

        def work(session: Session, agent: Agent) -> OneRepositoryRegistryCredentialsType | None:
            found = user_requests.own_credentials(session, settings, require_user(agent), uuid)
            return (
                None if found is None else OneRepositoryRegistryCredentialsType.from_pydantic(found)
            )

        return await info.context.call(work)

    @strawberry.field
    async def get_repositories_registry(
        self, info: GraphQLInfo, filters: RepositoryRegistryFilterInput
    ) -> RepositoriesRegistryResultType:
        """Anonymous callers get public registries only."""
        settings = info.context.app.settings

        def work(session: Session, agent: Agent) -> RepositoriesRegistryResultType:
            require_agent_types(agent, *REGISTRY_READERS)
            page = filters.page(settings)
            checked = validated(RepositoryRegistryFilter, "filters", filters)
            count, rows = list_visible_registries(session, agent, checked, page)
            return RepositoriesRegistryResultType(
                count=count,
                repositories_registry=[
                    registry_type(registry_read(session, settings, row)) for row in rows
                ],
            )

        return await info.context.call(work)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_repository_registry(
        self, info: GraphQLInfo, repository_registry: RepositoryRegistryCreateInput
    ) -> RepositoryRegistryType:
        """Register a repository and clone it at once (private ones need credentials)."""
        settings = info.context.app.settings

        def work(session: Session, agent: Agent) -> RepositoryRegistryType:
            user = require_user(agent)
            data = validated(RepositoryRegistryCreate, "repositoryRegistry", repository_registry)
            return registry_type(user_requests.create(session, settings, user, data))

        return await info.context.call(work)

    @strawberry.mutation
    async def set_credentials(
        self, info: GraphQLInfo, uuid: UUID, data: CredentialsInput
    ) -> NoneType:
        """Store or replace the caller's credentials for a private registry."""
        settings = info.context.app.settings

        def work(session: Session, agent: Agent) -> NoneType:
            user = require_user(agent)
            credentials = validated(Credentials, "data", data)
            user_requests.set_credentials(session, settings, user, uuid, credentials)
            return NoneType()

        return await info.context.call(work)

    @strawberry.mutation
    async def update_local_repository(self, info: GraphQLInfo, uuid: UUID) -> NoneType:
        """Fetch the registry again; a private one needs the caller's valid credentials."""
        settings = info.context.app.settings

        def work(session: Session, agent: Agent) -> NoneType:
            user_requests.sync(session, settings, require_user(agent), uuid)
            return NoneType()

        return await info.context.call(work)

    @strawberry.mutation
    async def delete_repository_registry(self, info: GraphQLInfo, uuid: UUID) -> NoneType:
        """Only the creator, and only while no Repo uses the registry."""
        settings = info.context.app.settings

        def work(session: Session, agent: Agent) -> NoneType:
            user_requests.delete(session, settings, require_user(agent), uuid)
            return NoneType()

        return await info.context.call(work)
