"""Fewer garbage-collection pauses in a generator process: a pause is latency the endpoint never caused.

A Locust process holds Locust, gevent and podbench (some 80k objects) and, in a run, its users and
their requests. Python's full collections walk them all (50-70 ms here), and at the default young
threshold (700) a young pass runs many times a second with hundreds of open streams; a request
timed across a pause carries it. Once the run starts, what is alive then is frozen (never scanned
again) and young passes wait for 100k new objects: in bench/llm_streams.py (500 streams, 20 s) the
generator went from about 230 collections (50-90 of them over 2 ms, longest 54-69 ms, 0.35-0.45 s
in all) to 1 (16-31 ms). Reading late has other causes too (the same tokens stamped at read time
stay at p99 3.3-4.6 ms), which is why token events carry the kernel's receive stamp (`_arrival.py`)."""

from __future__ import annotations

import gc

YOUNG_COLLECTION_EVERY = 100_000
"""Net new container objects between two young collections (Python's default: 700)."""
FULL_COLLECTION_EVERY = 1000
"""Young-to-old passes between two full collections (Python's default: 10)."""


def quiet_collector() -> None:
    """Freeze what is alive now and make collections rare; called as a run starts, in every process."""
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, 10, FULL_COLLECTION_EVERY)
