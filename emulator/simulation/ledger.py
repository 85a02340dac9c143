"""Worker-seconds, queue depth and worker lifetimes, integrated exactly over simulated time.

The manual clock tells the ledger each time it moves on (`ManualClock.on_time_passes`); between
two moves nothing changes, so the state read then held over the whole span. That is the /health
timeline with no sampling gaps. The pool's workers are read as the emulator keeps them (each with
an id and a state); a worker seen for the first time after the start is a scale-up, and one that
is gone ended its billed life.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

STATES = ("running", "idle", "initializing")
TIMELINE_COLUMNS = ("t", "in_queue_max", "in_queue_mean", "running", "idle", "initializing")


class WorkerView(Protocol):
    id: str
    state: str


class QueueView(Protocol):
    queued: int


class PoolView(Protocol):
    @property
    def workers(self) -> Sequence[WorkerView]: ...


@dataclass
class Totals:
    running: float = 0.0
    idle: float = 0.0
    initializing: float = 0.0
    above_min: float = 0.0
    """Seconds of workers beyond `workers_min` (the flex workers a bill counts)."""
    round_up: float = 0.0
    """What rounding each scale-up worker's life up to whole `round_s` seconds adds."""
    scale_ups: int = 0
    max_in_queue: int = 0
    timeline: list[list[float]] = field(default_factory=list)

    @property
    def total(self) -> float:
        return self.running + self.idle + self.initializing


class Ledger:
    def __init__(
        self,
        pool: PoolView,
        queue: QueueView,
        *,
        workers_min: int,
        start: float,
        bucket_s: float,
        round_s: float = 1.0,
    ) -> None:
        self.pool = pool
        self.queue = queue
        self.workers_min = workers_min
        self.start = start
        self.bucket_s = bucket_s
        self.round_s = round_s
        self.until = math.inf
        """Spans after this time are not counted (set once the last job has ended)."""
        self.totals = Totals()
        self._born: dict[str, float] = {w.id: start for w in pool.workers}
        self._first = frozenset(self._born)
        # the bucket being filled: its index and time-weighted sums of queue and worker states
        self._bucket = 0
        self._sums = [0.0, 0.0, 0.0, 0.0]
        self._queue_max = 0

    def time_passes(self, begin: float, end: float) -> None:
        if end > self.until:
            end = self.until
            if end <= begin:
                return
        running = idle = initializing = 0
        born = self._born
        workers = self.pool.workers
        for worker in workers:
            state = worker.state
            if state == "running":
                running += 1
            elif state == "idle":
                idle += 1
            elif state == "initializing":
                initializing += 1
            if worker.id not in born:
                born[worker.id] = begin
                self.totals.scale_ups += 1
        if len(born) > len(workers):
            self._retire(begin)
        span = end - begin
        t = self.totals
        t.running += running * span
        t.idle += idle * span
        t.initializing += initializing * span
        live = running + idle + initializing
        if live > self.workers_min:
            t.above_min += (live - self.workers_min) * span
        queued = self.queue.queued
        if queued > self._queue_max:
            self._queue_max = queued
        self._fill(begin, end, queued, running, idle, initializing)

    def _retire(self, now: float) -> None:
        alive = {w.id for w in self.pool.workers}
        for worker_id in [i for i in self._born if i not in alive]:
            self._end_life(worker_id, now)

    def _end_life(self, worker_id: str, now: float) -> None:
        born = self._born.pop(worker_id)
        if worker_id in self._first or self.round_s <= 0:
            return
        lived = now - born
        self.totals.round_up += math.ceil(lived / self.round_s - 1e-9) * self.round_s - lived

    def _fill(self, begin: float, end: float, queued: int, running: int, idle: int, init: int) -> None:
        width = self.bucket_s
        while True:
            edge = self.start + (self._bucket + 1) * width
            upto = min(end, edge)
            span = upto - begin
            sums = self._sums
            sums[0] += queued * span
            sums[1] += running * span
            sums[2] += idle * span
            sums[3] += init * span
            if end < edge:
                return
            self._close_bucket()
            begin = upto
            if begin >= end:
                return

    def _close_bucket(self) -> None:
        width = self.bucket_s
        s = self._sums
        self.totals.max_in_queue = max(self.totals.max_in_queue, self._queue_max)
        self.totals.timeline.append(
            [
                round(self._bucket * width, 3),
                self._queue_max,
                round(s[0] / width, 3),
                round(s[1] / width, 3),
                round(s[2] / width, 3),
                round(s[3] / width, 3),
            ]
        )
        self._bucket += 1
        self._sums = [0.0, 0.0, 0.0, 0.0]
        self._queue_max = self.queue.queued

    def close(self, now: float) -> Totals:
        """End of the simulation: the last bucket (as far as it got) and every worker still alive."""
        covered = now - (self.start + self._bucket * self.bucket_s)
        if covered > 0:
            s = self._sums
            self.totals.max_in_queue = max(self.totals.max_in_queue, self._queue_max)
            self.totals.timeline.append(
                [round(self._bucket * self.bucket_s, 3), self._queue_max] + [round(v / covered, 3) for v in s]
            )
        for worker_id in list(self._born):
            self._end_life(worker_id, now)
        return self.totals
