"""Repository registry API schemas, with the reference's names (RepositoryRegistryRead, ...)."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from pepeunit_core.db.enums import RepositoryPlatform, SyncStatus

from .common import NulFreeText, OrderByDate, SearchString


class CredentialsStatus(StrEnum):
    """Whether the git server took a registry's stored credentials at the last check."""

    VALID = "Valid"
    NOT_VERIFIED = "NotVerified"
    ERROR = "Error"


MAX_URL_LENGTH = 2000
MAX_CREDENTIAL_LENGTH = 1000
MAX_BRANCH_LENGTH = 255


def _printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("only printable characters are allowed")
    return value


CredentialField = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_CREDENTIAL_LENGTH),
    AfterValidator(_printable),
]

RepositoryUrl = Annotated[
    NulFreeText,
    StringConstraints(min_length=1, max_length=MAX_URL_LENGTH),
    Field(description="https://host/path.git (other schemes only where the instance allows)"),
]

BranchName = Annotated[NulFreeText, StringConstraints(min_length=1, max_length=MAX_BRANCH_LENGTH)]


class Credentials(BaseModel):
    """A username and personal access token for a private repository."""

    username: CredentialField
    pat_token: CredentialField


class RepositoryRegistryCreate(BaseModel):
    platform: RepositoryPlatform
    repository_url: RepositoryUrl
    is_public_repository: bool
    credentials: Credentials | None = Field(
        default=None, description="Needed for a private repository; ignored for a public one."
    )


class RepositoryRegistryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    uuid: UUID
    platform: RepositoryPlatform
    repository_url: str
    is_public_repository: bool
    releases_data: str | None = None
    local_repository_size: int
    sync_status: SyncStatus | None = None
    sync_error: str | None = None
    sync_last_datetime: datetime | None = None
    create_datetime: datetime
    last_update_datetime: datetime
    creator_uuid: UUID | None = None
    branches: list[str] = Field(
        default_factory=list, description="Branches of the local clone (empty before a sync)."
    )


class RepositoriesRegistryResult(BaseModel):
    count: int
    repositories_registry: list[RepositoryRegistryRead]


class RepositoryRegistryFilter(BaseModel):
    """Query filters of `GET /repository_registry`; `uuids` repeats (`uuids=…&uuids=…`)."""

    uuids: list[UUID] = Field(default_factory=list, max_length=500)
    creator_uuid: UUID | None = None
    search_string: SearchString | None = Field(
        default=None, description="Matched on repository_url."
    )
    is_public_repository: bool | None = None
    order_by_create_date: OrderByDate = OrderByDate.DESC
    order_by_last_update: OrderByDate = OrderByDate.DESC


class CommitRead(BaseModel):
    commit: str
    summary: str
    tag: str | None = Field(default=None, description="A tag on this commit (the first by name).")
    tags: list[str] = Field(default_factory=list, description="Every tag on this commit.")


class OneRepositoryRegistryCredentials(BaseModel):
    credentials: Credentials
    status: CredentialsStatus
