"""Checking a GraphQL input with the REST route's pydantic model, so both refuse the same
values with the same 422 text (`<argument>.<field>: …` where REST says `body.<field>: …`)."""

from typing import Any, TypeVar

from graphql import GraphQLError
from pydantic import BaseModel, ValidationError

from control_plane.api.errors import describe_validation_errors
from control_plane.graphql.errors import graphql_error
from control_plane.services.errors import InputValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)


def validated(model: type[ModelT], argument: str, data: dict[str, Any]) -> ModelT:
    """`model(**data)`; a refusal names the GraphQL argument the bad value came in."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        located = [item | {"loc": (argument, *item.get("loc", ()))} for item in error.errors()]
        raise _refusal(describe_validation_errors(located)) from None


def _refusal(text: str) -> GraphQLError:
    return graphql_error(InputValidationError(text))
