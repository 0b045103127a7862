"""`pepeunit api` on the embedded ClickHouse (chdb), as a process of its own (issue 11, findings
3 and 5): it creates its ClickHouse tables at start, keeps its thread count flat over hundreds
of ClickHouse-backed requests, and reads a page of, exports and imports a node that holds
1 000 000 rows with memory that does not grow with the node."""

import csv
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest

from control_plane.security import make_user_token
from tests.flows.support import pipeline_config, seed_nodes
from tests.services.ports import LOOPBACK, accepts_connections, free_loopback_port
from tests.services.processes import stop_process, wait_until_ready, with_parent_death_signal

from .conftest import API, SECRET_KEY

CLI = Path(sys.executable).parent / "pepeunit"
NODES = f"{API}/unit_nodes"
MB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class RunningApi:
    url: str
    pid: int

    def threads(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/task"))

    def rss_mb(self) -> float:
        return _status_kb(self.pid, "VmRSS") / 1024

    def reset_peak(self) -> float:
        """Makes the peak RSS the current one; returns it in MB."""
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        return _status_kb(self.pid, "VmHWM") / 1024

    def peak_mb(self) -> float:
        return _status_kb(self.pid, "VmHWM") / 1024


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def _environment(data_dir: Path, **settings: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PU_")}
    environment |= {"PU_DATA_DIR": str(data_dir), "PU_SECRET_KEY": SECRET_KEY}
    environment |= {f"PU_{name.upper()}": value for name, value in settings.items()}
    return environment


@contextmanager
def running_api(data_dir: Path, **settings: str) -> Iterator[RunningApi]:
    port = free_loopback_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"api-{port}.log"
    command = [str(CLI), "api", "--host", LOOPBACK, "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            with_parent_death_signal(command, "TERM"),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_environment(data_dir, **settings),
        )
    try:
        wait_until_ready(
            process,
            lambda: accepts_connections(LOOPBACK, port),
            what="pepeunit api",
            log_path=log_path,
            timeout=30,
        )
        yield RunningApi(f"http://{LOOPBACK}:{port}", process.pid)
    finally:
        stop_process(process)


def owner_headers(node: str, sql_url: str) -> dict[str, str]:
    from pepeunit_core.db.engine import make_engine, make_session_factory
    from pepeunit_core.db.models import UnitNode

    engine = make_engine(sql_url)
    try:
        with make_session_factory(engine)() as session:
            owner = session.get_one(UnitNode, UUID(node)).creator_uuid
    finally:
        engine.dispose()
    assert owner is not None
    return {"x-auth-token": make_user_token(owner, SECRET_KEY, 3600)}


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'pepeunit.sqlite').resolve()}"


def test_api_on_a_fresh_data_dir_answers_clickhouse_routes_without_a_migrate(tmp_path: Path):
    """Finding 3: the standalone API answered 500 until `pepeunit migrate` made the tables."""
    data_dir = tmp_path / "data"
    with running_api(data_dir) as api, httpx.Client(base_url=api.url) as client:
        config = pipeline_config({"policy_type": "NRecords", "n_records_count": 5})
        node = seed_nodes(sqlite_url(data_dir), {"nrec": config})["nrec"]
        owner = owner_headers(node, sqlite_url(data_dir))
        read = client.get(
            f"{NODES}/get_data_pipe_data/", params={"uuid": node, "type": "NRecords"}, headers=owner
        )
        assert read.status_code == 200, read.text
        assert read.json() == {"count": 0, "pipe_data": []}
        export = client.get(f"{NODES}/get_data_pipe_data_csv/{node}", headers=owner)
        assert export.status_code == 200, export.text
        upload = {"data": ("data.csv", b"state,create_datetime\n1,2024-01-01 00:00:00\n")}
        imported = client.post(
            f"{NODES}/set_data_pipe_data_csv", params={"uuid": node}, files=upload, headers=owner
        )
        assert imported.status_code == 204, imported.text


def test_threads_and_memory_stay_flat_over_500_clickhouse_backed_requests(tmp_path: Path):
    """Finding 3: a client per request restarted the embedded engine each time (about five
    threads and some memory left behind per request, anonymous 404s included)."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    subprocess.run(
        [str(CLI), "migrate"], env=_environment(data_dir), check=True, capture_output=True
    )
    config = pipeline_config({"policy_type": "NRecords", "n_records_count": 5})
    node = seed_nodes(sqlite_url(data_dir), {"nrec": config})["nrec"]
    owner = owner_headers(node, sqlite_url(data_dir))
    requests = [
        (f"{NODES}/get_data_pipe_data_csv/{uuid4()}", {}, {}, 404),
        (f"{NODES}/get_data_pipe_data/", {"uuid": node, "type": "NRecords"}, owner, 200),
        (f"{NODES}/get_data_pipe_data_csv/{node}", {}, owner, 200),
        (f"{API}/units/log_list/", {"uuid": str(uuid4())}, {}, 404),
    ]
    with running_api(data_dir) as api, httpx.Client(base_url=api.url) as client:
        for path, params, headers, status in requests:  # warm up: every route once
            assert client.get(path, params=params, headers=headers).status_code == status
        threads, rss = api.threads(), api.rss_mb()
        for number in range(500):
            path, params, headers, status = requests[number % len(requests)]
            response = client.get(path, params=params, headers=headers)
            assert response.status_code == status, (path, response.text)
        print(
            f"500 requests: threads {threads} -> {api.threads()}, RSS {rss:.0f} -> "
            f"{api.rss_mb():.0f} MB"
        )
        assert api.threads() <= threads + 4, (threads, api.threads())
        assert api.rss_mb() < rss + 60, (rss, api.rss_mb())


# --- 1 000 000 rows in a node (finding 5) -----------------------------------------------------

STORED_ROWS = 1_000_000


@dataclass(frozen=True)
class BigNode:
    api: RunningApi
    node: str
    headers: dict[str, str]


@pytest.fixture(scope="module")
def big_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BigNode]:
    data_dir = tmp_path_factory.mktemp("big") / "data"
    seeded = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.control_plane.seed_data_dir",
            str(data_dir),
            str(STORED_ROWS),
        ],
        cwd=ROOT,
        env=_environment(data_dir),
        check=True,
        capture_output=True,
        text=True,
    )
    node = json.loads(seeded.stdout.splitlines()[-1])["node"]
    headers = owner_headers(node, sqlite_url(data_dir))
    with running_api(data_dir, max_csv_import_size="64", clickhouse_pool_size="1") as api:
        yield BigNode(api, node, headers)


def read_page(big: BigNode, **params: object) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = httpx.get(
        f"{big.api.url}{NODES}/get_data_pipe_data/",
        params={"uuid": big.node, "type": "TimeWindow", **params},
        headers=big.headers,
        timeout=60,
    )
    return response, time.perf_counter() - started


def test_a_page_of_a_million_row_node_is_fast_and_memory_bounded(big_node: BigNode):
    """It took 10 s and 1.3 GB: every row was read into Python to return 500."""
    read_page(big_node, limit=1)  # warm up
    before = big_node.api.reset_peak()
    response, seconds = read_page(big_node, limit=500, offset=1000)
    growth = big_node.api.peak_mb() - before
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["count"] == STORED_ROWS
    states = [row["state"] for row in result["pipe_data"]]
    newest = STORED_ROWS - 1 - 1000
    assert states == [str(number) for number in range(newest, newest - 500, -1)]
    print(f"page read: {seconds:.3f} s, peak RSS +{growth:.0f} MB")
    assert seconds < 1.5
    assert growth < 50


def test_exporting_a_million_rows_streams_from_the_store(big_node: BigNode, tmp_path: Path):
    """It took 9 s and +450 MB: every row in Python, then the CSV and the ZIP in memory."""
    archive = tmp_path / "export.zip"
    before = big_node.api.reset_peak()
    started = time.perf_counter()
    with (
        httpx.stream(
            "GET",
            f"{big_node.api.url}{NODES}/get_data_pipe_data_csv/{big_node.node}",
            headers=big_node.headers,
            timeout=120,
        ) as response,
        archive.open("wb") as file,
    ):
        assert response.status_code == 200
        assert int(response.headers["content-length"]) > 0
        for chunk in response.iter_bytes():
            file.write(chunk)
    seconds = time.perf_counter() - started
    growth = big_node.api.peak_mb() - before
    with zipfile.ZipFile(archive) as zipped, zipped.open(f"{big_node.node}.csv") as entry:
        lines = io.TextIOWrapper(entry, encoding="utf-8")
        header = next(lines)
        first = next(lines)
        count = 1 + sum(1 for _ in lines)
    assert header.startswith("unit_node_uuid,state,")
    assert first.split(",")[1] == "0"
    assert count == STORED_ROWS
    print(f"export: {seconds:.1f} s, peak RSS +{growth:.0f} MB")
    assert growth < 150


def test_a_slow_download_holds_no_clickhouse_client(big_node: BigNode):
    """With one client in the pool, a reader still gets a page while an export waits for its
    downloader: the client goes back to the pool when the route returns."""
    with httpx.stream(
        "GET",
        f"{big_node.api.url}{NODES}/get_data_pipe_data_csv/{big_node.node}",
        headers=big_node.headers,
        timeout=120,
    ) as export:
        assert export.status_code == 200
        response, seconds = read_page(big_node, limit=1)
        assert response.status_code == 200, response.text
        assert seconds < 5


def million_row_csv(path: Path) -> None:
    start = datetime.now(UTC) - timedelta(hours=20)
    with path.open("w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(["state", "create_datetime"])
        for number in range(STORED_ROWS):
            created = start + timedelta(milliseconds=50 * number)
            writer.writerow([number % 1000, created.strftime("%Y-%m-%d %H:%M:%S.%f")])


def test_importing_a_million_rows_is_memory_bounded(big_node: BigNode, tmp_path: Path):
    """It took 17 s and 1.2 GB for 959 323 rows: the upload and every row were held at once."""
    upload = tmp_path / "import.csv"
    million_row_csv(upload)
    before = big_node.api.reset_peak()
    started = time.perf_counter()
    with upload.open("rb") as file:
        response = httpx.post(
            f"{big_node.api.url}{NODES}/set_data_pipe_data_csv",
            params={"uuid": big_node.node},
            files={"data": ("import.csv", file)},
            headers=big_node.headers,
            timeout=300,
        )
    seconds = time.perf_counter() - started
    growth = big_node.api.peak_mb() - before
    assert response.status_code == 204, response.text
    print(f"import of {upload.stat().st_size / MB:.0f} MB: {seconds:.1f} s, +{growth:.0f} MB")
    page, _ = read_page(big_node, limit=2, order_by_create_date="asc")
    assert page.json()["count"] == STORED_ROWS
    assert [row["state"] for row in page.json()["pipe_data"]] == ["0.0", "1.0"]
    # Python holds a batch of 10 000 rows at a time (~20 MB); the rest is the embedded engine's
    # own insert and merge memory, which levels off at ~100 MB however many batches come.
    assert growth < 250
