"""Checking a GraphQL input with the REST route's pydantic model, so both refuse the same
values with the same 422 text (`<argument>.<field>: …` where REST says `body.<field>: …`)."""

from typing import Any, TypeVar

from graphql import GraphQLError
from pydantic import BaseModel, ValidationError

from control_plane.api.errors import describe_validation_errors
from control_plane.graphql.errors import graphql_error
from control_plane.services.errors import InputValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)


def validated(model: type[ModelT], argument: str, given: object, **fixed: Any) -> ModelT:
    """The REST `model` of a GraphQL input object: its fields the model has and that were given
    (null means left out), and the `fixed` ones; a refusal names the GraphQL argument."""
    data = {
        name: value
        for name, value in vars(given).items()
        if name in model.model_fields and value is not None
    }
    try:
        return model.model_validate(data | fixed)
    except ValidationError as error:
        located = [item | {"loc": (argument, *item.get("loc", ()))} for item in error.errors()]
        raise _refusal(describe_validation_errors(located)) from None


def _refusal(text: str) -> GraphQLError:
    return graphql_error(InputValidationError(text))
