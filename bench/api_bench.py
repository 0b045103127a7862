"""Control plane API benchmark: `pepeunit api --workers 2` on a private PostgreSQL, on this machine.

Sets up a throw-away PostgreSQL cluster, two real git repositories served over file:// (the small
unit repository of the tests, and a ~5 MiB firmware repository), a user owning `--units` units
created through the API, then serves the API with uvicorn workers in a subprocess. A separate load
generator process (asyncio + httpx, keep-alive connections, a fixed number of requests in flight)
drives each endpoint on loopback for a bounded time and reports requests/s, p50/p99 latency and
errors; CPU seconds used by the API, PostgreSQL and the load generator are read from /proc.
Firmware archives (tgz with the default wbits=9 level=9, zip, tar) of the 5 MiB repository are
then fetched one at a time.

Run from the repository root:
    PYTHONPATH=. .venv/bin/python bench/api_bench.py [--workers 2] [--units 200]
        [--concurrency 1 16] [--duration 15] [--archive-requests 20] [--profile DIR]
`--profile DIR` records every API worker with py-spy (when installed) during each run and prints
where their time went. Prints Markdown tables; bench/RESULTS.md records the figures.
"""

import argparse
import asyncio
import base64
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from uuid import UUID

import httpx

from bench.profiling import raw_samples, share_lines, start_profilers, wait_profilers
from control_plane.security import make_unit_token
from tests.control_plane_registry.git_sources import (
    SCHEMA_EXAMPLE,
    SourceRepository,
    UnitRepository,
)
from tests.services.ports import LOOPBACK, free_loopback_port
from tests.services.postgres import PostgresServer, fresh_database, running_postgres
from tests.services.processes import stop_process, wait_until_ready, with_parent_death_signal

API = "/pepeunit/api/v1"
INFO = "/pepeunit"
CLI = Path(sys.executable).parent / "pepeunit"
SECRET_KEY = base64.b64encode(b"bench-secret-key".ljust(32, b"s")).decode()
ENCRYPT_KEY = base64.b64encode(b"bench-encrypt-key".ljust(32, b"e")).decode()
PASSWORD = "bench-pass-word.1"
LIST_PAGE = 100
WARMUP_S = 2.0
REQUEST_TIMEOUT_S = 60.0
STARTUP_TIMEOUT_S = 180.0  # importing the app takes seconds, more on a busy machine
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
QUIET = {"threshold": 0.15, "wait_s": 60.0}
"""Each run first waits up to wait_s for a second with the whole machine below threshold busy."""

LISTENERS = ("shipped",)
"""shipped: `pepeunit api` as it is. Runs before 2026-12-01 11:50 also had `nodelay`, a launcher
giving uvicorn an IPPROTO_TCP listener; `pepeunit api --workers N` now does that itself."""

# The 5 MiB firmware repository: source-like text (compressible) and random bytes (not).
TEXT_FILES = 128
TEXT_FILE_BYTES = 32 * 1024
BINARY_FILES = 4
BINARY_FILE_BYTES = 256 * 1024


# ---------------------------------------------------------------- load generator (subprocess)


@dataclass(frozen=True)
class LoadSpec:
    base_url: str
    targets: list[tuple[str, str]]
    """(path, x-auth-token) pairs, taken in turn."""
    concurrency: int
    warmup_s: float
    duration_s: float


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    window_s: float = 0.0
    completed: int = 0
    """Requests answered (or failed) over the whole run, warm-up included."""


@dataclass
class _Window:
    start: float
    end: float
    last_done: float = 0.0


async def _one_request(client: httpx.AsyncClient, path: str, token: str) -> str | None:
    """None on a 200, else what went wrong."""
    try:
        response = await client.get(path, headers={"x-auth-token": token})
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}"
    if response.status_code != 200:
        return f"{response.status_code}: {response.text[:200]}"
    return None


async def _drive(
    client: httpx.AsyncClient, spec: LoadSpec, first: int, window: _Window, result: LoadResult
) -> None:
    """One request in flight at a time, until the window ends; measures those that start in it."""
    index = first
    while time.perf_counter() < window.end:
        path, token = spec.targets[index % len(spec.targets)]
        index += spec.concurrency
        started = time.perf_counter()
        failure = await _one_request(client, path, token)
        done = time.perf_counter()
        result.completed += 1
        if failure is not None:
            result.errors += 1
            if len(result.error_samples) < 5:
                result.error_samples.append(failure)
        elif started >= window.start:
            result.latencies_ms.append((done - started) * 1000)
            window.last_done = max(window.last_done, done)


async def generate_load(spec: LoadSpec) -> LoadResult:
    limits = httpx.Limits(
        max_connections=spec.concurrency, max_keepalive_connections=spec.concurrency
    )
    result = LoadResult()
    async with httpx.AsyncClient(
        base_url=spec.base_url, limits=limits, timeout=REQUEST_TIMEOUT_S
    ) as client:
        now = time.perf_counter()
        window = _Window(now + spec.warmup_s, now + spec.warmup_s + spec.duration_s)
        await asyncio.gather(
            *(_drive(client, spec, i, window, result) for i in range(spec.concurrency))
        )
    result.window_s = max(window.last_done - window.start, 1e-9)
    return result


def load_generator_main() -> None:
    """The generator process: the spec on stdin, `ready` once set up, the result as JSON."""
    raw = json.load(sys.stdin)
    spec = LoadSpec(**{**raw, "targets": [tuple(target) for target in raw["targets"]]})
    print("ready", flush=True)
    print(json.dumps(asdict(asyncio.run(generate_load(spec)))), flush=True)


# ---------------------------------------------------------------- CPU accounting from /proc


def _process_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds used so far) for every process, with those of its exited
    children (the API's git subprocesses)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state, ppid, ..., utime, stime, cutime, cstime (11 to 14).
        ticks = sum(int(value) for value in fields[11:15])
        table[int(entry.name)] = (int(fields[1]), ticks / CLOCK_TICKS)
    return table


def descendants(table: dict[int, tuple[int, float]], root: int) -> set[int]:
    found = {root}
    grew = True
    while grew:
        grew = False
        for pid, (parent, _) in table.items():
            if parent in found and pid not in found:
                found.add(pid)
                grew = True
    return found


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (not idle, not waiting for I/O)."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is already in user)
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / CLOCK_TICKS


def wait_for_quiet_machine(threshold: float, longest_s: float) -> float:
    """Waits (up to `longest_s`) for a second in which all cores were less than `threshold`
    busy: other work on this shared machine skews every figure. Returns the last share seen."""
    began = time.monotonic()
    while True:
        busy = machine_busy_seconds()
        time.sleep(1.0)
        share = (machine_busy_seconds() - busy) / (os.cpu_count() or 1)
        waited = time.monotonic() - began
        if share < threshold or waited > longest_s:
            if waited > 2:
                print(f"waited {waited:.0f} s for a quiet machine", file=sys.stderr, flush=True)
            return share


def cpu_by_group(roots: dict[str, int]) -> dict[str, dict[int, float]]:
    """Per group name, the CPU seconds of each process of its tree; `machine` is every core."""
    table = _process_table()
    groups = {
        name: {pid: table[pid][1] for pid in descendants(table, root) if pid in table}
        for name, root in roots.items()
    }
    return groups | {"machine": {0: machine_busy_seconds()}}


def cpu_used(
    before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]
) -> dict[str, float]:
    """CPU seconds per group between two snapshots (processes that exited in between are lost),
    and `other`: what the rest of the machine used meanwhile."""
    used = {
        name: sum(seconds - before[name].get(pid, 0.0) for pid, seconds in after[name].items())
        for name in after
    }
    machine = used.pop("machine")
    return used | {"other": max(machine - sum(used.values()), 0.0)}


# ---------------------------------------------------------------- services


@dataclass(frozen=True)
class ApiServer:
    base_url: str
    pid: int
    log_path: Path
    listener: str

    def worker_pids(self) -> list[int]:
        table = _process_table()
        return sorted(
            pid
            for pid in descendants(table, self.pid) - {self.pid}
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        )


def postmaster_pid(server: PostgresServer) -> int:
    return int((server.data_dir / "postmaster.pid").read_text().split()[0])


def api_environment(work: Path, database_url: str) -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PU_")}
    return environment | {
        "PU_SQLALCHEMY_DATABASE_URL": database_url,
        "PU_SECRET_KEY": SECRET_KEY,
        "PU_ENCRYPT_KEY": ENCRYPT_KEY,
        "PU_DATA_DIR": str(work / "data"),
        "PU_DOMAIN": "pepeunit.bench",
        "PU_REGISTRY_ALLOWED_URL_SCHEMES": '["https", "file"]',
    }


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def api_command(listener: str, port: int, workers: int) -> list[str]:
    options = ["api", "--host", LOOPBACK, "--port", str(port), "--workers", str(workers)]
    return [str(CLI), *options]


@contextmanager
def running_api(work: Path, database_url: str, workers: int, listener: str) -> Iterator[ApiServer]:
    """`pepeunit api` (which migrates first) until the block exits."""
    port = free_loopback_port()
    base_url = f"http://{LOOPBACK}:{port}"
    log_path = work / f"api-{listener}.log"
    command = api_command(listener, port, workers)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            with_parent_death_signal(command, "TERM"),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=api_environment(work, database_url),
        )
    try:
        wait_until_ready(
            process,
            lambda: _answers(base_url + INFO),
            what="pepeunit api",
            log_path=log_path,
            timeout=STARTUP_TIMEOUT_S,
        )
        server = ApiServer(base_url, process.pid, log_path, listener)
        _wait_for_workers(server, workers)
        yield server
    finally:
        stop_process(process, timeout=30)


def _wait_for_workers(server: ApiServer, workers: int, timeout: float = STARTUP_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while server.log_path.read_text().count("Application startup complete") < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{workers} API workers did not start; see {server.log_path}")
        time.sleep(0.1)


# ---------------------------------------------------------------- git sources


def source_like_text(rng: random.Random, size: int) -> bytes:
    """Python-looking lines over a small vocabulary: compresses like source code does."""
    words = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz_", k=rng.randint(3, 12)))]
    words += ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz_", k=rng.randint(3, 12)))
              for _ in range(400)]  # fmt: skip
    shapes = (
        "{i}{a} = {b}({c}, {n})\n",
        "{i}if {a}.{b} > {n}:\n",
        "{i}return self.{a}[{n}]\n",
        "{i}def {a}(self, {b}: int = {n}) -> None:\n",
        '{i}log.debug("{a} %s {b}", {c})\n',
        "{i}# {a} {b} {c}\n",
    )
    lines = []
    total = 0
    while total < size:
        line = rng.choice(shapes).format(
            i=" " * 4 * rng.randint(0, 3),
            a=rng.choice(words),
            b=rng.choice(words),
            c=rng.choice(words),
            n=rng.randint(0, 9999),
        )
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()[:size]


def firmware_files(seed: int = 5) -> dict[str, bytes]:
    rng = random.Random(seed)
    files = {
        "schema_example.json": SCHEMA_EXAMPLE,
        "env_example.json": b'{"WIFI_SSID": "", "WIFI_PASS": ""}\n',
        "main.py": b"import app\n\napp.run()\n",
    }
    for index in range(TEXT_FILES):
        files[f"lib/part{index % 8}/module{index}.py"] = source_like_text(rng, TEXT_FILE_BYTES)
    for index in range(BINARY_FILES):
        files[f"assets/blob{index}.bin"] = rng.randbytes(BINARY_FILE_BYTES)
    return files


def firmware_repository(root: Path) -> SourceRepository:
    repository = SourceRepository(root, "firmware")
    repository.tag("v1.0.0", repository.commit("Firmware", firmware_files()))
    repository.publish()
    return repository


# ---------------------------------------------------------------- API setup


def _created(response: httpx.Response) -> dict:
    if response.status_code != 201:
        raise RuntimeError(
            f"{response.request.url.path} -> {response.status_code}: {response.text}"
        )
    return response.json()


def register_and_login(client: httpx.Client, login: str) -> str:
    _created(client.post(f"{API}/users", json={"login": login, "password": PASSWORD}))
    response = client.post(f"{API}/users/auth", json={"credentials": login, "password": PASSWORD})
    response.raise_for_status()
    return response.json()["token"]


def create_repo(client: httpx.Client, token: str, url: str, name: str) -> str:
    headers = {"x-auth-token": token}
    body = {"platform": "Github", "repository_url": url, "is_public_repository": True}
    registry = _created(client.post(f"{API}/repository_registry", json=body, headers=headers))
    body = {
        "repository_registry_uuid": registry["uuid"],
        "default_branch": "main",
        "visibility_level": "Public",
        "name": name,
    }
    return _created(client.post(f"{API}/repos", json=body, headers=headers))["uuid"]


def create_unit(client: httpx.Client, token: str, repo: str, name: str) -> str:
    body = {
        "repo_uuid": repo,
        "visibility_level": "Public",
        "name": name,
        "is_auto_update_from_repo_unit": True,
    }
    headers = {"x-auth-token": token}
    return _created(client.post(f"{API}/units", json=body, headers=headers))["uuid"]


def unit_token(uuid: str) -> str:
    return make_unit_token(UUID(uuid), SECRET_KEY)


@dataclass(frozen=True)
class World:
    user_token: str
    units: list[str]
    firmware_unit: str
    setup_s: dict[str, float]


def set_up_world(client: httpx.Client, unit_url: str, firmware_url: str, units: int) -> World:
    """An Admin (the first user), then a plain user owning every unit."""
    timings = {}
    register_and_login(client, "admin")
    token = register_and_login(client, "bench")
    began = time.perf_counter()
    repo = create_repo(client, token, unit_url, "unit-repo")
    timings["registry + repo (small)"] = time.perf_counter() - began
    began = time.perf_counter()
    uuids = [create_unit(client, token, repo, f"unit-{index:04d}") for index in range(units)]
    timings["unit creation, each"] = (time.perf_counter() - began) / units
    began = time.perf_counter()
    firmware_repo = create_repo(client, token, firmware_url, "firmware-repo")
    timings["registry + repo (5 MiB)"] = time.perf_counter() - began
    firmware_unit = create_unit(client, token, firmware_repo, "firmware-unit")
    for uuid in [*uuids, firmware_unit]:  # the first env read stores the unit's secrets
        response = client.get(f"{API}/units/env/{uuid}", headers={"x-auth-token": unit_token(uuid)})
        response.raise_for_status()
    return World(token, uuids, firmware_unit, timings)


# ---------------------------------------------------------------- measurements


@dataclass
class LoadRow:
    listener: str
    endpoint: str
    concurrency: int
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_share: dict[str, float]
    """Of all cores, while the generator ran: api, postgres, load (generator), other."""
    server_cpu_ms: float
    """API and PostgreSQL CPU time per request (warm-up included)."""
    error_samples: list[str]


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least `fraction` of the values at or below it."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def scenarios(world: World) -> dict[str, list[tuple[str, str]]]:
    """Endpoint label -> (path, token) targets. Device routes rotate over every unit, each with
    its own unit token; the list is read by the user owning all units."""
    user = world.user_token
    return {
        "GET /pepeunit (no auth, no SQL)": [(INFO, "")],
        "GET /units/env/{uuid}": [(f"{API}/units/env/{u}", unit_token(u)) for u in world.units],
        "GET /units/get_current_schema/{uuid}": [
            (f"{API}/units/get_current_schema/{u}", unit_token(u)) for u in world.units
        ],
        f"GET /units?limit={LIST_PAGE}": [(f"{API}/units?limit={LIST_PAGE}", user)],
    }


def profile_workers(
    server: ApiServer, directory: Path | None, name: str, seconds: float
) -> list[subprocess.Popen]:
    slug = "".join(c if c.isalnum() else "-" for c in name).strip("-")
    outputs = {f"{slug}-{pid}": pid for pid in server.worker_pids()}
    return start_profilers(directory, outputs, seconds)


def run_load(
    server: ApiServer, roots: dict[str, int], spec: LoadSpec, profile: Path | None, name: str
) -> tuple[LoadResult, dict[str, float], float]:
    """The generator in its own process; CPU seconds per group while it ran, and how long."""
    wait_for_quiet_machine(QUIET["threshold"], QUIET["wait_s"])
    generator = subprocess.Popen(
        [sys.executable, __file__, "--load-generator"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert generator.stdin is not None and generator.stdout is not None
    generator.stdin.write(json.dumps(asdict(spec)))
    generator.stdin.close()
    if generator.stdout.readline().strip() != "ready":
        raise RuntimeError("the load generator did not start")
    groups = {**roots, "load": generator.pid}
    before = cpu_by_group(groups)
    began = time.perf_counter()
    profilers = profile_workers(server, profile, name, spec.warmup_s + spec.duration_s)
    try:
        output = generator.stdout.readline()
        after = cpu_by_group(groups)
        elapsed = time.perf_counter() - began
    finally:
        generator.wait(timeout=spec.warmup_s + spec.duration_s + REQUEST_TIMEOUT_S)
        wait_profilers(profilers)
    return LoadResult(**json.loads(output)), cpu_used(before, after), elapsed


def measure_endpoint(
    server: ApiServer,
    roots: dict[str, int],
    label: str,
    targets: list[tuple[str, str]],
    concurrency: int,
    duration_s: float,
    profile: Path | None,
) -> LoadRow:
    spec = LoadSpec(server.base_url, targets, concurrency, WARMUP_S, duration_s)
    name = f"{server.listener} {label} c{concurrency}"
    result, used, elapsed = run_load(server, roots, spec, profile, name)
    latencies = result.latencies_ms
    cores = os.cpu_count() or 1
    return LoadRow(
        listener=server.listener,
        endpoint=label,
        concurrency=concurrency,
        requests=len(latencies),
        rps=len(latencies) / result.window_s,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        errors=result.errors,
        cpu_share={group: seconds / (elapsed * cores) for group, seconds in used.items()},
        server_cpu_ms=(used["api"] + used["postgres"]) * 1000 / max(result.completed, 1),
        error_samples=result.error_samples,
    )


@dataclass
class ArchiveRow:
    listener: str
    archive: str
    requests: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    size_bytes: int
    errors: int


def measure_archive(
    client: httpx.Client, uuid: str, archive: str, query: str, requests: int, listener: str
) -> ArchiveRow:
    """Sequential downloads of one unit's firmware archive, as the unit."""
    headers = {"x-auth-token": unit_token(uuid)}
    latencies, sizes, errors = [], set(), 0
    for _ in range(requests):
        began = time.perf_counter()
        response = client.get(f"{API}/units/firmware/{archive}/{uuid}{query}", headers=headers)
        latencies.append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:
            errors += 1
            continue
        sizes.add(len(response.content))
    return ArchiveRow(
        listener=listener,
        archive=f"{archive}{query}",
        requests=requests,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        mean_ms=sum(latencies) / len(latencies),
        size_bytes=max(sizes, default=0),
        errors=errors,
    )


def measure_archives(
    server: ApiServer, world: World, requests: int, profile: Path | None
) -> list[ArchiveRow]:
    plan = [("tgz", "", requests), ("tgz", "?wbits=31&level=6", requests // 2)]
    plan += [("zip", "", requests // 2), ("tar", "", requests // 2)]
    rows = []
    with httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT_S) as client:
        measure_archive(client, world.firmware_unit, "tgz", "", 1, server.listener)  # warm up
        for archive, query, count in plan:
            wait_for_quiet_machine(QUIET["threshold"], QUIET["wait_s"])
            name = f"{server.listener} firmware {archive}{query}"
            profilers = profile_workers(server, profile, name, 5)
            rows.append(
                measure_archive(client, world.firmware_unit, archive, query, count, server.listener)
            )
            print(json.dumps(asdict(rows[-1])), file=sys.stderr, flush=True)
            wait_profilers(profilers)
    return rows


# ---------------------------------------------------------------- profiles


def summarize_profile(files: list[Path], top: int = 12) -> list[str]:
    """Shares of GIL-holding samples: by module of the innermost frame, and inclusive by the
    project's own functions (control_plane/, pepeunit_core/)."""
    by_module: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for frames, count in raw_samples(files):
        total += count
        by_module[frames[-1][1]] += count
        own = {f"{path}:{function}" for function, path in frames
               if path.startswith(("control_plane/", "pepeunit_core/"))}  # fmt: skip
        for name in own:
            inclusive[name] += count
    if not total:
        return ["(no samples)"]
    title = f"{total} samples; innermost frame by module:"
    return share_lines(title, by_module, total, top) + share_lines(
        "inclusive, project functions:", inclusive, total, top
    )


def print_profiles(directory: Path) -> None:
    groups: dict[str, list[Path]] = {}
    for file in sorted(directory.glob("*.txt")):
        groups.setdefault(file.stem.rsplit("-", 1)[0], []).append(file)
    for name, files in groups.items():
        print(f"\n### profile: {name}\n")
        print("\n".join(summarize_profile(files)))


# ---------------------------------------------------------------- report


def machine_description() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores ({model})"


def print_load_table(rows: list[LoadRow]) -> None:
    print("| listener | endpoint | in flight | requests | req/s | p50 ms | p99 ms | errors | "
          "API+PG CPU ms/req | CPU of all cores: API / PG / load gen / other |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        cpu = " / ".join(f"{row.cpu_share[k]:.0%}" for k in ("api", "postgres", "load", "other"))
        print(
            f"| {row.listener} | `{row.endpoint}` | {row.concurrency} | {row.requests:,} | "
            f"{row.rps:,.0f} | "
            f"{row.p50_ms:.1f} | {row.p99_ms:.1f} | {row.errors} | {row.server_cpu_ms:.1f} | "
            f"{cpu} |"
        )


def print_archive_table(rows: list[ArchiveRow]) -> None:
    print("| listener | archive | requests (one at a time) | p50 ms | p99 ms | mean ms | size | "
          "errors |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row.listener} | `{row.archive}` | {row.requests} | {row.p50_ms:.0f} | "
            f"{row.p99_ms:.0f} | {row.mean_ms:.0f} | {row.size_bytes / 2**20:.2f} MiB | "
            f"{row.errors} |"
        )


def print_report(
    args: argparse.Namespace, world: World, load: list[LoadRow], archives: list[ArchiveRow]
) -> None:
    text = TEXT_FILES * TEXT_FILE_BYTES / 2**20
    binary = BINARY_FILES * BINARY_FILE_BYTES / 2**20
    print(
        f"\n{machine_description()}; `pepeunit api --workers {args.workers}` (uvicorn), private "
        f"PostgreSQL (fsync off), {len(world.units)} units of one user; one load generator "
        f"process (asyncio httpx, keep-alive), {WARMUP_S:g} s warm-up then {args.duration:g} s "
        f"per row; everything shares the same cores.\n"
    )
    print_load_table(load)
    print(
        f"\nFirmware of a {text + binary:.1f} MiB repository ({TEXT_FILES} source-like text "
        f"files, {text:.1f} MiB; {BINARY_FILES} random binary files, {binary:.1f} MiB):\n"
    )
    print_archive_table(archives)
    print("\nSetup: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in world.setup_s.items()))


# ---------------------------------------------------------------- main


def measure_endpoints(
    server: ApiServer,
    roots: dict[str, int],
    world: World,
    args: argparse.Namespace,
    profile: Path | None,
) -> list[LoadRow]:
    rows = []
    for label, targets in scenarios(world).items():
        for concurrency in args.concurrency:
            row = measure_endpoint(
                server, roots, label, targets, concurrency, args.duration, profile
            )
            print(json.dumps(asdict(row)), file=sys.stderr, flush=True)
            rows.append(row)
    return rows


def run(args: argparse.Namespace, work: Path) -> None:
    profile = Path(args.profile).resolve() if args.profile else None
    (work / "git").mkdir()
    small = UnitRepository(work / "git")
    firmware = firmware_repository(work / "git")
    world: World | None = None
    load: list[LoadRow] = []
    archives: list[ArchiveRow] = []
    with running_postgres() as postgres, fresh_database(postgres) as database:
        for listener in args.listeners:
            with running_api(work, database.url, args.workers, listener) as server:
                if world is None:  # one set of rows, served by each listener in turn
                    with httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT_S) as c:
                        world = set_up_world(c, small.url, firmware.url, args.units)
                roots = {"api": server.pid, "postgres": postmaster_pid(postgres)}
                load += measure_endpoints(server, roots, world, args, profile)
                archives += measure_archives(server, world, args.archive_requests, profile)
    assert world is not None
    print_report(args, world, load, archives)
    if profile is not None:
        print_profiles(profile)


def _exit_on_signal(number: int, _frame: object) -> None:
    raise SystemExit(128 + number)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--duration", type=float, default=15.0, help="seconds measured per row")
    parser.add_argument("--archive-requests", type=int, default=20)
    parser.add_argument(
        "--listeners", nargs="+", choices=LISTENERS, default=list(LISTENERS),
        help="shipped: `pepeunit api`",
    )  # fmt: skip
    parser.add_argument("--profile", metavar="DIR", help="py-spy raw profiles of the workers")
    parser.add_argument(
        "--quiet-wait", type=float, default=QUIET["wait_s"],
        help="longest wait (s) before each run for the machine to be below 15%% busy",
    )  # fmt: skip
    parser.add_argument("--load-generator", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_generator:
        load_generator_main()
        return
    QUIET["wait_s"] = args.quiet_wait
    signal.signal(signal.SIGTERM, _exit_on_signal)  # so that the cleanup below runs
    work = Path(tempfile.mkdtemp(prefix="pepeunit-api-bench-"))
    try:
        run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
