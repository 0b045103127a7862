"""Unit log API schemas: the `GET /units/log_list/` query and its rows
(docs/compatibility.md#state-and-log-reports)."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from pepeunit_core.db.enums import LogLevel

from .common import OrderByDate


class UnitLogFilter(BaseModel):
    uuid: UUID = Field(description="The unit whose logs are read.")
    level: list[LogLevel] = Field(default_factory=lambda: list(LogLevel))
    order_by_create_date: OrderByDate = OrderByDate.DESC


class UnitLogRead(BaseModel):
    uuid: UUID
    level: LogLevel
    unit_uuid: UUID
    text: str
    create_datetime: datetime
    expiration_datetime: datetime


class UnitLogsResult(BaseModel):
    count: int
    unit_logs: list[UnitLogRead]
