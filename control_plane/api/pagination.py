"""`offset`/`limit` query parameters, read into the services' `Page`.

`limit` defaults to, and may not exceed, `PU_MAX_PAGINATION_SIZE`; lists answer
`{count, <items>}`, `count` being the number of matching rows before offset and limit.
"""

from typing import Annotated

from fastapi import Depends, Query

from control_plane.services.paging import MAX_OFFSET, Page, requested_page

from .deps import SettingsDep


def get_page(
    settings: SettingsDep,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int | None, Query(ge=0, description="At most PU_MAX_PAGINATION_SIZE.")] = None,
) -> Page:
    return requested_page(offset, limit, settings.max_pagination_size)


PageDep = Annotated[Page, Depends(get_page)]
