"""Crash and store-outage stress, on this machine: the suite's two fault tests of the data plane
at issue 16's size.

- `crash`: tests/flows/test_flow_crash_recovery.py, 2 x SIGKILL of the flow (after 1/4 and 3/5
  of the stream) while the messages arrive;
- `outage`: tests/flows/test_flow_storage_outage.py, ClickHouse away for 10 s from 1/4 of the
  stream on.

Both assert exact counts afterwards (every message logged once and stored once, nothing lost,
nothing duplicated). The suite runs them small (20 000 and 3 000 messages at 2 000 msg/s); here
they run with `--messages` each (default 200 000) at up to `--rate` msg/s (one paho publisher at
QoS 1, default 20 000: as fast as it goes), through the environment variables the tests read.
The crash test runs on SQLite only here (the suite also runs it on PostgreSQL, which holds the
configuration, not the stream).

Run from the repository root:
    PYTHONPATH=. .venv/bin/python bench/crash_bench.py [--messages N] [--rate R]
        [--tests crash outage]
Prints each test's own summary line, its verdict and wall time; bench/RESULTS.md records them.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = {
    "crash": (
        "tests/flows/test_flow_crash_recovery.py",
        "PEPEUNIT_CRASH_MESSAGES",
        "PEPEUNIT_CRASH_RATE",
    ),
    "outage": (
        "tests/flows/test_flow_storage_outage.py",
        "PEPEUNIT_OUTAGE_MESSAGES",
        "PEPEUNIT_OUTAGE_RATE",
    ),
}
SUMMARY_PREFIXES = ("crash recovery:", "storage outage:")
TIMEOUT_S = 1_800


def load_averages() -> str:
    return " / ".join(Path("/proc/loadavg").read_text().split()[:3])


def run(name: str, messages: int, rate: int) -> tuple[bool, float, list[str]]:
    path, messages_variable, rate_variable = TESTS[name]
    env = dict(os.environ, **{messages_variable: str(messages), rate_variable: str(rate)})
    env["PEPEUNIT_CRASH_TIMEOUT_S"] = str(TIMEOUT_S)
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", path, "-s", "-q", "-p", "no:cacheprovider",
         "--timeout", str(TIMEOUT_S), "-k", "not postgresql"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    elapsed = time.monotonic() - began
    lines = result.stdout.splitlines()
    summaries = [line for line in lines if line.startswith(SUMMARY_PREFIXES)]
    if result.returncode:
        summaries += lines[-40:] + result.stderr.splitlines()[-20:]
    return result.returncode == 0, elapsed, summaries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rate", type=int, default=20_000)
    parser.add_argument("--tests", nargs="+", choices=sorted(TESTS), default=["crash", "outage"])
    args = parser.parse_args()
    if args.messages < 1_000 or args.rate < 1:
        parser.error("--messages must be at least 1 000 and --rate positive")
    print(f"load averages at the start: {load_averages()}")
    print("| test | messages | verdict | wall s | load averages after |")
    print("|---|---:|---|---:|---|")
    details = []
    for name in args.tests:
        passed, elapsed, summaries = run(name, args.messages, args.rate)
        verdict = "passed" if passed else "FAILED"
        print(f"| {name} | {args.messages:,} | {verdict} | {elapsed:.0f} | {load_averages()} |")
        details += summaries
    print()
    for line in details:
        print(line)


if __name__ == "__main__":
    main()
