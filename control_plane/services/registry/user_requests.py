"""What users ask of registries, as REST (`/repository_registry`) and GraphQL both serve it:
refusals come out as the services' errors (`registry_errors`), and what changed is committed."""

from uuid import UUID

from sqlalchemy.orm import Session

from control_plane.models.repository_registry import (
    CommitRead,
    Credentials,
    OneRepositoryRegistryCredentials,
    RepositoryRegistryCreate,
    RepositoryRegistryRead,
)
from control_plane.services.errors import InputValidationError
from control_plane.services.paging import Page
from control_plane.services.registry import registry_service
from control_plane.services.registry.access import registry_read
from control_plane.services.registry.git_command import GitCredentials, InvalidCredentialsError
from control_plane.services.registry.refusals import registry_errors
from pepeunit_core.db.models import User
from pepeunit_core.settings import Settings


def _git_credentials(credentials: Credentials) -> GitCredentials:
    try:
        return GitCredentials(credentials.username, credentials.pat_token)
    except InvalidCredentialsError as error:
        raise InputValidationError(str(error)) from None


def create(
    session: Session, settings: Settings, user: User, data: RepositoryRegistryCreate
) -> RepositoryRegistryRead:
    """Register a repository and clone it at once (private ones need credentials; a public
    one ignores them)."""
    credentials = (
        None
        if data.is_public_repository or data.credentials is None
        else _git_credentials(data.credentials)
    )
    with registry_errors():
        registry = registry_service.create_registry(
            session,
            settings,
            user,
            data.repository_url,
            data.platform,
            data.is_public_repository,
            credentials,
            allowed_url_schemes=frozenset(settings.registry_allowed_url_schemes),
        )
    return registry_read(session, settings, registry)


def branch_commits(
    session: Session,
    settings: Settings,
    user: User,
    registry_uuid: UUID,
    branch: str,
    only_tags: bool,
    page: Page,
) -> list[CommitRead]:
    """Commits of `branch`, newest first, with their tags, of a registry `user` sees."""
    with registry_errors():
        registry_service.get_visible_registry(session, registry_uuid, user.uuid)
        commits = registry_service.list_commits(
            session,
            settings,
            registry_uuid,
            branch,
            only_tags=only_tags,
            offset=page.offset,
            limit=page.limit,
        )
    return [
        CommitRead(
            commit=item.sha,
            summary=item.summary,
            tag=item.tags[0] if item.tags else None,
            tags=list(item.tags),
        )
        for item in commits
    ]


def set_credentials(
    session: Session, settings: Settings, user: User, registry_uuid: UUID, data: Credentials
) -> None:
    """Store or replace `user`'s credentials for a private registry (checked with the remote)."""
    credentials = _git_credentials(data)
    with registry_errors():
        registry_service.set_credentials(session, settings, registry_uuid, user, credentials)
    session.commit()


def own_credentials(
    session: Session, settings: Settings, user: User, registry_uuid: UUID
) -> OneRepositoryRegistryCredentials | None:
    """`user`'s own credentials for the registry, token included, or None."""
    with registry_errors():
        entry = registry_service.get_credentials(session, settings, registry_uuid, user)
    if entry is None:
        return None
    credentials = Credentials(
        username=entry.credentials.username, pat_token=entry.credentials.pat_token
    )
    return OneRepositoryRegistryCredentials(credentials=credentials, status=entry.status)


def sync(session: Session, settings: Settings, user: User, registry_uuid: UUID) -> None:
    """Fetch the registry again; a private one needs `user`'s own valid credentials."""
    with registry_errors():
        registry_service.sync_registry(session, settings, registry_uuid, user)


def delete(session: Session, settings: Settings, user: User, registry_uuid: UUID) -> None:
    """Only the creator, and only while no Repo uses the registry."""
    with registry_errors():
        registry_service.delete_registry(session, settings, registry_uuid, user)
    session.commit()
