"""The unit page's env form: a field per variable of the unit's env.json, and the edit a
submitted form makes (the JSON object `units.env.set_unit_env` takes, as `PATCH /units/env`).

The repo's variables (those of env_example.json) come first, the platform's reserved ones
after. Secrets are never put in the page: PU_AUTH_TOKEN, PU_SECRET_KEY, PU_ENCRYPT_KEY and any
variable whose name says TOKEN, PASSWORD, SECRET or KEY show an empty field that keeps the
value unless something is typed. PU_COMMIT_VERSION is the platform's (the target commit) and
is shown read-only. A field edits a string as typed; any other JSON value (a number, a
boolean, a list…) is typed as JSON.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from control_plane.services.firmware import EnvJson, ReservedEnvName

FIELD_PREFIX = "env."
SECRET_WORDS = ("TOKEN", "PASSWORD", "SECRET", "KEY")
READ_ONLY = frozenset({str(ReservedEnvName.PU_COMMIT_VERSION)})


class EnvFormError(ValueError):
    """A field's text is not a value of its kind."""


@dataclass(frozen=True)
class EnvField:
    name: str
    shown: str
    """The value as the field shows it; empty for a masked field."""
    masked: bool
    read_only: bool
    is_json: bool
    """The value is not a string: the field is JSON text."""
    reserved: bool

    @property
    def input_name(self) -> str:
        return f"{FIELD_PREFIX}{self.name}"


def is_secret(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS)


def env_fields(env: EnvJson) -> list[EnvField]:
    """The form's fields: the repo's variables, then the platform's, each in env.json's order."""
    reserved = {str(name) for name in ReservedEnvName}
    fields = [_field(name, value, name in reserved) for name, value in env.items()]
    return sorted(fields, key=lambda field: field.reserved)


def _field(name: str, value: Any, reserved: bool) -> EnvField:
    masked = is_secret(name)
    is_json = not isinstance(value, str)
    shown = "" if masked else (json.dumps(value) if is_json else value)
    return EnvField(name, shown, masked, name in READ_ONLY, is_json, reserved)


def env_edit(env: EnvJson, form: Mapping[str, str]) -> EnvJson:
    """The variables the submitted `form` changes (`env.<NAME>` fields): a blank masked field
    and a field left as shown change nothing; read-only ones are ignored."""
    edit: EnvJson = {}
    for field in env_fields(env):
        typed = form.get(field.input_name)
        if typed is None or field.read_only or (field.masked and typed == ""):
            continue
        value = _parsed(field, typed)
        if value != env[field.name] or type(value) is not type(env[field.name]):
            edit[field.name] = value
    return edit


def _parsed(field: EnvField, typed: str) -> Any:
    if not field.is_json:
        return typed
    try:
        return json.loads(typed)
    except ValueError:
        raise EnvFormError(
            f"{field.name}: {typed!r} is not a JSON value (a number, true, false, null, "
            'or text in double quotes such as "text")'
        ) from None
