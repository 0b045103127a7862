"""Repo API schemas, with the reference's names (RepoCreate, RepoRead, ReposResult, ...)."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pepeunit_core.db.enums import VisibilityLevel

from .common import EntityName, NulFreeText, OrderByDate, SearchString

BranchName = Annotated[NulFreeText, StringConstraints(min_length=1, max_length=255)]
TagName = BranchName
CommitHash = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{40}([0-9a-f]{24})?$"),
    Field(description="A full commit hash (40 hex digits, or 64 for SHA-256 repositories)."),
]


class RepoCreate(BaseModel):
    repository_registry_uuid: UUID
    default_branch: BranchName
    visibility_level: VisibilityLevel = VisibilityLevel.PUBLIC
    name: EntityName
    is_compilable_repo: bool = False


class RepoUpdate(BaseModel):
    """Fields left out (or null) stay as they are."""

    visibility_level: VisibilityLevel | None = None
    name: EntityName | None = None
    is_auto_update_repo: bool | None = None
    default_branch: BranchName | None = None
    default_commit: CommitHash | None = None
    is_only_tag_update: bool | None = None
    is_compilable_repo: bool | None = None


class RepoRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    uuid: UUID
    visibility_level: VisibilityLevel
    name: str
    create_datetime: datetime
    default_branch: str | None
    is_auto_update_repo: bool
    default_commit: str | None
    is_only_tag_update: bool
    is_compilable_repo: bool
    last_update_datetime: datetime
    creator_uuid: UUID | None
    repository_registry_uuid: UUID


class ReposResult(BaseModel):
    count: int
    repos: list[RepoRead]


class RepoFilter(BaseModel):
    """Query filters of `GET /repos`; list filters repeat (`visibility_level=Public&...`)."""

    repository_registry_uuid: UUID | None = None
    uuids: list[UUID] = Field(default_factory=list, max_length=500)
    creator_uuid: UUID | None = None
    creators_uuids: list[UUID] = Field(default_factory=list, max_length=500)
    search_string: SearchString | None = Field(
        default=None, description="Matched on the name, registry URL and default branch."
    )
    is_auto_update_repo: bool | None = None
    visibility_level: list[VisibilityLevel] = Field(default_factory=list)
    order_by_create_date: OrderByDate = OrderByDate.DESC
    order_by_last_update: OrderByDate | None = None


class RepoVersionRead(BaseModel):
    commit: str
    unit_count: int
    tag: str | None = None


class RepoVersionsRead(BaseModel):
    """How many units of the repo report each `current_commit_version`."""

    unit_count: int
    versions: list[RepoVersionRead]


class PlatformRead(BaseModel):
    """A release asset: a firmware binary for one platform."""

    name: str
    link: str
