"""Throughput of the pure pipeline engine (no I/O): messages/s through active period, filters,
transformations and each policy, over 10 000 nodes.

Run: .venv/bin/python bench/engine_bench.py [--messages N] [--nodes N]
Prints a Markdown table; bench/RESULTS.md records the figures with the machine they came from.
"""

import argparse
import platform
import random
import resource
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.engine import NodeMemory, Pipeline
from pipelines.validation import validate_config

START = datetime(2026, 1, 1, tzinfo=UTC)

FILTERS_NUMBER: dict[str, Any] = {
    "type_input_value": "Number",
    "type_value_filtering": "BlackList",
    "filtering_values": [-127, 85],
    "type_value_threshold": "Range",
    "threshold_min": -1000,
    "threshold_max": 1000,
    "max_rate": 0,
    "last_unique_check": True,
    "max_size": 32,
}
FILTERS_TEXT: dict[str, Any] = {
    "type_input_value": "Text",
    "type_value_filtering": "BlackList",
    "filtering_values": ["error", "fault"],
    "max_rate": 0,
    "last_unique_check": True,
    "max_size": 64,
}
SCENARIOS: dict[str, dict[str, Any]] = {
    "LastValue (Text, slice)": {
        "filters": FILTERS_TEXT,
        "transformations": {"slice_start": 0, "slice_end": 16},
        "processing_policy": {"policy_type": "LastValue"},
    },
    "NRecords (Number)": {
        "filters": FILTERS_NUMBER,
        "processing_policy": {"policy_type": "NRecords", "n_records_count": 100},
    },
    "TimeWindow (Number, round)": {
        "filters": FILTERS_NUMBER,
        "transformations": {"round_decimal_point": 1},
        "processing_policy": {"policy_type": "TimeWindow", "time_window_size": 60},
    },
    "Aggregation (Number, x0.0625, round 2, Avg 60 s)": {
        "filters": FILTERS_NUMBER,
        "transformations": {"multiplication_ratio": 0.0625, "round_decimal_point": 2},
        "processing_policy": {
            "policy_type": "Aggregation",
            "time_window_size": 60,
            "aggregation_functions": "Avg",
        },
    },
}


def build_pipeline(node: str, scenario: dict[str, Any]) -> Pipeline:
    config, issues = validate_config({"active_period": {"type": "Permanent"}, **scenario})
    assert config is not None, issues
    return Pipeline(node, config)


def make_messages(count: int, nodes: int, text: bool, seed: int) -> list[tuple[int, str]]:
    """(node index, payload) pairs, nodes and payloads drawn at random (fixed seed)."""
    rng = random.Random(seed)
    words = ["open", "closed", "idle", "running", "error", "heating", "cooling"]
    messages = []
    for _ in range(count):
        node = rng.randrange(nodes)
        if text:
            payload = f"{rng.choice(words)}-{rng.randrange(100)}"
        else:
            payload = str(rng.randrange(-200, 1200))
        messages.append((node, payload))
    return messages


def run(pipelines: list[Pipeline], messages: list[tuple[int, str]]) -> tuple[float, int, int]:
    """Returns (seconds, accepted, rows) for one pass; the clock advances 1 ms per message."""
    memories = [NodeMemory() for _ in pipelines]
    step = timedelta(milliseconds=1)
    now = START
    accepted = rows = 0
    began = time.perf_counter()
    for node, payload in messages:
        now += step
        result = pipelines[node].process(memories[node], payload, now)
        accepted += result.rejection is None
        rows += len(result.rows)
    for pipeline, memory in zip(pipelines, memories, strict=True):
        rows += len(pipeline.close_due_windows(memory, now + timedelta(days=1)))
    return time.perf_counter() - began, accepted, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=500_000)
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N passes")
    args = parser.parse_args()
    nodes = [f"00000000-0000-4000-8000-{i:012d}" for i in range(args.nodes)]

    print(f"python {platform.python_version()}, {platform.machine()}, "
          f"{args.messages} messages over {args.nodes} nodes, best of {args.repeat}")  # fmt: skip
    print()
    print("| pipeline | msg/s | accepted | rows written |")
    print("|---|---:|---:|---:|")
    names = list(SCENARIOS)
    for name in [*names, "mix (each node one of the four)"]:
        if name in SCENARIOS:
            pipelines = [build_pipeline(node, SCENARIOS[name]) for node in nodes]
            text = SCENARIOS[name]["filters"]["type_input_value"] == "Text"
            messages = make_messages(args.messages, args.nodes, text, seed=1)
        else:
            pipelines = [
                build_pipeline(node, SCENARIOS[names[i % len(names)]])
                for i, node in enumerate(nodes)
            ]
            messages = make_messages(args.messages, args.nodes, False, seed=2)
        best = min(run(pipelines, messages) for _ in range(args.repeat))
        seconds, accepted, rows = best
        rate, share = args.messages / seconds, accepted / args.messages
        print(f"| {name} | {rate:,.0f} | {share:.1%} | {rows:,} |")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(f"peak RSS {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
