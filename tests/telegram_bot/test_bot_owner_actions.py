"""The unit creator's buttons through the fake Bot API server, on SQLite and PostgreSQL: a
command reaches the device over a real Mosquitto, env.json and the firmware archives arrive as
documents, the recent logs (chdb) page; forged buttons from other chats are refused and
change nothing."""

import io
import json
import tarfile
import time
import zipfile
import zlib
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from control_plane.bot.callbacks import LogsPage, UnitCommandCall, UnitDownload, UnitFileCall
from control_plane.services.units.commands import UnitCommand
from pepeunit_core.db.models import Unit
from pepeunit_core.topics import CommandTopicName, command_topic
from tests.control_plane.test_unit_commands_api import Device

from .conftest import API, PER_PAGE, Chat, World

DOMAIN = "pepeunit.test"
LOG_COLUMNS = ["uuid", "level", "unit_uuid", "text", "create_datetime", "expiration_datetime"]
REFUSED = "⚠️ Only the unit or its creator can read this"


def unit_row(world: World, name: str) -> Unit:
    with world.app.state.context.session_factory() as session:
        row = session.get_one(Unit, world.uuid(name))
        session.expunge(row)
        return row


def strangers(world: World) -> list[Chat]:
    """A chat nobody linked, and bob's."""
    return [world.chat(), world.linked_chat("bob")]


def test_owner_sends_commands_to_the_device(world: World):
    uuid = world.ids["thermo"]
    topics = {name: command_topic(DOMAIN, uuid, name) for name in CommandTopicName}
    device = Device(world.mosquitto.port, list(topics.values()))
    try:
        alice = world.linked_chat("alice")
        detail = alice.ask("/unit thermo-1")
        (sent,) = alice.tap(detail, "▶ Update")
        assert sent.text == "✅ Update sent to <b>thermo-1</b>."
        assert world.telegram.answered_callbacks[-1]["text"] == "Update sent to thermo-1"
        assert json.loads(device.wait_for(topics[CommandTopicName.UPDATE])) == {
            "COMMAND": "Update",
            "PU_COMMIT_VERSION": world.ids["commit"],
        }
        row = unit_row(world, "thermo")
        assert (row.firmware_update_status, row.firmware_update_target_commit) == (
            "RequestSent",
            world.ids["commit"],
        )
        assert "Update: RequestSent" in (alice.ask("/unit thermo-1").text or "")

        now = datetime.now(UTC)
        entry = [uuid4(), "Info", UUID(uuid), "before sync", now, now + timedelta(hours=1)]
        world.clickhouse.insert("unit_logs", [entry], column_names=LOG_COLUMNS)
        (synced,) = alice.tap(detail, "▶ LogSync")
        assert synced.text == "✅ LogSync sent to <b>thermo-1</b>."
        assert json.loads(device.wait_for(topics[CommandTopicName.LOG_SYNC])) == {
            "COMMAND": "LogSync"
        }
        count = f"SELECT count() FROM unit_logs WHERE unit_uuid = '{uuid}'"
        assert world.clickhouse.query(count).result_rows == [(0,)]

        # A command the unit's schema does not list is refused, even for the owner.
        schema_update = UnitCommandCall(uuid=UUID(uuid), command=UnitCommand.SCHEMA_UPDATE)
        refused = alice.forge(detail, schema_update.pack())
        assert refused.text == (
            "⚠️ The unit's schema has no schema_update/pepeunit input base topic"
        )
        # Other chats pressing a forged Update button get a refusal and send nothing.
        update = UnitCommandCall(uuid=UUID(uuid), command=UnitCommand.UPDATE).pack()
        for chat in strangers(world):
            own_message = chat.ask("/unit thermo-1")
            assert chat.forge(own_message, update).text == REFUSED
        time.sleep(0.3)
        assert device.messages == [], "a refused command reached the device"
    finally:
        device.close()


def document_of(chat: Chat, detail, button: str):
    (sent,) = chat.tap(detail, button)
    assert sent.method == "sendDocument" and sent.document is not None, sent
    return sent.document


def test_owner_downloads_env_json_and_firmware(world: World):
    uuid = world.ids["thermo"]
    alice = world.linked_chat("alice")
    detail = alice.ask("/unit thermo-1")
    env = document_of(alice, detail, "env.json")
    assert env.filename == "env.json"
    expected = world.client.get(f"{API}/units/env/{uuid}", headers=world.headers["alice"])
    assert json.loads(env.content) == expected.json()
    assert json.loads(env.content)["DEVICE_LABEL"] == "unnamed"

    archive = document_of(alice, detail, "zip")
    assert archive.filename == "thermo-1.zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as unpacked:
        assert {"env.json", "schema.json", "main.py"} <= set(unpacked.namelist())
        assert json.loads(unpacked.read("env.json")) == expected.json()
    tar = document_of(alice, detail, "tar")
    assert tar.filename == "thermo-1.tar"
    with tarfile.open(fileobj=io.BytesIO(tar.content)) as unpacked:
        assert "./main.py" in unpacked.getnames()
    tgz = document_of(alice, detail, "tgz")
    assert tgz.filename == "thermo-1.tgz"
    with tarfile.open(fileobj=io.BytesIO(zlib.decompress(tgz.content, 9))) as unpacked:
        assert "./schema.json" in unpacked.getnames()

    for chat in strangers(world):
        own_message = chat.ask("/unit thermo-1")
        for download in UnitDownload:
            forged = UnitFileCall(uuid=UUID(uuid), file=download).pack()
            assert chat.forge(own_message, forged).text == REFUSED
        assert [m.method for m in chat.telegram.messages_to(chat.chat_id)].count(
            "sendDocument"
        ) == 0


def test_owner_pages_the_recent_logs(world: World):
    uuid = world.uuid("secret")
    now = datetime.now(UTC).replace(microsecond=0)
    rows = [
        [
            uuid4(),
            level,
            uuid,
            f"entry {index}",
            now - timedelta(minutes=10 - index),
            now + timedelta(hours=1),
        ]
        for index, level in enumerate(["Info", "Debug", "Warning", "Error", "Critical"])
    ]
    rows.append(
        [uuid4(), "Info", uuid, "expired", now - timedelta(hours=2), now - timedelta(hours=1)]
    )
    world.clickhouse.insert("unit_logs", rows, column_names=LOG_COLUMNS)
    alice = world.linked_chat("alice")
    detail = alice.ask("/unit secret-1")
    (logs,) = alice.tap(detail, "Logs")
    text = logs.text or ""
    assert "<b>secret-1</b> logs (5), newest first, page 1/2" in text
    shown = [line.split("</b> ", 1)[1] for line in text.splitlines()[1:]]
    assert shown == ["entry 4", "entry 3", "entry 2"][:PER_PAGE]
    assert "<b>Critical</b>" in text
    older = alice.tap_in_place(logs, "Older »")
    assert "page 2/2" in (older.text or "")
    assert [line.split("</b> ", 1)[1] for line in (older.text or "").splitlines()[1:]] == [
        "entry 1",
        "entry 0",
    ]
    newer = alice.tap_in_place(older, "« Newer")
    assert "page 1/2" in (newer.text or "")

    forged = LogsPage(uuid=uuid, page=0, edit=False).pack()
    for chat in strangers(world):
        own_message = chat.ask("/units")
        assert chat.forge(own_message, forged).text == REFUSED
