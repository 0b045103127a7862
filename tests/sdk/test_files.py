"""env.json, schema.json and log.json on their own: values, reloads from the same or a new
file, checks, the unit uuid from the token, log levels and length, and the state message."""

import base64
import json
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
    assert len(log_path.read_text().splitlines()) == 5

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


def test_the_log_is_replaced_from_another_file_and_reads_the_older_array_layout(
    files: tuple[Path, Path, Path],
):
    _, _, log_path = files
    client = PepeunitClient(*files)
    entries = [
        {"level": "Info", "text": f"old {n}", "create_datetime": "2026-01-01"} for n in range(3)
    ]
    write(log_path, entries)
    assert [entry["text"] for entry in client.logger.get_full_log()] == ["old 0", "old 1", "old 2"]
    client.logger.info("new")
    assert log_path.read_text().splitlines()[0].startswith("{")
    other = write(log_path.with_name("other.log"), "\n".join(json.dumps(e) for e in entries[:1]))
    client.logger.update_from_file(other)
    assert [entry["text"] for entry in client.logger.get_full_log()] == ["old 0"]
    # A damaged line (a power cut while something else wrote) costs that line only.
    log_path.write_text(log_path.read_text() + '{"level": "Inf\n')
    assert len(client.logger.get_full_log()) == 1
    with pytest.raises(FileContentError):
        client.logger.update_from_file(write(log_path.with_name("bad.log"), {"no": "log"}))


def test_system_state_has_the_reserved_keys(make_client: MakeClient, platform: Platform):
    state = make_client().get_system_state()
    assert set(state) == {"millis", "mem_free", "mem_alloc", "freq", "pu_commit_version"}
    assert state["pu_commit_version"] == platform.versions.v1
    assert abs(state["millis"] / 1000 - time.time()) < 60
    assert state["mem_free"] > 0 and state["mem_alloc"] > 0 and state["freq"] >= 0
