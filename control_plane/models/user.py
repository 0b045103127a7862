"""User API schemas, with the reference's names (UserRead, UsersResult, ...)."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pepeunit_core.db.enums import UserRole, UserStatus

from .common import EntityName, NulFreeText, OrderByDate, Password, SearchString

# Looked up or checked, not validated against the rules: bounded, so nothing huge reaches the
# database or argon2, and free of NUL, which PostgreSQL cannot compare.
CredentialText = Annotated[NulFreeText, StringConstraints(min_length=1, max_length=100)]


class UserCreate(BaseModel):
    login: EntityName
    password: Password


class UserUpdate(BaseModel):
    """Fields left out (or null) stay as they are."""

    login: EntityName | None = None
    password: Password | None = None


class UserAuth(BaseModel):
    credentials: CredentialText = Field(description="Login or Telegram chat id.")
    password: CredentialText


class AccessToken(BaseModel):
    token: str


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    uuid: UUID
    role: UserRole
    status: UserStatus
    login: str
    grafana_org_name: UUID
    grafana_org_id: str | None
    create_datetime: datetime


class UsersResult(BaseModel):
    count: int
    users: list[UserRead]


class UserFilter(BaseModel):
    """Query filters of `GET /users`; list filters repeat (`role=User&role=Admin`)."""

    uuids: list[UUID] = Field(default_factory=list, max_length=500)
    search_string: SearchString | None = Field(default=None, description="Matched on login.")
    role: list[UserRole] = Field(default_factory=list)
    status: list[UserStatus] = Field(default_factory=list)
    order_by_create_date: OrderByDate = OrderByDate.DESC


class UserImportRead(BaseModel):
    """What `POST /users/import` made (docs/user-export.md#import)."""

    counts: dict[str, int] = Field(
        description="How many registries (cloned anew), repos, units, nodes, edges, pipelines "
        "and dashboards were made."
    )
    units: dict[str, UUID] = Field(description="The new uuid of each unit, by name.")
    rows: int = Field(description="Stored rows inserted.")
