"""Deadlines: FIFO lanes per length of time, a heap for out-of-order entries, stale heads dropped."""

from __future__ import annotations

from emulator.clock import ManualClock
from emulator.expiry import Deadlines


def make(alive_ids):
    clock = ManualClock(start=0.0)
    fired: list[str] = []
    return clock, fired, Deadlines(clock, alive=alive_ids.__contains__, due=fired.append)


def test_entries_fire_in_deadline_order_across_lanes_and_the_heap():
    alive = {"a", "b", "c", "d"}
    clock, fired, deadlines = make(alive)
    deadlines.add(("ttl", 10.0), 10.0, "a", store_size=4)
    deadlines.add(("kept", 2.0), 3.0, "b", store_size=4)
    deadlines.add(("ttl", 10.0), 5.0, "c", store_size=4)  # out of its lane's order: goes to the heap
    deadlines.add(("kept", 2.0), 4.0, "d", store_size=4)
    clock.advance(3.0)
    assert fired == ["b"]
    clock.advance(2.0)
    assert sorted(fired) == ["b", "c", "d"]
    clock.advance(5.0)
    assert fired[-1] == "a" and len(deadlines) == 0


def test_stale_heads_are_dropped_as_entries_arrive():
    alive: set[str] = set()
    clock, fired, deadlines = make(alive)
    for i in range(100):
        alive.add(f"j{i}")
        deadlines.add(("ttl", 60.0), 60.0 + i, f"j{i}", store_size=len(alive))
        if i >= 10:
            alive.discard(f"j{i - 10}")  # evicted by the store cap
    assert len(deadlines) <= 12
    clock.advance(1000)
    assert all(job_id in fired for job_id in alive)
