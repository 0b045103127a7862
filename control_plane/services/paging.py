"""A page of a list: `offset` and `limit`, and the rows of a query that fall in it.

REST reads the page from its `offset`/`limit` query parameters (`control_plane.api.pagination`),
GraphQL from its filter inputs, both through `requested_page`; the bot builds its own.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from control_plane.services.errors import InputValidationError

# Larger offsets can only mean an empty page, and would overflow PostgreSQL's bigint.
MAX_OFFSET = 2**31 - 1


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int


def requested_page(offset: int | None, limit: int | None, max_size: int) -> Page:
    """The page a caller asked for: no limit means the largest page (`max_size`,
    `PU_MAX_PAGINATION_SIZE`), a larger one is refused."""
    offset = offset or 0
    if not 0 <= offset <= MAX_OFFSET:
        raise InputValidationError(f"offset must be between 0 and {MAX_OFFSET}")
    if limit is None:
        return Page(offset, max_size)
    if limit < 0:
        raise InputValidationError("limit must be at least 0")
    if limit > max_size:
        raise InputValidationError(f"limit must be at most {max_size}")
    return Page(offset, limit)


def paginate(session: Session, statement: Select[Any], page: Page) -> tuple[int, Sequence[Any]]:
    """The total count of `statement`'s rows and the rows of `page` (scalars of its first
    column). `statement` must have a total order, or pages may overlap."""
    count = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = session.scalars(statement.offset(page.offset).limit(page.limit)).all()
    return count or 0, rows
