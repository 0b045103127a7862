"""Keeps Python's cyclic garbage collector off the flow's hot path.

The intake and the dataflow allocate a few tuples for every message, hardly any of them part
of a cycle; with Python's thresholds (700, 10, 10) the collector ran every few hundred
messages and, every hundred runs, walked every object the process holds (chdb, pipelines,
modules): 10-15 % of the dataflow's time in a 200 000-message drain (bench/RESULTS.md).
"""

import gc

THRESHOLDS = (50_000, 20, 20)


def settle_garbage_collector() -> None:
    """What is loaded by now lives as long as the process: collect once, move it out of the
    collector's sight, and let young collections run less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
