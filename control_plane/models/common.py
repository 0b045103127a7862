"""Field types and enums shared by the API schemas of several resources."""

import re
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

ENTITY_NAME_ALPHABET = re.compile(r"[A-Za-z0-9_.-]+")
PASSWORD_ALPHABET = re.compile(r"[!-~]+")
"""Printable ASCII without space: letters, digits and punctuation, as in the reference."""


def _only(alphabet: re.Pattern[str], described: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not alphabet.fullmatch(value):
            raise ValueError(f"only {described} are allowed")
        return value

    return check


EntityName = Annotated[
    str,
    StringConstraints(min_length=4, max_length=20),
    AfterValidator(_only(ENTITY_NAME_ALPHABET, "letters A-Z a-z, digits and _ . -")),
    Field(description="4-20 characters of A-Z a-z 0-9 _ . -"),
]
"""User login, Repo, Unit and Dashboard names."""

Password = Annotated[
    str,
    StringConstraints(min_length=8, max_length=100),
    AfterValidator(_only(PASSWORD_ALPHABET, "ASCII letters, digits and punctuation")),
    Field(description="8-100 characters: ASCII letters, digits and punctuation"),
]


def reject_nul(value: str) -> str:
    """PostgreSQL cannot store NUL in text: refuse it as bad input, not a database error."""
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


NulFreeText = Annotated[str, AfterValidator(reject_nul)]
"""Free text that reaches the database (names, descriptions, search strings)."""

SearchString = Annotated[
    NulFreeText,
    StringConstraints(max_length=256),
    Field(description="Words matched as case-insensitive substrings; all must match."),
]


class OrderByDate(StrEnum):
    ASC = "asc"
    DESC = "desc"
