"""When jobs may expire: FIFO lanes of (deadline, job id), swept by one clock timer.

Deadlines made with the same length of time (the endpoint's TTL, the /run retention, ...) arrive
in order, so each length gets a FIFO lane and the sweep only looks at lane heads: O(1) per job, no
heap to re-balance or compact. The rare deadline that breaks its lane's order (a retried job's
original TTL) goes to a small heap. Entries of jobs that left the store earlier (evicted by the
cap) are dropped from lane heads as new entries arrive, so lanes stay about as long as the store.
Lanes hold ids, not jobs: tuples of atoms are untracked by the cycle collector.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Hashable

from emulator.clock import Clock, Timer

SWEEP_MIN_INTERVAL_S = 0.5  # after a sweep, the next is at least this far away (batches expiries)


class Deadlines:
    def __init__(self, clock: Clock, *, alive: Callable[[str], bool], due: Callable[[str], None]) -> None:
        self.clock = clock
        self.alive = alive
        """False once the job left the store: its entries are stale."""
        self.due = due
        """Called with a job id whose entry came due; the store re-checks the job's own deadline."""
        self._lanes: dict[Hashable, deque[tuple[float, str]]] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._timer: Timer | None = None
        self._timer_at = float("inf")

    def add(self, lane_key: Hashable, deadline: float, job_id: str, *, store_size: int) -> None:
        lane = self._lanes.get(lane_key)
        if lane is None:
            lane = self._lanes[lane_key] = deque()
        if lane and deadline < lane[-1][0]:
            heapq.heappush(self._heap, (deadline, next(self._seq), job_id))
        else:
            alive = self.alive
            # Drop up to two stale heads per entry added, so lanes stay about as long as the store.
            if lane and not alive(lane[0][1]):
                lane.popleft()
                if lane and not alive(lane[0][1]):
                    lane.popleft()
            if len(lane) > 4 * store_size + 4096:
                # A long-lived job at the head blocks the cheap clean-up above: filter once.
                self._lanes[lane_key] = lane = deque(e for e in lane if alive(e[1]))
            lane.append((deadline, job_id))
        if deadline < self._timer_at:
            self._arm(deadline)

    def __len__(self) -> int:
        return sum(len(lane) for lane in self._lanes.values()) + len(self._heap)

    def clear(self) -> None:
        self._lanes.clear()
        self._heap.clear()
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = None, float("inf")

    def _arm(self, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        self._timer = self.clock.call_later(at - self.clock.now(), self._sweep)

    def _sweep(self) -> None:
        self._timer, self._timer_at = None, float("inf")
        now = self.clock.now()
        for key, lane in list(self._lanes.items()):
            while lane and lane[0][0] <= now:
                self.due(lane.popleft()[1])
            if not lane:
                del self._lanes[key]
        while self._heap and self._heap[0][0] <= now:
            self.due(heapq.heappop(self._heap)[2])
        heads = [lane[0][0] for lane in self._lanes.values()]
        if self._heap:
            heads.append(self._heap[0][0])
        if heads:
            self._arm(max(min(heads), now + SWEEP_MIN_INTERVAL_S))
