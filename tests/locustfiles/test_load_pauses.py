"""A generator process freezes what is alive when the run starts and collects garbage rarely."""

from __future__ import annotations

import gc

from locustfiles._pauses import quiet_collector


def test_a_run_start_freezes_the_heap_and_makes_collections_rare() -> None:
    before = gc.get_threshold()
    try:
        quiet_collector()
        assert gc.get_freeze_count() > 1000  # the modules and objects alive now are never scanned again
        young, _middle, full = gc.get_threshold()
        assert young >= 100 * before[0] and full >= 10 * before[2]
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
