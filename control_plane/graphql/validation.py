"""GraphQL inputs checked by REST's pydantic models, refused with REST's 422 text."""

import dataclasses
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from control_plane.api.errors import describe_validation_errors
from control_plane.services.errors import InputValidationError

M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], argument: str, data: Any) -> M:
    """`model` built from the input `data` (a Strawberry input, or a dict) of `argument`;
    `InputValidationError` naming `argument.<field>` when the model refuses it. A null field
    takes the model's default, as a query parameter left out does in REST (in nested inputs
    too)."""
    values = _without_nulls(dataclasses.asdict(data) if dataclasses.is_dataclass(data) else data)
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise InputValidationError(
            describe_validation_errors(error.errors(), location_prefix=(argument,))
        ) from None


def _without_nulls(values: Any) -> Any:
    """`values` (a dict) without its null fields, and so for the dicts in it."""
    if isinstance(values, dict):
        return {name: _without_nulls(value) for name, value in values.items() if value is not None}
    if isinstance(values, list):
        return [_without_nulls(value) for value in values]
    return values


def validated_value(annotation: Any, argument: str, value: object) -> Any:
    """`value` of `argument` checked against a pydantic `annotation` (as REST checks a query
    parameter); `InputValidationError` naming `argument` when it does not fit."""
    try:
        return TypeAdapter(annotation).validate_python(value)
    except ValidationError as error:
        raise InputValidationError(
            describe_validation_errors(error.errors(), location_prefix=(argument,))
        ) from None
