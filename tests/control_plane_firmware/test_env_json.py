"""env.json: the 15 reserved variables with their JSON types (docs/compatibility.md#env-file), the
layer order and stable unit secrets (docs/compatibility.md#stable-unit-secrets)."""

import base64
import json

import pytest

from control_plane.services.firmware import (
    EnvJsonError,
    build_env_json,
    new_unit_secrets,
    parse_env_object,
)
from tests.control_plane_firmware.builders import COMMIT, DOMAIN, unit_settings

RESERVED_STRINGS = {
    "PU_DOMAIN",
    "PU_HTTP_TYPE",
    "PU_APP_PREFIX",
    "PU_API_ACTUAL_PREFIX",
    "PU_MQTT_HOST",
    "PU_AUTH_TOKEN",
    "PU_SECRET_KEY",
    "PU_ENCRYPT_KEY",
    "PU_MIN_LOG_LEVEL",
    "PU_COMMIT_VERSION",
}
RESERVED_INTEGERS = {
    "PU_MQTT_PORT",
    "PU_MQTT_PING_INTERVAL",
    "PU_MQTT_KEEPALIVE",
    "PU_STATE_SEND_INTERVAL",
    "PU_MAX_LOG_LENGTH",
}


def _as_device_reads_it(env):
    return json.loads(json.dumps(env, indent=4))


def test_an_empty_example_still_gets_all_15_reserved_variables_with_their_json_types():
    env = _as_device_reads_it(build_env_json(unit_settings(), {}))

    assert set(env) == RESERVED_STRINGS | RESERVED_INTEGERS
    assert all(type(env[name]) is str for name in RESERVED_STRINGS)
    assert all(type(env[name]) is int for name in RESERVED_INTEGERS)


def test_reserved_values_come_from_the_settings():
    secrets = new_unit_secrets()
    settings = unit_settings(secure=False, mqtt_port=8883, unit_secrets=secrets)

    env = build_env_json(settings, {})

    assert env["PU_DOMAIN"] == DOMAIN
    assert env["PU_HTTP_TYPE"] == "http"
    assert env["PU_MQTT_HOST"] == "mqtt.example.com"
    assert env["PU_MQTT_PORT"] == 8883
    assert env["PU_MQTT_PING_INTERVAL"] == 20
    assert env["PU_MQTT_KEEPALIVE"] == 60
    assert env["PU_AUTH_TOKEN"] == settings.unit_auth_token
    assert env["PU_SECRET_KEY"] == secrets.secret_key
    assert env["PU_ENCRYPT_KEY"] == secrets.encrypt_key
    assert env["PU_STATE_SEND_INTERVAL"] == 60
    assert env["PU_MIN_LOG_LEVEL"] == "Debug"
    assert env["PU_MAX_LOG_LENGTH"] == 64
    assert env["PU_COMMIT_VERSION"] == COMMIT


def test_the_rest_base_url_the_clients_concatenate_is_the_api_root():
    env = build_env_json(unit_settings(), {})

    base = (
        f"{env['PU_HTTP_TYPE']}://{env['PU_DOMAIN']}"
        f"{env['PU_APP_PREFIX']}{env['PU_API_ACTUAL_PREFIX']}"
    )
    assert base == f"https://{DOMAIN}/pepeunit/api/v1"


def test_secrets_are_stable_for_a_unit_and_different_between_units():
    secrets = new_unit_secrets()
    other = new_unit_secrets()

    first = build_env_json(unit_settings(unit_secrets=secrets), {})
    second = build_env_json(unit_settings(unit_secrets=secrets), {})

    assert first["PU_SECRET_KEY"] == second["PU_SECRET_KEY"]
    assert first["PU_ENCRYPT_KEY"] == second["PU_ENCRYPT_KEY"]
    keys = {secrets.secret_key, secrets.encrypt_key, other.secret_key, other.encrypt_key}
    assert len(keys) == 4
    assert all(len(base64.b64decode(key, validate=True)) == 32 for key in keys)


def test_layers_win_in_order_example_generated_stored_edit():
    example = {"A": "example", "B": "example", "C": "example", "PU_MQTT_HOST": "example"}
    stored = {"B": "stored", "C": "stored", "PU_MQTT_PORT": 1884}
    edit = {"C": "edit", "PU_MQTT_HOST": "edited.example.com"}

    env = build_env_json(unit_settings(), example, stored=stored, edit=edit)

    assert (env["A"], env["B"], env["C"]) == ("example", "stored", "edit")
    assert env["PU_MQTT_HOST"] == "edited.example.com"
    assert env["PU_MQTT_PORT"] == 1884


def test_example_defaults_keep_their_json_types():
    example = {"DELAY": 5, "RATIO": 0.5, "ON": True, "PINS": [1, 2], "CFG": {"a": None}}

    env = _as_device_reads_it(build_env_json(unit_settings(), example))

    assert {name: env[name] for name in example} == example


def test_only_example_keys_and_reserved_ones_survive():
    env = build_env_json(
        unit_settings(),
        {"KEEP": 1},
        stored={"OLD_KEY": 1, "KEEP": 2},
        edit={"NEW_KEY": 3},
    )

    assert "OLD_KEY" not in env
    assert "NEW_KEY" not in env
    assert env["KEEP"] == 2


def test_example_values_never_replace_generated_reserved_ones():
    env = build_env_json(
        unit_settings(),
        {"PU_MQTT_PORT": 1, "PU_DOMAIN": "example", "PU_COMMIT_VERSION": "example"},
    )

    assert env["PU_MQTT_PORT"] == 1883
    assert env["PU_DOMAIN"] == DOMAIN
    assert env["PU_COMMIT_VERSION"] == COMMIT


def test_commit_version_is_set_last_and_never_user_editable():
    env = build_env_json(
        unit_settings(), {}, stored={"PU_COMMIT_VERSION": "old"}, edit={"PU_COMMIT_VERSION": "x"}
    )

    assert env["PU_COMMIT_VERSION"] == COMMIT


def test_an_env_to_store_leaves_the_commit_version_out():
    env = build_env_json(
        unit_settings(commit_version=None),
        {"PU_COMMIT_VERSION": ""},
        edit={"PU_COMMIT_VERSION": "x"},
    )

    assert "PU_COMMIT_VERSION" not in env
    assert len(env) == 14


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"PU_MQTT_PORT": "1883"}, "PU_MQTT_PORT must be an integer; it is a string"),
        (
            {"PU_STATE_SEND_INTERVAL": 1.5},
            "PU_STATE_SEND_INTERVAL must be an integer; it is a number",
        ),
        ({"PU_MAX_LOG_LENGTH": True}, "PU_MAX_LOG_LENGTH must be an integer; it is a boolean"),
        ({"PU_MQTT_HOST": None}, "PU_MQTT_HOST must be a string; it is null"),
        ({"PU_AUTH_TOKEN": ["x"]}, "PU_AUTH_TOKEN must be a string; it is an array"),
        ({"PU_MIN_LOG_LEVEL": "debug"}, "PU_MIN_LOG_LEVEL must be one of Debug, Info, Warning"),
    ],
)
def test_reserved_values_of_the_wrong_type_are_refused(edit, message):
    with pytest.raises(EnvJsonError, match=message):
        build_env_json(unit_settings(), {}, edit=edit)


def test_parse_env_object_reads_a_json_object():
    assert parse_env_object(b'{"A": 1, "B": "x"}') == {"A": 1, "B": "x"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"env_example\.json is not valid JSON"),
        ("{'A': 1}", r"env_example\.json is not valid JSON"),
        ("[1, 2]", r"env_example\.json must be a JSON object; it is an array"),
        ('"{}"', r"env_example\.json must be a JSON object; it is a string"),
        ("null", r"env_example\.json must be a JSON object; it is null"),
    ],
)
def test_env_example_that_is_not_a_json_object_is_refused(text, message):
    with pytest.raises(EnvJsonError, match=message):
        parse_env_object(text)


def test_the_error_names_the_source_it_was_given():
    with pytest.raises(EnvJsonError, match=r"^env_json_string must be a JSON object"):
        parse_env_object("1", source="env_json_string")
