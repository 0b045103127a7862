"""The unit page: what `GET /units/{uuid}` and the device routes give the signed-in user, and
each action through the API's services (env, commands, state storage, firmware, logs), with
bad input shown in the page and the API's refusal for users who may not see or change the unit.
Real git repository, Mosquitto and chdb, on SQLite and PostgreSQL."""

import io
import json
import re
import tarfile
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from fastapi import FastAPI

from control_plane.console.session import CSRF_FIELD
from control_plane.security import make_unit_token
from pepeunit_core.clickhouse.schema import apply_clickhouse_migrations
from pepeunit_core.db.models import Repo, Unit, User
from pepeunit_core.settings import Settings
from pepeunit_core.topics import CommandTopicName, command_topic
from tests.console.console_client import PASSWORD, PREFIX, ConsoleClient, register
from tests.control_plane.conftest import make_settings
from tests.control_plane.test_unit_commands_api import Device
from tests.control_plane_registry.git_sources import SourceRepository
from tests.pepeunit_core.builders import add_unit
from tests.services.clickhouse import ClickHouseDatabase
from tests.services.mosquitto import MosquittoServer

API = f"{PREFIX}/api/v1"
SCHEMA = {
    "input_base_topic": ["update/pepeunit", "env_update/pepeunit"],
    "output_base_topic": ["state/pepeunit", "log/pepeunit"],
    "input_topic": ["setpoint/pepeunit"],
    "output_topic": ["temperature/pepeunit"],
}
ENV_EXAMPLE = {"DEVICE_LABEL": "unnamed", "WIFI_PASSWORD": "hunter2", "SAMPLES": 3}


def make_source(root: Path, schema: dict = SCHEMA) -> SourceRepository:
    repository = SourceRepository(root, "thermometer")
    commit = repository.commit(
        "Thermometer",
        {
            "schema_example.json": json.dumps(schema).encode(),
            "env_example.json": json.dumps(ENV_EXAMPLE).encode(),
            "main.py": b"pass\n",
        },
    )
    repository.tag("v1.0.0", commit)
    repository.publish()
    return repository


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> SourceRepository:
    return make_source(tmp_path_factory.mktemp("unit-page-source"))


@pytest.fixture
def settings(
    database_url: str,
    tmp_path,
    clickhouse_database: ClickHouseDatabase,
    mosquitto_server: MosquittoServer,
) -> Settings:
    apply_clickhouse_migrations(clickhouse_database.client)
    return make_settings(
        database_url,
        secure=False,
        save_repo_path=tmp_path / "repos",
        registry_allowed_url_schemes=("https", "file"),
        clickhouse_database_url=clickhouse_database.dsn,
        mqtt_port=mosquitto_server.port,
    )


def make_unit(console: ConsoleClient, login: str, source: SourceRepository, **unit: object) -> str:
    """As `login`, through the API: a registry, a repo and a unit of `source`."""
    token = console.post(f"{API}/users/auth", json={"credentials": login, "password": PASSWORD})
    headers = {"x-auth-token": token.json()["token"]}

    def call(url: str, body: dict) -> dict:
        answer = console.post(f"{API}{url}", json=body, headers=headers)
        assert answer.status_code == 201, answer.text
        return answer.json()

    registry = call(
        "/repository_registry",
        {"platform": "Github", "repository_url": source.url, "is_public_repository": True},
    )
    repo = call(
        "/repos",
        {"repository_registry_uuid": registry["uuid"], "default_branch": "main",
         "visibility_level": "Public", "name": f"repo-{login}"},
    )  # fmt: skip
    body = {"repo_uuid": repo["uuid"], "visibility_level": "Public", "name": f"unit-{login}",
            "is_auto_update_from_repo_unit": True} | unit  # fmt: skip
    return call("/units", body)["uuid"]


def env_of(console: ConsoleClient, app: FastAPI, uuid: str) -> dict:
    token = make_unit_token(UUID(uuid), app.state.context.settings.resolved_secret_key)
    answer = console.get(f"{API}/units/env/{uuid}", headers={"x-auth-token": token})
    assert answer.status_code == 200, answer.text
    return answer.json()


def post_form(console: ConsoleClient, uuid: str, action: str, data: dict) -> object:
    token = console.form_token(f"{PREFIX}/units/{uuid}")
    return console.post(f"{PREFIX}/units/{uuid}/{action}", data={CSRF_FIELD: token, **data})


@pytest.fixture
def alice_unit(console: ConsoleClient, source: SourceRepository) -> str:
    register(console, "admin")
    register(console, "alice")
    uuid = make_unit(console, "alice", source)
    console.sign_in("alice")
    return uuid


def test_the_page_shows_status_nodes_env_and_commands(
    console: ConsoleClient, app: FastAPI, alice_unit: str
):
    uuid = alice_unit
    with app.state.context.session_factory() as session:
        unit = session.get_one(Unit, UUID(uuid))
        unit.unit_state_dict = '{"millis": 1}'
        unit.last_state_report_datetime = datetime.now(UTC) - timedelta(hours=1)
        session.commit()
    listed = console.get(f"{PREFIX}/units").text
    assert f'href="{PREFIX}/units/{uuid}"' in listed
    page = console.get(f"{PREFIX}/units/{uuid}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "unit-alice" in html and ">offline<" in html and "v1.0.0" in html
    assert "setpoint/pepeunit" in html and "temperature/pepeunit" in html
    assert f'sse-connect="{PREFIX}/units/{uuid}/live"' in html
    # A field per variable, with its value; secrets are never in the page.
    env = env_of(console, app, uuid)
    assert 'name="env.DEVICE_LABEL" value="unnamed"' in html
    assert 'name="env.SAMPLES" value="3"' in html
    for secret in ("WIFI_PASSWORD", "PU_AUTH_TOKEN", "PU_SECRET_KEY", "PU_ENCRYPT_KEY"):
        assert f'name="env.{secret}" value=""' in html, secret
        assert str(env[secret]) not in html, secret
    assert 'name="env.PU_COMMIT_VERSION"' not in html and env["PU_COMMIT_VERSION"] in html
    buttons = re.findall(r'name="command" value="(\w+)"', html)
    assert buttons == ["Update", "EnvUpdate"]  # what the schema lists
    for archive in ("zip", "tar", "tgz"):
        assert f'href="{PREFIX}/units/{uuid}/firmware/{archive}"' in html
    # The live stream: status, current version and every node's value.
    with console.stream("GET", f"{PREFIX}/units/{uuid}/live") as events:
        assert events.status_code == 200
        names = set()
        for line in events.iter_lines():
            if line.startswith("event: "):
                names.add(line.removeprefix("event: ").split("-")[0])
            if names >= {"status", "current", "value"} and line == "":
                break


def test_a_command_and_an_env_edit_reach_the_device(
    console: ConsoleClient, app: FastAPI, alice_unit: str, mosquitto_server: MosquittoServer
):
    uuid = alice_unit
    before = env_of(console, app, uuid)
    topic = command_topic("pepeunit.test", uuid, CommandTopicName.ENV_UPDATE)
    update = command_topic("pepeunit.test", uuid, CommandTopicName.UPDATE)
    device = Device(mosquitto_server.port, [topic, update])
    try:
        answer = post_form(console, uuid, "command", {"command": "Update"})
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"].endswith("done=sent-Update")
        assert json.loads(device.wait_for(update))["COMMAND"] == "Update"
        assert "update: RequestSent" in console.get(answer.headers["location"]).text
        answer = post_form(
            console, uuid, "env",
            {"env.DEVICE_LABEL": "kitchen", "env.SAMPLES": "5", "env.WIFI_PASSWORD": "",
             "env.PU_AUTH_TOKEN": "", "send_env_update": "on"},
        )  # fmt: skip
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == f"{PREFIX}/units/{uuid}?done=env-sent"
        assert json.loads(device.wait_for(topic)) == {"COMMAND": "EnvUpdate"}
    finally:
        device.close()
    after = env_of(console, app, uuid)
    assert after["DEVICE_LABEL"] == "kitchen" and after["SAMPLES"] == 5
    # Blank secrets keep their values.
    assert after["WIFI_PASSWORD"] == "hunter2"
    assert after["PU_AUTH_TOKEN"] == before["PU_AUTH_TOKEN"]
    assert "Saved the env and sent EnvUpdate" in console.get(answer.headers["location"]).text

    answer = post_form(console, uuid, "env", {"env.WIFI_PASSWORD": "correct horse"})
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("done=env-saved")
    assert env_of(console, app, uuid)["WIFI_PASSWORD"] == "correct horse"


def test_bad_input_is_a_message_in_the_page(
    console: ConsoleClient, app: FastAPI, alice_unit: str, settings: Settings
):
    uuid = alice_unit
    answer = post_form(console, uuid, "env", {"env.SAMPLES": "five"})
    assert answer.status_code == 422
    assert 'id="env-error"' in answer.text and "SAMPLES: &#39;five&#39; is not a JSON value" in (
        answer.text
    )
    answer = post_form(console, uuid, "env", {"env.PU_MQTT_PORT": '"1883"'})
    assert answer.status_code == 422 and 'id="env-error"' in answer.text
    assert env_of(console, app, uuid)["SAMPLES"] == 3
    answer = post_form(console, uuid, "state", {"state": "x" * (settings.max_cipher_length + 1)})
    assert answer.status_code == 422 and 'id="state-error"' in answer.text
    answer = post_form(console, uuid, "command", {"command": "Reboot"})
    assert answer.status_code == 422 and "command" in answer.text
    answer = post_form(console, uuid, "command", {"command": "SchemaUpdate"})
    assert answer.status_code == 422 and "schema_update/pepeunit" in answer.text
    assert console.get(f"{PREFIX}/units/{uuid}/firmware/rar").status_code == 422
    assert console.get(f"{PREFIX}/units/{uuid4()}").status_code == 404


def test_state_storage_is_shown_and_set(console: ConsoleClient, app: FastAPI, alice_unit: str):
    uuid = alice_unit
    answer = post_form(console, uuid, "state", {"state": '{"count": 7} <b>'})
    assert answer.status_code == 303
    token = make_unit_token(UUID(uuid), app.state.context.settings.resolved_secret_key)
    stored = console.get(f"{API}/units/get_state_storage/{uuid}", headers={"x-auth-token": token})
    assert stored.json() == '{"count": 7} <b>'
    assert "{&#34;count&#34;: 7} &lt;b&gt;</textarea>" in console.get(f"{PREFIX}/units/{uuid}").text


def test_firmware_archives_hold_the_env(console: ConsoleClient, app: FastAPI, alice_unit: str):
    uuid = alice_unit
    env = env_of(console, app, uuid)
    for archive in ("zip", "tar", "tgz"):
        answer = console.get(f"{PREFIX}/units/{uuid}/firmware/{archive}")
        assert answer.status_code == 200, answer.text
        assert f'filename="{uuid}.{archive}"' in answer.headers["content-disposition"]
        if archive == "zip":
            with zipfile.ZipFile(io.BytesIO(answer.content)) as opened:
                assert json.loads(opened.read("env.json"))["DEVICE_LABEL"] == "unnamed"
                assert "main.py" in opened.namelist()
        elif archive == "tar":
            with tarfile.open(fileobj=io.BytesIO(answer.content)) as opened:
                member = opened.extractfile("./env.json")
                assert member is not None
                assert json.loads(member.read())["PU_AUTH_TOKEN"] == env["PU_AUTH_TOKEN"]
        else:
            assert answer.content  # zlib-wrapped, as the API's tgz


def test_logs_stream_the_units_entries_of_the_levels_asked(
    console: ConsoleClient, alice_unit: str, clickhouse_database: ClickHouseDatabase
):
    uuid = alice_unit
    now = datetime.now(UTC)
    columns = ["uuid", "level", "unit_uuid", "text", "create_datetime", "expiration_datetime"]
    rows = [
        [uuid4(), level, UUID(uuid), text, now, now + timedelta(hours=1)]
        for level, text in (("Info", "booted"), ("Error", "sensor <timeout>"))
    ]
    clickhouse_database.client.insert("unit_logs", rows, column_names=columns)
    page = console.get(f"{PREFIX}/units/{uuid}?level=Error").text
    assert f'sse-connect="{PREFIX}/units/{uuid}/logs?level=Error"' in page
    with console.stream("GET", f"{PREFIX}/units/{uuid}/logs?level=Error") as events:
        assert events.status_code == 200
        text = ""
        for line in events.iter_lines():
            text += line + "\n"
            if "</ol>" in line:
                break
    assert "sensor &lt;timeout&gt;" in text and "booted" not in text


def test_others_get_the_apis_refusal(
    console: ConsoleClient, app: FastAPI, source: SourceRepository, tmp_path: Path
):
    register(console, "admin")
    register(console, "alice")
    register(console, "robert")
    public = make_unit(console, "alice", source)
    private = make_unit(
        console, "robert", make_source(tmp_path), name="unit-private", visibility_level="Private"
    )
    console.sign_in("robert")
    assert console.get(f"{PREFIX}/units/{private}").status_code == 200
    console.sign_in("alice")
    assert "unit-private" not in console.get(f"{PREFIX}/units").text
    refused = console.get(f"{PREFIX}/units/{private}")
    assert refused.status_code == 403 and "No access to this unit" in refused.text
    console.sign_in("robert")
    # Robert sees Alice's public unit, but not what only its creator reads, and changes nothing.
    page = console.get(f"{PREFIX}/units/{public}")
    assert page.status_code == 200 and "Only the unit's creator" in page.text
    assert 'name="env.' not in page.text and 'name="command"' not in page.text
    token = console.form_token(f"{PREFIX}/units/{public}")
    for action, data in (
        ("env", {"env.DEVICE_LABEL": "mine"}),
        ("command", {"command": "EnvUpdate"}),
        ("state", {"state": "mine"}),
    ):
        answer = console.post(f"{PREFIX}/units/{public}/{action}", data={CSRF_FIELD: token, **data})
        assert answer.status_code == 403, (action, answer.text)
    assert console.get(f"{PREFIX}/units/{public}/firmware/zip").status_code == 403
    assert console.get(f"{PREFIX}/units/{public}/logs").status_code == 403
    assert env_of(console, app, public)["DEVICE_LABEL"] == "unnamed"


ACCESS = re.compile(r'<li id="access-([0-9a-f-]+)">')


def test_granting_a_private_unit_shows_it_to_the_user_and_revoking_hides_it(
    console: ConsoleClient, source: SourceRepository
):
    register(console, "admin")
    alice, bobby = register(console, "alice"), register(console, "bobby")
    uuid = make_unit(console, "alice", source, name="unit-private", visibility_level="Private")
    here = f"{PREFIX}/units/{uuid}"
    console.sign_in("bobby")
    assert console.get(here).status_code == 403
    assert "unit-private" not in console.get(f"{PREFIX}/units").text
    grant = post_form(console, uuid, "access", {"agent_type": "User", "agent": "alice"})
    assert grant.status_code == 403 and "Only the creator of the resource" in grant.text

    console.sign_in("alice")
    page = console.get(here).text
    # The creator and the unit itself hold access that cannot be revoked.
    assert ACCESS.findall(page) == [str(alice), uuid]
    assert "(creator)" in page and "(itself)" in page and "Revoke access" not in page
    granted = post_form(console, uuid, "access", {"agent_type": "User", "agent": "bobby"})
    assert granted.status_code == 303 and granted.headers["location"] == here
    assert str(bobby) in ACCESS.findall(console.get(here).text)

    console.sign_in("bobby")
    assert console.get(here).status_code == 200
    assert f'href="{here}"' in console.get(f"{PREFIX}/units").text
    # Seeing a unit is not owning it: no Access section, no grant.
    assert 'id="access-title"' not in console.get(here).text
    grant = post_form(console, uuid, "access", {"agent_type": "User", "agent": "bobby"})
    assert grant.status_code == 403

    console.sign_in("alice")
    revoked = post_form(console, uuid, "access/revoke", {"agent_uuid": str(bobby)})
    assert revoked.status_code == 303 and revoked.headers["location"] == here
    assert str(bobby) not in ACCESS.findall(console.get(here).text)
    console.sign_in("bobby")
    assert console.get(here).status_code == 403
    assert "unit-private" not in console.get(f"{PREFIX}/units").text


def test_bad_grants_and_revokes_of_a_unit_are_messages(
    console: ConsoleClient, app: FastAPI, alice_unit: str
):
    uuid = alice_unit
    alice = console.get(f"{PREFIX}/units/{uuid}").text
    [creator] = [found for found in ACCESS.findall(alice) if found != uuid]
    for fields, status, message in (
        ({"agent_type": "User", "agent": "nobody-here"}, 422, "No user with the login"),
        ({"agent_type": "Unit", "agent": "lamp"}, 422, "A unit is given by its uuid"),
        ({"agent_type": "Unit", "agent": str(UUID(int=3))}, 422, "does not exist"),
        ({"agent_type": "Robot", "agent": "alice"}, 422, "agent_type"),
        ({"agent_type": "User", "agent": "alice"}, 422, "already has access"),
        ({"agent_type": "Unit", "agent": uuid}, 422, "already has access"),
    ):
        answer = post_form(console, uuid, "access", fields)
        assert answer.status_code == status and message in answer.text, (fields, answer.text)
    for agent_uuid, status, message in (
        (creator, 422, "creator&#39;s access cannot be revoked"),
        (uuid, 422, "access to itself cannot be revoked"),
        (str(UUID(int=4)), 404, "not found"),
        ("not-a-uuid", 422, "agent_uuid"),
    ):
        answer = post_form(console, uuid, "access/revoke", {"agent_uuid": agent_uuid})
        assert answer.status_code == status and message in answer.text, (agent_uuid, answer.text)
    # Another unit of hers is granted by its uuid, and revoked again.
    with app.state.context.session_factory() as session:
        unit = session.get_one(Unit, UUID(uuid))
        creator, repo = (
            session.get_one(User, unit.creator_uuid),
            session.get_one(Repo, unit.repo_uuid),
        )
        other = str(add_unit(session, creator, repo, "unit-other").uuid)
        session.commit()
    granted = post_form(console, uuid, "access", {"agent_type": "Unit", "agent": other})
    assert granted.status_code == 303
    assert other in ACCESS.findall(console.get(f"{PREFIX}/units/{uuid}").text)
    revoked = post_form(console, uuid, "access/revoke", {"agent_uuid": other})
    assert revoked.status_code == 303
    assert other not in ACCESS.findall(console.get(f"{PREFIX}/units/{uuid}").text)


def test_schema_update_and_log_sync_reach_the_device(
    console: ConsoleClient,
    tmp_path: Path,
    mosquitto_server: MosquittoServer,
    clickhouse_database: ClickHouseDatabase,
):
    """A unit whose schema lists every command: each is a button, and SchemaUpdate and LogSync
    reach the device; LogSync deletes the unit's stored logs first."""
    register(console, "admin")
    register(console, "alice")
    every_command = SCHEMA | {
        "input_base_topic": [f"{name.value}/pepeunit" for name in CommandTopicName]
    }
    uuid = make_unit(console, "alice", make_source(tmp_path, every_command))
    console.sign_in("alice")
    page = console.get(f"{PREFIX}/units/{uuid}").text
    buttons = re.findall(r'name="command" value="(\w+)"', page)
    assert buttons == ["Update", "EnvUpdate", "SchemaUpdate", "LogSync"]
    now = datetime.now(UTC)
    clickhouse_database.client.insert(
        "unit_logs",
        [[uuid4(), "Info", UUID(uuid), "booted", now, now + timedelta(hours=1)]],
        column_names=["uuid", "level", "unit_uuid", "text", "create_datetime",
                      "expiration_datetime"],
    )  # fmt: skip
    stored_logs = "SELECT count() FROM unit_logs WHERE unit_uuid = {unit:UUID}"
    counted = clickhouse_database.client.query(stored_logs, parameters={"unit": uuid})
    assert counted.result_rows == [(1,)]
    topics = {
        command: command_topic("pepeunit.test", uuid, name)
        for command, name in (
            ("SchemaUpdate", CommandTopicName.SCHEMA_UPDATE),
            ("LogSync", CommandTopicName.LOG_SYNC),
        )
    }
    device = Device(mosquitto_server.port, list(topics.values()))
    try:
        for command, topic in topics.items():
            answer = post_form(console, uuid, "command", {"command": command})
            assert answer.status_code == 303, answer.text
            assert answer.headers["location"].endswith(f"done=sent-{command}")
            assert json.loads(device.wait_for(topic)) == {"COMMAND": command}
            assert f"Sent {command}." in console.get(answer.headers["location"]).text
    finally:
        device.close()
    counted = clickhouse_database.client.query(stored_logs, parameters={"unit": uuid})
    assert counted.result_rows == [(0,)]
