"""Processes sharing a data directory (a flow cluster, `pepeunit up`) create the generated
secrets at the same moment: each must get the same complete keys, none an error. (A flow process
that failed here died inside a bytewax worker, seen only as `MergeQueue poisoned`.)"""

import multiprocessing
import time
from multiprocessing.synchronize import Barrier
from pathlib import Path

from pepeunit_core.settings import load_or_create_secrets

PROCESSES = 4
ROUNDS = 60
TICKS_PER_S = 100


def create_in_step(base: Path, barrier: Barrier, results: "multiprocessing.Queue") -> None:
    outcomes = []
    for round_number in range(ROUNDS):
        barrier.wait()
        # the barrier wakes processes one after another; the same clock tick starts them at once
        start = (int(time.time() * TICKS_PER_S) + 2) / TICKS_PER_S
        while time.time() < start:
            pass
        try:
            outcomes.append(load_or_create_secrets(base / str(round_number)))
        except Exception as error:  # reported to the test
            outcomes.append(f"{type(error).__name__}: {error}")
    results.put(outcomes)


def test_processes_creating_the_secrets_at_once_all_get_the_same_keys(tmp_path):
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    processes = [
        context.Process(target=create_in_step, args=(tmp_path, barrier, results))
        for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=10)
    errors = [outcome for each in outcomes for outcome in each if isinstance(outcome, str)]
    assert errors == []
    for round_number in range(ROUNDS):
        assert all(each[round_number] == outcomes[0][round_number] for each in outcomes)
    assert not [path for path in tmp_path.rglob(".secrets-*")]  # no drafts left behind
