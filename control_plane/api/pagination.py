"""`offset`/`limit` query parameters, read into the services' `Page`.

`limit` defaults to, and may not exceed, `PU_MAX_PAGINATION_SIZE`; lists answer
`{count, <items>}`, `count` being the number of matching rows before offset and limit.
"""

from typing import Annotated

from fastapi import Depends, Query

from control_plane.services.errors import InputValidationError
from control_plane.services.paging import MAX_OFFSET, Page

from .deps import SettingsDep


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
