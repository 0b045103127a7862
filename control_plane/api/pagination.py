"""`offset`/`limit` query parameters and the `{count, <items>}` lists built from them.

`limit` defaults to, and may not exceed, `PU_MAX_PAGINATION_SIZE`; `count` is the number of
matching rows before offset and limit.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from .deps import SettingsDep
from .errors import InputValidationError

# Larger offsets can only mean an empty page, and would overflow PostgreSQL's bigint.
MAX_OFFSET = 2**31 - 1


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int


def get_page(
    settings: SettingsDep,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int | None, Query(ge=0, description="At most PU_MAX_PAGINATION_SIZE.")] = None,
) -> Page:
    if limit is None:
        return Page(offset, settings.max_pagination_size)
    if limit > settings.max_pagination_size:
        raise InputValidationError(f"limit must be at most {settings.max_pagination_size}")
    return Page(offset, limit)


PageDep = Annotated[Page, Depends(get_page)]


def paginate(session: Session, statement: Select[Any], page: Page) -> tuple[int, Sequence[Any]]:
    """The total count of `statement`'s rows and the rows of `page` (scalars of its first
    column). `statement` must have a total order, or pages may overlap."""
    count = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = session.scalars(statement.offset(page.offset).limit(page.limit)).all()
    return count or 0, rows
