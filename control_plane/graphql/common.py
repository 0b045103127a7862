"""What many fields share: the pagination every filter input starts with, and `NoneType`."""

import strawberry

from control_plane.services.paging import Page, requested_page
from pepeunit_core.settings import Settings


@strawberry.type
class NoneType:
    """REST's 204: a mutation that returns nothing returns `{isNone: true}`."""

    is_none: bool = True


@strawberry.input
class PaginationInput:
    """The first fields of every `*FilterInput` (and `CommitFilterInput`); subclass it."""

    offset: int | None = None
    limit: int | None = None

    def page(self, settings: Settings) -> Page:
        """Refused (as REST refuses it) when out of bounds; no limit means the largest page."""
        return requested_page(self.offset, self.limit, settings.max_pagination_size)
