"""Device routes under `/units` over HTTP, on SQLite and PostgreSQL, with a registry cloned
from a real git repository: env.json, schema.json and the state storage
(docs/compatibility.md#device-routes, docs/compatibility.md#env-file). Only the unit's creator or
the unit itself may call them (docs/compatibility.md#access-model); bad input is a 4xx."""

import base64
import io
import json
import tarfile
import zipfile
import zlib
from uuid import UUID, uuid4

from fastapi import FastAPI
from fastapi.testclient import TestClient

from control_plane.security import make_unit_token
from pepeunit_core.db.models import Unit
from pepeunit_core.settings import Settings

from . import test_units_api
from .test_units_api import UNITS, Source, World, created, nodes_of, pinned, unit_headers

# The registry, source repository and world of the units tests, reused as fixtures here.
settings = test_units_api.settings
source = test_units_api.source
world = test_units_api.world

RESERVED_STRINGS = (
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
)
RESERVED_INTEGERS = (
    "PU_MQTT_PORT",
    "PU_MQTT_PING_INTERVAL",
    "PU_MQTT_KEEPALIVE",
    "PU_STATE_SEND_INTERVAL",
    "PU_MAX_LOG_LENGTH",
)


def check_callers(
    client: TestClient, world: World, settings: Settings, unit: dict, method: str, url: str, **kw
) -> None:
    """Anonymous, another user, an admin and another unit get 403; unknown uuids 404 and
    malformed ones 422."""
    other = created(client, world, f"other-{uuid4().hex[:8]}")
    for headers in (
        world.headers("anonymous"),
        world.headers("bob"),
        world.headers("admin"),
        unit_headers(settings, other),
    ):
        response = client.request(method, f"{url}/{unit['uuid']}", headers=headers, **kw)
        assert response.status_code == 403, response.text
    alice = world.headers("alice")
    assert client.request(method, f"{url}/{uuid4()}", headers=alice, **kw).status_code == 404
    assert client.request(method, f"{url}/nope", headers=alice, **kw).status_code == 422


def test_env_is_complete_typed_and_stable(
    client: TestClient, world: World, settings: Settings, source: Source, app: FastAPI
):
    unit = created(client, world, "env-unit")
    url = f"{UNITS}/env"
    response = client.get(f"{url}/{unit['uuid']}", headers=world.headers("alice"))
    assert response.status_code == 200, response.text
    env = response.json()
    assert set(env) == {"WIFI_SSID", *RESERVED_STRINGS, *RESERVED_INTEGERS}
    assert all(isinstance(env[name], str) for name in RESERVED_STRINGS)
    assert all(type(env[name]) is int for name in RESERVED_INTEGERS)
    assert env["WIFI_SSID"] == ""
    assert env["PU_COMMIT_VERSION"] == source.repository.features
    assert env["PU_DOMAIN"] == settings.domain
    assert env["PU_AUTH_TOKEN"] == make_unit_token(UUID(unit["uuid"]), settings.resolved_secret_key)
    for key in ("PU_SECRET_KEY", "PU_ENCRYPT_KEY"):
        assert len(base64.b64decode(env[key])) == 32
    own = client.get(f"{url}/{unit['uuid']}", headers=unit_headers(settings, unit))
    assert own.status_code == 200, own.text
    assert own.json() == env
    with app.state.context.session_factory() as session:
        stored = session.get_one(Unit, UUID(unit["uuid"])).cipher_env_dict
    assert stored and env["PU_SECRET_KEY"] not in stored
    stored_env = json.loads(app.state.context.cipher.decrypt(stored))
    assert "PU_COMMIT_VERSION" not in stored_env
    assert stored_env["PU_SECRET_KEY"] == env["PU_SECRET_KEY"]
    another = created(client, world, "env-another", **pinned(source))
    second = client.get(f"{url}/{another['uuid']}", headers=world.headers("alice")).json()
    assert second["PU_COMMIT_VERSION"] == source.first
    assert second["PU_SECRET_KEY"] != env["PU_SECRET_KEY"]
    check_callers(client, world, settings, unit, "GET", url)


def test_current_schema_lists_the_unit_topics(
    client: TestClient, world: World, settings: Settings, source: Source, app: FastAPI
):
    unit = created(client, world, "schema-unit", **pinned(source))
    url = f"{UNITS}/get_current_schema"
    response = client.get(f"{url}/{unit['uuid']}", headers=world.headers("alice"))
    assert response.status_code == 200, response.text
    nodes = {key: str(node.uuid) for key, node in nodes_of(app, unit).items()}
    domain, uuid = settings.domain, unit["uuid"]
    assert response.json() == {
        "input_base_topic": {
            "update/pepeunit": [f"{domain}/input_base_topic/{uuid}/update/pepeunit"]
        },
        "output_base_topic": {
            "state/pepeunit": [f"{domain}/output_base_topic/{uuid}/state/pepeunit"]
        },
        "input_topic": {
            "set/pepeunit": [f"{domain}/{nodes['Input', 'set/pepeunit']}/pepeunit"],
            "raw": [f"{domain}/{nodes['Input', 'raw']}"],
        },
        "output_topic": {
            "temp/pepeunit": [f"{domain}/{nodes['Output', 'temp/pepeunit']}/pepeunit"],
            "humidity/pepeunit": [f"{domain}/{nodes['Output', 'humidity/pepeunit']}/pepeunit"],
        },
    }
    own = client.get(f"{url}/{uuid}", headers=unit_headers(settings, unit))
    assert own.json() == response.json()
    check_callers(client, world, settings, unit, "GET", url)


def test_state_storage_round_trip(
    client: TestClient, world: World, settings: Settings, app: FastAPI
):
    unit = created(client, world, "state-unit")
    get_url, set_url = f"{UNITS}/get_state_storage", f"{UNITS}/set_state_storage"
    alice, own = world.headers("alice"), unit_headers(settings, unit)
    uuid = unit["uuid"]
    empty = client.get(f"{get_url}/{uuid}", headers=own)
    assert (empty.status_code, empty.json()) == (200, "")
    state = '{"counter": 3, "name": "ünit"}'
    response = client.post(f"{set_url}/{uuid}", json={"state": state}, headers=own)
    assert response.status_code == 204, response.text
    assert client.get(f"{get_url}/{uuid}", headers=alice).json() == state
    with app.state.context.session_factory() as session:
        stored = session.get_one(Unit, UUID(uuid)).cipher_state_storage
    assert stored and "counter" not in stored
    assert client.post(f"{set_url}/{uuid}", json={"state": "x"}, headers=alice).status_code == 204
    assert client.get(f"{get_url}/{uuid}", headers=own).json() == "x"
    assert client.post(f"{set_url}/{uuid}", json={"state": ""}, headers=own).status_code == 204
    assert client.get(f"{get_url}/{uuid}", headers=own).json() == ""
    too_long = "a" * (settings.max_cipher_length + 1)
    response = client.post(f"{set_url}/{uuid}", json={"state": too_long}, headers=own)
    assert response.status_code == 422, response.text
    for body in ({}, {"state": 5}, [], None):
        response = client.post(f"{set_url}/{uuid}", json=body, headers=own)
        assert response.status_code == 422, response.text
    response = client.post(f"{set_url}/{uuid}", content=b"{bad", headers=own)
    assert response.status_code == 422, response.text
    check_callers(client, world, settings, unit, "GET", get_url)
    check_callers(client, world, settings, unit, "POST", set_url, json={"state": "y"})
    assert client.get(f"{get_url}/{uuid}", headers=own).json() == ""


def archive_files(archive_format: str, content: bytes) -> dict[str, bytes]:
    """The regular files of an archive by name (without a leading `./`), via the standard
    library; tgz is a zlib stream with a 512-byte window (wbits=9)."""
    if archive_format == "zip":
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return {
                name: archive.read(name) for name in archive.namelist() if not name.endswith("/")
            }
    if archive_format == "tgz":
        content = zlib.decompress(content, 9)
    with tarfile.open(fileobj=io.BytesIO(content)) as archive:
        assert all(name == "." or name.startswith("./") for name in archive.getnames())
        return {
            member.name.removeprefix("./"): archive.extractfile(member).read()  # type: ignore[union-attr]
            for member in archive.getmembers()
            if member.isfile()
        }


def test_firmware_archives_hold_the_tree_env_and_schema(
    client: TestClient, world: World, settings: Settings, source: Source
):
    unit = created(client, world, "firmware-unit")
    url = f"{UNITS}/firmware"
    alice, own = world.headers("alice"), unit_headers(settings, unit)
    env = client.get(f"{UNITS}/env/{unit['uuid']}", headers=alice).json()
    schema = client.get(f"{UNITS}/get_current_schema/{unit['uuid']}", headers=alice).json()
    for archive_format, headers in (("zip", alice), ("tar", own), ("tgz", own)):
        response = client.get(f"{url}/{archive_format}/{unit['uuid']}", headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-length"] == str(len(response.content))
        files = archive_files(archive_format, response.content)
        assert json.loads(files["env.json"]) == env
        assert json.loads(files["schema.json"]) == schema
        assert files["main.py"] == b"print('hello')\n"
        assert files["lib/util.py"] == b"VALUE = 1\n"
        assert "env_example.json" in files
    gzip = client.get(f"{url}/tgz/{unit['uuid']}?wbits=31&level=1", headers=own)
    assert gzip.status_code == 200, gzip.text
    assert archive_files("tar", zlib.decompress(gzip.content, 31)) == files
    for query in ("wbits=8", "wbits=16", "level=10", "level=-2", "wbits=x", "level=1.5"):
        response = client.get(f"{url}/tgz/{unit['uuid']}?{query}", headers=own)
        assert response.status_code == 422, (query, response.text)
    assert client.get(f"{url}/rar/{unit['uuid']}", headers=own).status_code == 422
    check_callers(client, world, settings, unit, "GET", f"{url}/zip")
