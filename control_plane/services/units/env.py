"""A unit's env.json and schema.json (docs/compatibility.md#device-routes,
docs/compatibility.md#env-file): read by the unit's creator or the unit itself, edited or reset by
the creator.

The first read of an env stores it (encrypted, without PU_COMMIT_VERSION) so `PU_SECRET_KEY` /
`PU_ENCRYPT_KEY` stay stable per unit (docs/compatibility.md#stable-unit-secrets); PU_COMMIT_VERSION
is the target commit at every read. A reset forgets the stored env, secrets included: the next read
makes new ones, as 1.x does.
"""

import json
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from control_plane.security import Agent, AgentType, make_unit_token
from control_plane.services.errors import UnitError
from control_plane.services.firmware import (
    ENV_EXAMPLE_FILE,
    SCHEMA_EXAMPLE_FILE,
    EnvJson,
    EnvJsonError,
    ReservedEnvName,
    SchemaExampleError,
    SchemaJson,
    UnitEnvSettings,
    UnitSecrets,
    build_env_json,
    build_schema_json,
    generated_env,
    new_unit_secrets,
    parse_env_object,
    parse_schema_example,
)
from control_plane.services.units.access import own_unit
from control_plane.services.units.target import DeviceUnit, device_target, file_at_target
from pepeunit_core.crypto import Cipher, DecryptionError
from pepeunit_core.db.enums import UnitNodeType
from pepeunit_core.db.models import Unit, UnitNode, User
from pepeunit_core.settings import Settings


def unit_env(
    session: Session, settings: Settings, cipher: Cipher, agent: Agent, uuid: UUID
) -> EnvJson:
    """The unit's env.json: its stored env over env_example.json at the target commit."""
    return env_of(session, settings, cipher, device_target(session, settings, agent, uuid))


def env_of(session: Session, settings: Settings, cipher: Cipher, target: DeviceUnit) -> EnvJson:
    """env.json of a resolved unit; the first read stores the unit's secrets."""
    example = _env_example(settings, target)
    stored = _stored_env(cipher, target.unit)
    secrets = _secrets_of(stored)
    try:
        if (
            stored.get(ReservedEnvName.PU_SECRET_KEY),
            stored.get(ReservedEnvName.PU_ENCRYPT_KEY),
        ) != (
            secrets.secret_key,
            secrets.encrypt_key,
        ):
            stored = build_env_json(
                _env_settings(settings, target.unit.uuid, secrets, None), example, stored=stored
            )
            target.unit.cipher_env_dict = cipher.encrypt(json.dumps(stored))
            session.commit()
        env = build_env_json(
            _env_settings(settings, target.unit.uuid, secrets, target.commit),
            example,
            stored=stored,
        )
    except EnvJsonError as error:
        raise UnitError(str(error)) from error
    return env


def set_unit_env(
    session: Session,
    settings: Settings,
    cipher: Cipher,
    user: User,
    uuid: UUID,
    env_json_string: str,
) -> None:
    """Merges the creator's edit (a JSON object) over the unit's env and stores the result.

    Unlike the reference, which drops them silently, keys the unit's env.json does not have are
    refused, so a typo is not lost unnoticed. PU_COMMIT_VERSION is ignored as the reference does:
    a client sends back the env it read, and the platform owns that value (the target commit).
    """
    own_unit(session, user, uuid)
    if len(env_json_string) > settings.max_cipher_length:
        raise UnitError(f"The env is longer than {settings.max_cipher_length} characters")
    try:
        edit = parse_env_object(env_json_string, source="env_json_string")
    except EnvJsonError as error:
        raise UnitError(str(error)) from error
    edit.pop(ReservedEnvName.PU_COMMIT_VERSION, None)
    target = device_target(session, settings, Agent(AgentType.USER, user.uuid, user), uuid)
    example = _env_example(settings, target)
    stored = _stored_env(cipher, target.unit)
    env_settings = _env_settings(settings, target.unit.uuid, _secrets_of(stored), None)
    _check_editable(edit, example, env_settings)
    try:
        env = build_env_json(env_settings, example, stored=stored, edit=edit)
    except EnvJsonError as error:
        raise UnitError(str(error)) from error
    target.unit.cipher_env_dict = cipher.encrypt(json.dumps(env))
    session.commit()


def reset_unit_env(session: Session, user: User, uuid: UUID) -> None:
    """Forgets the unit's stored env; the next read builds it anew from env_example.json."""
    unit = own_unit(session, user, uuid)
    unit.cipher_env_dict = None
    session.commit()


def _check_editable(edit: EnvJson, example: EnvJson, env_settings: UnitEnvSettings) -> None:
    known = example.keys() | generated_env(env_settings).keys()
    unknown = sorted(name for name in edit if name not in known)
    if unknown:
        raise UnitError(
            f"The unit's env.json has no variable {', '.join(map(repr, unknown))}; "
            "add it to env_example.json in the repository first"
        )


def unit_schema(session: Session, settings: Settings, agent: Agent, uuid: UUID) -> SchemaJson:
    """schema.json from schema_example.json at the target commit, with the unit's nodes."""
    return schema_of(session, settings, device_target(session, settings, agent, uuid))


def schema_of(session: Session, settings: Settings, target: DeviceUnit) -> SchemaJson:
    """schema.json of a resolved unit."""
    content = file_at_target(settings, target.repo, target.commit, SCHEMA_EXAMPLE_FILE)
    if content is None:
        raise UnitError(f"{SCHEMA_EXAMPLE_FILE} is missing at commit {target.commit}")
    nodes = session.scalars(select(UnitNode).where(UnitNode.unit_uuid == target.unit.uuid))
    by_type: dict[UnitNodeType, dict[str, UUID]] = {kind: {} for kind in UnitNodeType}
    for node in nodes:
        by_type[node.type][node.topic_name] = node.uuid
    try:
        return build_schema_json(
            parse_schema_example(content),
            domain=settings.domain,
            unit_uuid=target.unit.uuid,
            input_node_uuids=by_type[UnitNodeType.INPUT],
            output_node_uuids=by_type[UnitNodeType.OUTPUT],
        )
    except (SchemaExampleError, ValueError) as error:
        raise UnitError(str(error)) from error


def _env_settings(
    settings: Settings, unit_uuid: UUID, secrets: UnitSecrets, commit: str | None
) -> UnitEnvSettings:
    return UnitEnvSettings(
        domain=settings.domain,
        secure=settings.secure,
        app_prefix=settings.app_prefix,
        api_prefix=settings.api_v1_prefix,
        mqtt_host=settings.mqtt_host,
        mqtt_port=settings.mqtt_port,
        unit_auth_token=make_unit_token(unit_uuid, settings.resolved_secret_key),
        unit_secrets=secrets,
        state_send_interval=settings.state_send_interval,
        commit_version=commit,
        mqtt_keepalive=settings.mqtt_keepalive,
    )


def _env_example(settings: Settings, target: DeviceUnit) -> EnvJson:
    content = file_at_target(settings, target.repo, target.commit, ENV_EXAMPLE_FILE)
    if content is None:
        return {}
    try:
        return parse_env_object(content)
    except EnvJsonError as error:
        raise UnitError(str(error)) from error


def _stored_env(cipher: Cipher, unit: Unit) -> EnvJson:
    if not unit.cipher_env_dict:
        return {}
    try:
        return parse_env_object(cipher.decrypt(unit.cipher_env_dict), source="the stored env")
    except (DecryptionError, EnvJsonError) as error:
        raise UnitError(f"The unit's stored env is unreadable: {error}") from error


def _secrets_of(stored: EnvJson) -> UnitSecrets:
    secret_key = stored.get(ReservedEnvName.PU_SECRET_KEY)
    encrypt_key = stored.get(ReservedEnvName.PU_ENCRYPT_KEY)
    fresh = new_unit_secrets()
    return UnitSecrets(
        secret_key=secret_key if isinstance(secret_key, str) else fresh.secret_key,
        encrypt_key=encrypt_key if isinstance(encrypt_key, str) else fresh.encrypt_key,
    )
