"""`pepeunit pipelines check|simulate|schema`, run as the installed console script."""

import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PIPELINES = REPO / "examples" / "pipeline-files"
RECORDINGS = PIPELINES / "recordings"
CLI = Path(sys.executable).parent / "pepeunit"

GREENHOUSE_NODE = "5b3c6a1e-8f0e-4c5e-9a57-2f1d3c4b5a60"
DOOR_NODE = "0f1e2d3c-4b5a-4697-8877-665544332211"
HUMIDITY_NODE = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
UNKNOWN_NODE = "11111111-2222-3333-4444-555555555555"
PLACEHOLDER_NODE = "00000000-0000-0000-0000-000000000000"

ERROR_LINE = re.compile(
    r"^(?P<path>.+?)(?::(?P<line>\d+))?: "
    r"(?P<stage>ActivePeriod|Filters|Transformations|ProcessingPolicy|Binding|File)"
    r"\.(?P<field>[\w\[\].]+): (?P<message>.+)$"
)
UTC_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

VALID_CONFIG = """\
active_period: {type: Permanent}
filters: {type_input_value: Text, max_rate: 0, max_size: 64}
processing_policy: {policy_type: LastValue}
"""


def run_cli(*args: str | Path, stdin: str | None = None, env: dict[str, str] | None = None):
    environment = {k: v for k, v in os.environ.items() if k != "PU_MQTT_MAX_PAYLOAD_SIZE"}
    environment.update(env or {})
    return subprocess.run(
        [str(CLI), *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=environment,
        timeout=60,
    )


def parsed_errors(stdout: str) -> list[dict[str, str]]:
    """Every stdout line must be an error line; returns their parts."""
    lines = stdout.splitlines()
    matches = [ERROR_LINE.match(line) for line in lines]
    assert all(matches), [line for line, m in zip(lines, matches, strict=True) if not m]
    return [m.groupdict() for m in matches]


def json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def rows_of(records: list[dict], table: str) -> list[dict]:
    return [record for record in records if record.get("table") == table]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def fmt_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def write_pipeline(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def messages_text(messages: list[dict]) -> str:
    return "".join(json.dumps(message) + "\n" for message in messages)


# --- check -----------------------------------------------------------------------------------


def test_check_examples_exit_0():
    result = run_cli("pipelines", "check", "examples/pipeline-files/")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert "4 pipeline file(s) valid" in result.stderr


@pytest.fixture
def broken_dir(tmp_path: Path) -> tuple[Path, set[tuple[str, str, str]]]:
    """A folder with several broken files and the (file, stage, field) of every error."""
    root = tmp_path / "broken"
    write_pipeline(
        root / "a-filters-and-policy.yaml",
        "node: 5b3c6a1e-8f0e-4c5e-9a57-2f1d3c4b5a60\n"
        "active_period: {type: Permanent}\n"
        "filters: {type_input_value: Number, max_rate: -1, max_size: 32,"
        " type_value_filtering: WhiteList, filtering_values: [1, null]}\n"
        "transformations: {round_decimal_point: 9}\n"
        "processing_policy: {policy_type: NRecords, n_records_count: 0}\n",
    )
    write_pipeline(root / "b-syntax.yaml", "node: x\nactive_period: {type: Permanent\nfilters: 1\n")
    write_pipeline(
        root / "nested" / "c-binding-and-naive.yml",
        "active_period: {type: FromDate, start: 2024-01-01T00:00:00}\n"
        "filters: {type_input_value: Text, max_rate: 0, max_size: 64}\n"
        "processing_policy: {policy_type: Aggregation, time_window_size: 61,"
        " aggregation_functions: Avg}\n",
    )
    write_pipeline(root / "d-valid.yaml", f"node: {DOOR_NODE}\n{VALID_CONFIG}")
    write_pipeline(root / "e-duplicate.yaml", f"node: {DOOR_NODE}\n{VALID_CONFIG}")
    write_pipeline(root / "f-list.yaml", "- one\n- two\n")
    write_pipeline(root / "notes.txt", "not a pipeline: [")
    expected = {
        ("a-filters-and-policy.yaml", "Filters", "max_rate"),
        ("a-filters-and-policy.yaml", "Filters", "filtering_values[1]"),
        ("a-filters-and-policy.yaml", "Transformations", "round_decimal_point"),
        ("a-filters-and-policy.yaml", "ProcessingPolicy", "n_records_count"),
        ("b-syntax.yaml", "File", "yaml"),
        ("c-binding-and-naive.yml", "Binding", "node"),
        ("c-binding-and-naive.yml", "ActivePeriod", "start"),
        ("c-binding-and-naive.yml", "ProcessingPolicy", "time_window_size"),
        ("e-duplicate.yaml", "Binding", "node"),
        ("f-list.yaml", "File", "document"),
    }
    return root, expected


def test_check_broken_dir_prints_every_error_and_exits_1(broken_dir):
    root, expected = broken_dir
    result = run_cli("pipelines", "check", root)
    assert result.returncode == 1
    errors = parsed_errors(result.stdout)
    assert len(errors) == len(expected)
    assert {(Path(e["path"]).name, e["stage"], e["field"]) for e in errors} == expected
    for error in errors:
        assert Path(error["path"]).is_file()
        assert Path(error["path"]).is_relative_to(root)
    by_field = {(e["stage"], e["field"]): e["message"] for e in errors}
    assert "greater than or equal to 0" in by_field["Filters", "max_rate"]
    assert "between 1 and 1024" in by_field["ProcessingPolicy", "n_records_count"]
    assert "line 3" in by_field["File", "yaml"]
    assert "timezone" in by_field["ActivePeriod", "start"]
    lines = {(Path(e["path"]).name, e["stage"], e["field"]): e["line"] for e in errors}
    assert lines["a-filters-and-policy.yaml", "Filters", "max_rate"] == "3"
    assert lines["a-filters-and-policy.yaml", "Transformations", "round_decimal_point"] == "4"
    assert lines["a-filters-and-policy.yaml", "ProcessingPolicy", "n_records_count"] == "5"
    assert lines["c-binding-and-naive.yml", "ActivePeriod", "start"] == "1"
    assert lines["c-binding-and-naive.yml", "ProcessingPolicy", "time_window_size"] == "3"
    duplicate = next(e for e in errors if Path(e["path"]).name == "e-duplicate.yaml")
    assert str(root / "d-valid.yaml") in duplicate["message"]
    assert "10 error(s)" in result.stderr


def test_check_summary_counts_each_file_once(tmp_path):
    """A file that loads but is then flagged as a duplicate binding is still one file."""
    write_pipeline(tmp_path / "a.yaml", f"node: {DOOR_NODE}\n{VALID_CONFIG}")
    write_pipeline(tmp_path / "b.yaml", f"node: {DOOR_NODE}\n{VALID_CONFIG}")
    result = run_cli("pipelines", "check", tmp_path)
    assert result.returncode == 1
    (error,) = parsed_errors(result.stdout)
    assert (Path(error["path"]).name, error["stage"], error["field"]) == (
        "b.yaml",
        "Binding",
        "node",
    )
    assert "1 error(s) in 1 of 2 file(s)" in result.stderr


def test_check_json_format_gives_one_object_per_error(broken_dir):
    root, expected = broken_dir
    result = run_cli("pipelines", "check", "--format", "json", root)
    assert result.returncode == 1
    records = json_lines(result.stdout)
    assert all(set(r) == {"path", "line", "stage", "field", "message", "rule"} for r in records)
    assert {(Path(r["path"]).name, r["stage"], r["field"]) for r in records} == expected
    assert len(records) == len(expected)
    rules = {(r["stage"], r["field"]): r["rule"] for r in records}
    assert rules["Filters", "max_rate"] == "greater_than_equal"
    assert rules["Filters", "filtering_values[1]"] == "item_type"
    assert rules["ProcessingPolicy", "time_window_size"] == "allowed_values"
    assert rules["File", "yaml"] == "yaml_syntax"
    duplicate = next(r for r in records if Path(r["path"]).name == "e-duplicate.yaml")
    assert duplicate["rule"] == "unique"
    assert "d-valid.yaml" in duplicate["message"]


def test_check_several_paths_at_once(tmp_path):
    one = write_pipeline(tmp_path / "one.yaml", f"node: {DOOR_NODE}\n{VALID_CONFIG}")
    two = write_pipeline(
        tmp_path / "dir" / "two.yaml",
        f"node: {HUMIDITY_NODE}\n{VALID_CONFIG}".replace("max_rate: 0", "max_rate: 86401"),
    )
    result = run_cli("pipelines", "check", one, two.parent)
    assert result.returncode == 1
    errors = parsed_errors(result.stdout)
    assert [(Path(e["path"]), e["stage"], e["field"]) for e in errors] == [
        (two, "Filters", "max_rate")
    ]


def test_check_nonexistent_path_exits_2():
    result = run_cli("pipelines", "check", "no/such/dir")
    assert result.returncode == 2
    assert "no/such/dir" in result.stderr
    assert "does not exist" in result.stderr


def test_check_dir_without_pipeline_files_exits_1(tmp_path):
    (tmp_path / "readme.md").write_text("# nothing here\n")
    result = run_cli("pipelines", "check", tmp_path)
    assert result.returncode == 1
    assert "no pipeline files" in result.stderr
    assert "*.yaml" in result.stderr


@pytest.mark.parametrize(
    ("max_size", "args", "env", "ok"),
    [
        pytest.param(2048, [], {}, True, id="default-256k"),
        pytest.param(2048, ["--max-payload-size", "1"], {}, False, id="flag-1k"),
        pytest.param(2048, ["--max-payload-size", "2"], {}, True, id="flag-2k-boundary"),
        pytest.param(2048, [], {"PU_MQTT_MAX_PAYLOAD_SIZE": "1"}, False, id="env-1k"),
        pytest.param(300000, [], {}, False, id="over-default"),
        pytest.param(300000, ["--max-payload-size", "512"], {}, True, id="flag-512k"),
        pytest.param(300000, [], {"PU_MQTT_MAX_PAYLOAD_SIZE": "512"}, True, id="env-512k"),
    ],
)
def test_check_max_payload_size(tmp_path, max_size, args, env, ok):
    path = write_pipeline(
        tmp_path / "p.yaml",
        f"node: {DOOR_NODE}\n{VALID_CONFIG}".replace("max_size: 64", f"max_size: {max_size}"),
    )
    result = run_cli("pipelines", "check", *args, path, env=env)
    if ok:
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout == ""
    else:
        assert result.returncode == 1
        (error,) = parsed_errors(result.stdout)
        assert (error["stage"], error["field"]) == ("Filters", "max_size")
        kb = int(args[1]) if args else int(env.get("PU_MQTT_MAX_PAYLOAD_SIZE", "256"))
        assert f"less than or equal to {kb * 1024}" in error["message"]


# --- simulate --------------------------------------------------------------------------------


def expected_greenhouse_averages() -> dict[datetime, float]:
    """The 15-minute averages of greenhouse-temperature.yaml, computed from the recording with
    the reference rules: blacklist -127 / 85 and range -800..1920 on the raw value, then
    raw * 0.0625 rounded to 2 decimals, averaged in arrival order per [start, start + 900 s)."""
    values: dict[datetime, list[float]] = defaultdict(list)
    for message in read_jsonl(RECORDINGS / "greenhouse-temperature.jsonl"):
        raw = float(message["payload"])
        if raw in (-127, 85) or not -800 <= raw <= 1920:
            continue
        t = utc(message["t"])
        start = datetime.fromtimestamp(int(t.timestamp()) // 900 * 900, UTC)
        values[start].append(float(format(raw * 0.0625, ".2f")))
    return {start: sum(v) / len(v) for start, v in values.items()}


def test_simulate_greenhouse_aggregation():
    result = run_cli(
        "pipelines",
        "simulate",
        "examples/pipeline-files/greenhouse-temperature.yaml",
        "--input",
        RECORDINGS / "greenhouse-temperature.jsonl",
    )
    assert result.returncode == 0, result.stderr
    records = json_lines(result.stdout)
    rows = rows_of(records, "aggregation_entry")
    assert len(rows) == len(records)
    expected = expected_greenhouse_averages()
    assert len(expected) == 4
    assert len(rows) == 4
    for row, (start, average) in zip(rows, sorted(expected.items()), strict=True):
        end = start + timedelta(seconds=900)
        assert row["unit_node_uuid"] == GREENHOUSE_NODE
        assert row["aggregation_type"] == "Avg"
        assert row["time_window_size"] == 900
        assert row["start_window_datetime"] == fmt_ms(start)
        assert row["end_window_datetime"] == fmt_ms(end)
        assert row["create_datetime"] == row["end_window_datetime"]
        for column in ("create_datetime", "start_window_datetime", "end_window_datetime"):
            assert UTC_MS.match(row[column]), row[column]
        assert row["state"] == pytest.approx(average, rel=1e-12, abs=1e-12)
    assert rows[0]["create_datetime"] == "2026-11-20T08:15:00.000Z"
    messages = read_jsonl(RECORDINGS / "greenhouse-temperature.jsonl")
    rejected = sum(
        1
        for m in messages
        if float(m["payload"]) in (-127, 85) or not -800 <= float(m["payload"]) <= 1920
    )
    assert (
        f"{len(messages)} message(s): {len(messages) - rejected} accepted, {rejected} rejected"
        in result.stderr
    )


def test_simulate_greenhouse_rejected_lines():
    result = run_cli(
        "pipelines",
        "simulate",
        "examples/pipeline-files/greenhouse-temperature.yaml",
        "--input",
        RECORDINGS / "greenhouse-temperature.jsonl",
        "--rejected",
    )
    assert result.returncode == 0, result.stderr
    rejected = [r for r in json_lines(result.stdout) if "rejected" in r]
    expected = []
    for number, message in enumerate(read_jsonl(RECORDINGS / "greenhouse-temperature.jsonl"), 1):
        raw = float(message["payload"])
        if raw in (-127, 85):
            expected.append((number, "in_black_list", message["payload"]))
        elif not -800 <= raw <= 1920:
            expected.append((number, "threshold", message["payload"]))
    assert [(r["line"], r["rejected"], r["payload"]) for r in rejected] == expected
    assert all(r["stage"] == "Filters" and r["node"] == GREENHOUSE_NODE for r in rejected)


def _door_and_humidity_expectations() -> tuple[list[dict], list[dict]]:
    """Derived from the recording with the reference rules: the door pipeline keeps whitelisted
    states that differ from the last accepted one; the humidity pipeline accepts one reading
    at least 60 s after the last accepted one, rounded to 1 decimal, kept for 3600 s."""
    door, humidity = [], []
    last_door = None
    last_humidity = None
    for message in read_jsonl(RECORDINGS / "door-and-humidity.jsonl"):
        t = utc(message["t"])
        if message["node"] == DOOR_NODE:
            if (
                message["payload"] in ("Open", "Closed", "Fault")
                and message["payload"] != last_door
            ):
                last_door = message["payload"]
                door.append({"state": message["payload"], "create_datetime": fmt_ms(t)})
        elif message["node"] == HUMIDITY_NODE and (
            last_humidity is None or (t - last_humidity).total_seconds() >= 60
        ):
            last_humidity = t
            humidity.append(
                {
                    "state": format(float(message["payload"]), ".1f"),
                    "create_datetime": fmt_ms(t),
                    "expiration_datetime": fmt_ms(t.replace(microsecond=0) + timedelta(hours=1)),
                }
            )
    return door, humidity


def _simulate_door_and_humidity(*extra: str):
    return run_cli(
        "pipelines",
        "simulate",
        "examples/pipeline-files/door-events.yaml",
        "examples/pipeline-files/humidity-window.yaml",
        "--input",
        RECORDINGS / "door-and-humidity.jsonl",
        *extra,
    )


def test_simulate_door_and_humidity():
    result = _simulate_door_and_humidity()
    assert result.returncode == 0, result.stderr
    records = json_lines(result.stdout)
    door, humidity = _door_and_humidity_expectations()
    n_rows = rows_of(records, "n_last_entry")
    window_rows = rows_of(records, "window_entry")
    assert len(records) == len(n_rows) + len(window_rows)
    assert [(r["state"], r["create_datetime"]) for r in n_rows] == [
        (d["state"], d["create_datetime"]) for d in door
    ]
    # Hand check of the derivation: repeats (08:01 Open, 08:07 Closed) and "open" are dropped.
    assert [r["state"] for r in n_rows] == [
        "Closed", "Open", "Closed", "Fault", "Closed", "Open", "Closed",
    ]  # fmt: skip
    for row in n_rows:
        assert row["unit_node_uuid"] == DOOR_NODE
        assert row["state_type"] == "Text"
        assert row["max_count"] == 256
        assert row["size"] == len(row["state"].encode())
    assert [
        {k: r[k] for k in ("state", "create_datetime", "expiration_datetime")} for r in window_rows
    ] == humidity
    assert [r["state"] for r in window_rows] == ["55.0", "56.1", "57.2", "58.3"]
    for row in window_rows:
        assert row["unit_node_uuid"] == HUMIDITY_NODE
        assert row["state_type"] == "Number"
        assert row["size"] == len(row["state"].encode())


def test_simulate_rejected_shows_reason_and_line():
    result = _simulate_door_and_humidity("--rejected")
    assert result.returncode == 0, result.stderr
    rejected = [r for r in json_lines(result.stdout) if "rejected" in r]
    by_line = {r["line"]: r for r in rejected}
    assert by_line[15]["rejected"] == "no_pipeline"
    assert by_line[15]["node"] == UNKNOWN_NODE
    assert by_line[15]["payload"] == "hello"
    assert by_line[15]["t"] == "2026-11-20T08:00:00.000Z"
    assert {line: r["rejected"] for line, r in by_line.items() if r["node"] == DOOR_NODE} == {
        16: "last_unique_check",
        18: "last_unique_check",
        21: "not_in_white_list",
    }
    humidity_lines = {
        number
        for number, m in enumerate(read_jsonl(RECORDINGS / "door-and-humidity.jsonl"), 1)
        if m["node"] == HUMIDITY_NODE
    }
    _, accepted_humidity = _door_and_humidity_expectations()
    accepted_times = {h["create_datetime"] for h in accepted_humidity}
    messages = read_jsonl(RECORDINGS / "door-and-humidity.jsonl")
    expected_rate_lines = {
        n for n in humidity_lines if fmt_ms(utc(messages[n - 1]["t"])) not in accepted_times
    }
    assert {line for line, r in by_line.items() if r["rejected"] == "max_rate"} == (
        expected_rate_lines
    )
    assert len(rejected) == len(by_line) == 3 + 1 + len(expected_rate_lines)
    # Rejected lines come first, then the rows.
    kinds = ["rejected" in record for record in json_lines(result.stdout)]
    assert kinds == sorted(kinds, reverse=True)


@pytest.mark.parametrize(
    "now",
    [
        "2026-11-20T08:56:30Z",  # after the first two expirations (08:55:05, 08:56:05)
        "2026-11-20T08:55:30+00:00",  # after the first one only
        "2026-11-20T09:30:00Z",  # after all of them
        "2026-11-20T08:00:00Z",  # before any
    ],
)
def test_simulate_now_hides_expired_window_rows(now):
    result = _simulate_door_and_humidity("--now", now)
    assert result.returncode == 0, result.stderr
    records = json_lines(result.stdout)
    door, humidity = _door_and_humidity_expectations()
    moment = utc(now)
    still_live = [h["state"] for h in humidity if utc(h["expiration_datetime"]) > moment]
    assert [r["state"] for r in rows_of(records, "window_entry")] == still_live
    assert len(rows_of(records, "n_last_entry")) == len(door)


def test_simulate_now_between_expirations_keeps_exactly_the_later_rows():
    result = _simulate_door_and_humidity("--now", "2026-11-20T08:56:30Z")
    rows = rows_of(json_lines(result.stdout), "window_entry")
    assert [(r["state"], r["expiration_datetime"]) for r in rows] == [
        ("57.2", "2026-11-20T08:57:05.000Z"),
        ("58.3", "2026-11-20T08:58:05.000Z"),
    ]


def test_simulate_takes_a_directory_like_check(tmp_path):
    folder = tmp_path / "door-and-humidity"
    folder.mkdir()
    for name in ("door-events.yaml", "humidity-window.yaml"):
        (folder / name).write_text((PIPELINES / name).read_text())
    from_files = _simulate_door_and_humidity()
    from_folder = run_cli(
        "pipelines", "simulate", folder, "--input", RECORDINGS / "door-and-humidity.jsonl"
    )
    assert from_folder.returncode == 0, from_folder.stderr
    assert from_folder.stdout == from_files.stdout
    assert len(json_lines(from_folder.stdout)) > 2


def test_simulate_an_empty_directory_says_no_pipeline_files(tmp_path):
    messages = tmp_path / "m.jsonl"
    messages.write_text(messages_text([{"t": "2026-11-20T08:00:00Z", "payload": "Open"}]))
    result = run_cli("pipelines", "simulate", tmp_path, "--input", messages)
    assert result.returncode == 1
    assert "no pipeline files" in result.stderr


def test_misspelled_section_keys_are_errors_with_line_and_closest_name(tmp_path):
    write_pipeline(
        tmp_path / "typos.yaml",
        f"node: {DOOR_NODE}\n"
        "active_period: {type: Permanent}\n"
        "filters:\n"
        "  type_input_value: Text\n"
        "  last_uniqe_check: true\n"
        "  max_rate: 0\n"
        "  max_size: 64\n"
        "transformations:\n"
        "  round_decimals: 2\n"
        "processing_policy:\n"
        "  policy_type: LastValue\n"
        "  n_record_count: 10\n",
    )
    result = run_cli("pipelines", "check", tmp_path / "typos.yaml")
    assert result.returncode == 1
    errors = {(e["stage"], e["field"]): e for e in parsed_errors(result.stdout)}
    assert set(errors) == {
        ("Filters", "last_uniqe_check"),
        ("Transformations", "round_decimals"),
        ("ProcessingPolicy", "n_record_count"),
    }
    assert errors["Filters", "last_uniqe_check"]["line"] == "5"
    assert "'last_unique_check'" in errors["Filters", "last_uniqe_check"]["message"]
    assert errors["Transformations", "round_decimals"]["line"] == "9"
    assert "'round_decimal_point'" in errors["Transformations", "round_decimals"]["message"]
    assert errors["ProcessingPolicy", "n_record_count"]["line"] == "12"
    assert "'n_records_count'" in errors["ProcessingPolicy", "n_record_count"]["message"]
    for error in errors.values():
        assert Path(error["path"]) == tmp_path / "typos.yaml"


def test_simulate_single_file_uses_its_node_for_messages_without_node(tmp_path):
    messages = tmp_path / "m.jsonl"
    messages.write_text(
        messages_text(
            [
                {"t": "2026-11-20T08:00:00Z", "payload": "Open"},
                {"t": "2026-11-20T08:00:01Z", "payload": "Closed"},
            ]
        )
    )
    result = run_cli(
        "pipelines", "simulate", "examples/pipeline-files/door-events.yaml", "--input", messages
    )
    assert result.returncode == 0, result.stderr
    rows = rows_of(json_lines(result.stdout), "n_last_entry")
    assert [(r["unit_node_uuid"], r["state"]) for r in rows] == [
        (DOOR_NODE, "Open"),
        (DOOR_NODE, "Closed"),
    ]


PUMP_MESSAGES = [
    {"t": "2026-11-20T08:00:00Z", "payload": "running"},
    {"t": "2026-11-20T08:00:05Z", "payload": "stopped"},  # within max_rate 10 s
    {"t": "2026-11-20T08:00:20Z", "payload": "running"},  # same as last accepted
    {"t": "2026-11-20T08:00:30.250Z", "payload": "stopped: pressure low on the inlet side"},
]


def _check_pump_rows(stdout: str) -> None:
    records = json_lines(stdout)
    long_status = PUMP_MESSAGES[-1]["payload"]
    assert records == [
        {
            "table": "last_value",
            "unit_node_uuid": PLACEHOLDER_NODE,
            "state": long_status.encode()[:32].decode(),
            "last_update_datetime": "2026-11-20T08:00:30.250Z",
        }
    ]


def test_simulate_unit_topic_binding_uses_the_placeholder_node(tmp_path):
    messages = tmp_path / "pump.jsonl"
    messages.write_text(messages_text(PUMP_MESSAGES))
    result = run_cli(
        "pipelines", "simulate", "examples/pipeline-files/pump-status.yaml", "--input", messages
    )
    assert result.returncode == 0, result.stderr
    _check_pump_rows(result.stdout)


def test_simulate_reads_stdin():
    result = run_cli(
        "pipelines",
        "simulate",
        "examples/pipeline-files/pump-status.yaml",
        "--input",
        "-",
        stdin=messages_text(PUMP_MESSAGES),
    )
    assert result.returncode == 0, result.stderr
    _check_pump_rows(result.stdout)


def test_simulate_n_records_shows_only_the_newest_n(tmp_path):
    pipeline = write_pipeline(
        tmp_path / "last3.yaml",
        "active_period: {type: Permanent}\n"
        "filters: {type_input_value: Text, max_rate: 0, max_size: 0}\n"
        "processing_policy: {policy_type: NRecords, n_records_count: 3}\n",
    )
    start = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    sent = [{"t": fmt_ms(start + timedelta(seconds=10 * i)), "payload": f"v{i}"} for i in range(10)]
    messages = tmp_path / "m.jsonl"
    messages.write_text(messages_text(sent))
    result = run_cli("pipelines", "simulate", pipeline, "--input", messages)
    assert result.returncode == 0, result.stderr
    rows = rows_of(json_lines(result.stdout), "n_last_entry")
    assert [(r["state"], r["create_datetime"]) for r in rows] == [
        (m["payload"], m["t"]) for m in sent[-3:]
    ]
    assert all(r["max_count"] == 3 and r["unit_node_uuid"] == PLACEHOLDER_NODE for r in rows)


def test_simulate_invalid_pipeline_file_exits_1_with_check_errors(tmp_path):
    pipeline = write_pipeline(
        tmp_path / "bad.yaml",
        "active_period: {type: DateRange, start: '2024-01-01T00:00:00Z'}\n"
        "filters: {type_input_value: Text, max_rate: -5, max_size: 0}\n"
        "processing_policy: {policy_type: LastValue}\n",
    )
    result = run_cli(
        "pipelines", "simulate", pipeline, "--input", "-", stdin=messages_text(PUMP_MESSAGES)
    )
    assert result.returncode == 1
    errors = parsed_errors(result.stdout)
    assert [(Path(e["path"]), e["stage"], e["field"]) for e in errors] == [
        (pipeline, "ActivePeriod", "end"),
        (pipeline, "Filters", "max_rate"),
    ]


@pytest.mark.parametrize(
    ("bad_line", "line_number", "message_part"),
    [
        pytest.param('{"t": "2026-11-20T08:00:05Z", "payload": ', 2, "JSON", id="invalid-json"),
        pytest.param('{"payload": "x"}', 2, "'t'", id="missing-t"),
        pytest.param('{"t": "2026-11-20T08:00:05", "payload": "x"}', 2, "zone", id="naive-t"),
        pytest.param('{"t": "2026-11-20T08:00:05Z"}', 2, "'payload'", id="missing-payload"),
        pytest.param(
            '{"t": "2026-11-20T08:00:05Z", "payload": "x"}\n'
            '{"t": "2026-11-20T08:00:04Z", "payload": "y"}',
            3,
            "back in time",
            id="t-backwards",
        ),
    ],
)
def test_simulate_bad_input_line_exits_1_naming_the_line(
    tmp_path, bad_line, line_number, message_part
):
    messages = tmp_path / "m.jsonl"
    messages.write_text('{"t": "2026-11-20T08:00:00Z", "payload": "ok"}\n' + bad_line + "\n")
    result = run_cli(
        "pipelines", "simulate", "examples/pipeline-files/pump-status.yaml", "--input", messages
    )
    assert result.returncode == 1
    assert f"line {line_number}" in result.stderr
    assert message_part in result.stderr
    assert result.stdout == ""


def test_simulate_several_files_need_node_in_messages(tmp_path):
    messages = tmp_path / "m.jsonl"
    messages.write_text(messages_text([{"t": "2026-11-20T08:00:00Z", "payload": "Open"}]))
    result = run_cli(
        "pipelines",
        "simulate",
        "examples/pipeline-files/door-events.yaml",
        "examples/pipeline-files/humidity-window.yaml",
        "--input",
        messages,
    )
    assert result.returncode == 1
    assert "line 1" in result.stderr
    assert "'node'" in result.stderr


# --- schema ----------------------------------------------------------------------------------


def test_schema_prints_the_committed_schema():
    result = run_cli("pipelines", "schema")
    assert result.returncode == 0, result.stderr
    committed = (REPO / "pipelines" / "pipeline.schema.json").read_text(encoding="utf-8")
    assert result.stdout == committed
    assert json.loads(result.stdout)["$schema"] == "https://json-schema.org/draft/2020-12/schema"
