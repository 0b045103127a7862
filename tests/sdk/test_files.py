"""env.json, schema.json and log.json on their own: values, reloads from the same or a new
file, checks, the unit uuid from the token, log levels and length, and the state message."""

import base64
import json
import threading
import time
from pathlib import Path

import pytest
from pepeunit_sdk import (
    FileContentError,
    InvalidTokenError,
    LogLevel,
    PepeunitClient,
    unit_uuid_from_token,
)
from pepeunit_sdk._logger import MAX_TEXT_LENGTH

from tests.sdk.conftest import MakeClient, UnitFiles
from tests.sdk.live_platform import Platform

UNIT_UUID = "5b3c6a1e-8f0e-4c5e-9a57-2f1d3c4b5a60"


def token_for(claims: dict) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJIUzI1NiJ9.{payload}.c2lnbmF0dXJl"


def write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    env = write(
        tmp_path / "env.json",
        {"PU_AUTH_TOKEN": token_for({"uuid": UNIT_UUID, "type": "Unit"}), "DELAY": 5},
    )
    schema = write(
        tmp_path / "schema.json",
        {
            "output_base_topic": {"log/pepeunit": ["d/output_base_topic/u/log/pepeunit"]},
            "output_topic": {"out/pepeunit": ["d/1/pepeunit", "d/2/pepeunit"]},
        },
    )
    return env, schema, tmp_path / "log.json"


def test_settings_hold_every_variable_with_defaults_for_the_platform_ones(
    files: tuple[Path, Path, Path],
):
    client = PepeunitClient(*files)
    settings = client.settings
    assert settings.DELAY == 5
    assert (settings.PU_MQTT_PORT, settings.PU_HTTP_TYPE, settings.PU_MAX_LOG_LENGTH) == (
        1883,
        "https",
        64,
    )
    assert settings.PU_STATE_SEND_INTERVAL == 300
    assert client.unit_uuid == settings.unit_uuid == UNIT_UUID
    with pytest.raises(AttributeError, match="MISSING"):
        _ = settings.MISSING
    assert settings.get("MISSING", "fallback") == "fallback"
    assert settings.as_dict()["PU_MIN_LOG_LEVEL"] == "Debug"


def test_settings_reload_from_their_file_or_a_new_one(files: tuple[Path, Path, Path]):
    env_path, _, _ = files
    client = PepeunitClient(*files)
    env = json.loads(env_path.read_text())
    write(env_path, {**env, "DELAY": 6})
    client.settings.update_from_file()
    assert client.settings.DELAY == 6
    token = env["PU_AUTH_TOKEN"]
    new_file = write(env_path.with_name("new.json"), {"PU_AUTH_TOKEN": token, "PU_MQTT_PORT": 1884})
    client.settings.update_from_file(new_file)
    assert client.settings.PU_MQTT_PORT == 1884
    assert json.loads(env_path.read_text())["PU_MQTT_PORT"] == 1884
    # A variable the new file no longer has is gone; a platform one falls back to its default.
    with pytest.raises(AttributeError):
        _ = client.settings.DELAY


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        ({"PU_MQTT_PORT": "1883"}, "PU_MQTT_PORT must be a JSON number"),
        ({"PU_MQTT_PORT": True}, "PU_MQTT_PORT must be a JSON number"),
        ({"PU_DOMAIN": 5}, "PU_DOMAIN must be a JSON string"),
        ({"PU_MIN_LOG_LEVEL": "Loud"}, "unknown log level 'Loud'"),
    ],
)
def test_a_bad_env_file_is_refused_and_changes_nothing(
    files: tuple[Path, Path, Path], content: object, problem: str
):
    env_path, _, _ = files
    client = PepeunitClient(*files)
    before = env_path.read_text()
    bad = write(env_path.with_name("bad.json"), content)
    with pytest.raises(FileContentError, match=problem):
        client.settings.update_from_file(bad)
    assert env_path.read_text() == before
    assert client.settings.DELAY == 5
    with pytest.raises(FileContentError, match=problem):
        PepeunitClient(bad, *files[1:])


def test_the_unit_uuid_comes_from_the_platform_token(platform: Platform, unit: UnitFiles):
    token = platform.env(unit.uuid)["PU_AUTH_TOKEN"]
    assert unit_uuid_from_token(token) == unit.uuid
    for bad in ("not-a-jwt", "a.b", "a.!!!.c", token_for({"sub": "x"}), token_for(["uuid"])):
        with pytest.raises(InvalidTokenError):
            unit_uuid_from_token(bad)


def test_schema_sections_reload_and_are_copies(files: tuple[Path, Path, Path]):
    _, schema_path, _ = files
    client = PepeunitClient(*files)
    assert client.schema.output_topic["out/pepeunit"] == ["d/1/pepeunit", "d/2/pepeunit"]
    assert client.schema.input_topic == {} and client.schema.input_base_topic == {}
    client.schema.output_topic["out/pepeunit"].append("changed")
    assert len(client.schema.output_topic["out/pepeunit"]) == 2
    write(schema_path, {"input_topic": {"in/pepeunit": ["d/3/pepeunit"]}})
    client.schema.update_from_file()
    assert client.schema.input_topic == {"in/pepeunit": ["d/3/pepeunit"]}
    assert client.schema.output_topic == {}
    other = write(schema_path.with_name("other.json"), {"output_topic": {"x": ["d/4"]}})
    client.schema.update_from_file(other)
    assert json.loads(schema_path.read_text()) == {"output_topic": {"x": ["d/4"]}}
    for bad in ({"input_topic": []}, {"input_topic": {"x": "d/1"}}, {"output_topic": {"x": [1]}}):
        with pytest.raises(FileContentError):
            client.schema.update_from_file(write(schema_path.with_name("bad.json"), bad))
    assert client.schema.output_topic == {"x": ["d/4"]}


def test_a_missing_file_raises_at_construction(files: tuple[Path, Path, Path], tmp_path: Path):
    env, schema, log = files
    with pytest.raises(FileNotFoundError):
        PepeunitClient(tmp_path / "none.json", schema, log)
    with pytest.raises(FileNotFoundError):
        PepeunitClient(env, tmp_path / "none.json", log)


def test_the_log_keeps_levels_order_and_length(files: tuple[Path, Path, Path]):
    env_path, _, log_path = files
    client = PepeunitClient(*files)
    client.logger.debug("d")
    client.logger.info("i")
    client.logger.warning("w")
    client.logger.error("e")
    client.logger.critical("c")
    entries = client.logger.get_full_log()
    assert [(entry["level"], entry["text"]) for entry in entries] == [
        ("Debug", "d"),
        ("Info", "i"),
        ("Warning", "w"),
        ("Error", "e"),
        ("Critical", "c"),
    ]
    assert entries[0]["create_datetime"].endswith("+00:00")
    with log_path.open() as log_file:
        assert json.load(log_file) == entries

    env = json.loads(env_path.read_text())
    client.settings.update_from_file(
        write(
            env_path.with_name("e2.json"),
            {**env, "PU_MIN_LOG_LEVEL": "Error", "PU_MAX_LOG_LENGTH": 3},
        )
    )
    assert client.settings.min_log_level is LogLevel.ERROR
    client.logger.warning("dropped")
    for n in range(4):
        client.logger.error(f"error {n}")
    assert [entry["text"] for entry in client.logger.get_full_log()] == [
        "error 1",
        "error 2",
        "error 3",
    ]


def test_log_entries_are_printed_unless_the_console_is_off(
    files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
):
    env_path, _, _ = files
    env = json.loads(env_path.read_text())
    write(env_path, {**env, "PU_MIN_LOG_LEVEL": "Info"})
    client = PepeunitClient(*files)
    client.logger.debug("below the level")
    client.logger.warning("valve stuck")
    (entry,) = client.logger.get_full_log()
    assert capsys.readouterr().out == f"{entry['create_datetime']} Warning: valve stuck\n"
    quiet = PepeunitClient(*files, console_log=False)
    quiet.logger.error("only in the file")
    assert capsys.readouterr().out == ""
    assert quiet.logger.get_full_log()[-1]["text"] == "only in the file"


def test_the_log_is_replaced_from_another_file_and_reads_the_json_lines_layout(
    files: tuple[Path, Path, Path],
):
    _, _, log_path = files
    client = PepeunitClient(*files)
    entries = [
        {"level": "Info", "text": f"old {n}", "create_datetime": "2026-01-01"} for n in range(3)
    ]
    # The layout of earlier versions of the SDK: one entry a line, rewritten as an array.
    write(log_path, "".join(json.dumps(entry) + "\n" for entry in entries))
    assert [entry["text"] for entry in client.logger.get_full_log()] == ["old 0", "old 1", "old 2"]
    client.logger.info("new")
    assert [entry["text"] for entry in json.loads(log_path.read_text())] == [
        "old 0",
        "old 1",
        "old 2",
        "new",
    ]
    other = write(log_path.with_name("other.log"), entries[:1])
    client.logger.update_from_file(other)
    assert [entry["text"] for entry in client.logger.get_full_log()] == ["old 0"]
    with pytest.raises(FileContentError):
        client.logger.update_from_file(write(log_path.with_name("bad.log"), {"no": "log"}))


def test_the_log_file_is_bounded_and_always_a_whole_json_array(
    files: tuple[Path, Path, Path],
):
    env_path, _, log_path = files
    env = json.loads(env_path.read_text())
    write(env_path, {**env, "PU_MAX_LOG_LENGTH": 4})
    client = PepeunitClient(*files, console_log=False)
    client.logger.info("x" * (MAX_TEXT_LENGTH * 3))
    (entry,) = client.logger.get_full_log()
    assert len(entry["text"]) == MAX_TEXT_LENGTH and entry["text"].endswith("…")

    # A reader polling the file while two threads log never sees half a document.
    readings: list[int] = []
    done = threading.Event()

    def read_while_logging() -> None:
        while not done.is_set():
            with log_path.open() as log_file:
                readings.append(len(json.load(log_file)))

    reader = threading.Thread(target=read_while_logging)
    reader.start()
    writers = [
        threading.Thread(target=lambda n=n: [client.logger.info(f"{n}:{i}") for i in range(50)])
        for n in range(2)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    done.set()
    reader.join()
    assert readings and max(readings) <= 4
    assert len(json.loads(log_path.read_text())) == 4
    assert log_path.stat().st_size < 4 * (MAX_TEXT_LENGTH + 200)
    assert not [path for path in log_path.parent.iterdir() if path.name.startswith(".log.json")]
    # A file cut short (a power cut before the rename reached the disk) costs the old entries,
    # never the next one.
    log_path.write_text(log_path.read_text()[:40])
    client.logger.warning("after the cut")
    assert [entry["text"] for entry in json.loads(log_path.read_text())] == ["after the cut"]


def test_the_specification_names_of_two_platform_variables_are_aliases(
    files: tuple[Path, Path, Path],
):
    env_path, _, _ = files
    env = json.loads(env_path.read_text())
    write(env_path, {**env, "PU_STATE_SEND_INTERVAL": 7})
    settings = PepeunitClient(*files).settings
    assert settings.PEPEUNIT_TOKEN == settings.PU_AUTH_TOKEN == env["PU_AUTH_TOKEN"]
    assert settings.STATE_SEND_INTERVAL == settings.PU_STATE_SEND_INTERVAL == 7
    assert settings.get("PEPEUNIT_TOKEN") == env["PU_AUTH_TOKEN"]
    # In env.json an alias stands in for its platform variable when that one is left out...
    written = {"PEPEUNIT_TOKEN": env["PU_AUTH_TOKEN"], "STATE_SEND_INTERVAL": 9}
    settings = PepeunitClient(write(env_path, written), *files[1:]).settings
    assert settings.get("PU_AUTH_TOKEN") == env["PU_AUTH_TOKEN"]
    assert settings.get("PU_STATE_SEND_INTERVAL") == 9
    assert settings.unit_uuid == UNIT_UUID
    # ...the platform's name wins when both are there, and an alias is type-checked as well.
    write(env_path, {**written, "PU_STATE_SEND_INTERVAL": 3})
    settings.update_from_file()
    assert settings.STATE_SEND_INTERVAL == settings.PU_STATE_SEND_INTERVAL == 3
    with pytest.raises(FileContentError, match="PU_STATE_SEND_INTERVAL must be a JSON number"):
        settings.update_from_file(write(env_path.with_name("b.json"), {"STATE_SEND_INTERVAL": "9"}))


def test_system_state_has_the_reserved_keys(make_client: MakeClient, platform: Platform):
    state = make_client().get_system_state()
    assert set(state) == {"millis", "mem_free", "mem_alloc", "freq", "pu_commit_version"}
    assert state["pu_commit_version"] == platform.versions.v1
    assert abs(state["millis"] / 1000 - time.time()) < 60
    assert state["mem_free"] > 0 and state["mem_alloc"] > 0 and state["freq"] >= 0
