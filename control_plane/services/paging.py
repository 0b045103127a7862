"""A page of a list: `offset` and `limit`, and the rows of a query that fall in it.

The API reads the page from its `offset`/`limit` query parameters (`control_plane.api.pagination`);
the bot builds its own.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

# Larger offsets can only mean an empty page, and would overflow PostgreSQL's bigint.
MAX_OFFSET = 2**31 - 1


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int


def paginate(session: Session, statement: Select[Any], page: Page) -> tuple[int, Sequence[Any]]:
    """The total count of `statement`'s rows and the rows of `page` (scalars of its first
    column). `statement` must have a total order, or pages may overlap."""
    count = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = session.scalars(statement.offset(page.offset).limit(page.limit)).all()
    return count or 0, rows
