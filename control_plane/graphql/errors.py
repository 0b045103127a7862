"""Errors as the reference's GraphQL API gives them: HTTP 200 with
`{"message": "<status>: <code>: <Kind>: <text>"}` (its frontend strips the status prefix), plus
what the reference lacks: `extensions.code` (the error family) and `extensions.status`.
Anything unexpected is logged and answered `"500: Internal Server Error"`, never a traceback.
"""

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from control_plane.api.errors import INTERNAL_ERROR_DETAIL, error_detail, error_family
from control_plane.services.errors import ServiceError

logger = logging.getLogger("pepeunit.graphql")


def graphql_error(error: ServiceError) -> GraphQLError:
    family = error_family(error)
    return GraphQLError(
        error_detail(error),
        original_error=error,
        extensions={"code": family.error_code, "status": family.status_code},
    )


def _is_unexpected(error: GraphQLError) -> bool:
    """Refusals (ServiceError) and GraphQL's own validation and coercion errors (no original
    error) are shown as they are; any other exception is masked."""
    original = error.original_error
    if original is None or isinstance(original, (ServiceError, GraphQLError)):
        return False
    logger.error("unhandled %s in %s", type(original).__name__, error.path, exc_info=original)
    return True


def error_masking() -> MaskErrors:
    return MaskErrors(should_mask_error=_is_unexpected, error_message=INTERNAL_ERROR_DETAIL)
