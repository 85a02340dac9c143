"""Play arrivals through one emulated endpoint on a manual clock: no sockets, no real waiting.

The endpoint is the emulator's own (`emulator.runtime.Endpoint`: the store's queue, the worker
pool, its scaler, cold starts and idle timeouts), built on a `ManualClock` that starts at 0. Each
arrival moves the clock to its time (timers due before it run first, in order) and is submitted
as `/run` or `/runsync` would submit it. After the last arrival the clock runs on until every job
is final. A watcher on each job (the same hook a `/runsync` long-poll uses) records when it ended;
the client model turns that into the end-to-end time a polling client would have measured.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from emulator.clock import ManualClock
from emulator.config import EndpointConfig
from emulator.errors import RateLimited
from emulator.models import FINAL, Job, JobStatus
from emulator.runtime import Endpoint
from emulator.simulation.client import SOURCE_OF_FLOW, ClientModel, Follower, StreamFollower
from emulator.simulation.ledger import Ledger, Totals
from emulator.webhooks import Webhooks
from emulator.worker_processes.host import WorkerHost

Arrival = tuple[float, Any, str]
"""(seconds from the start, the job's input or None, the flow: run_poll | runsync_fallback)."""
DRAIN_STEP_S = 1.0
TIMELINE_ROWS = 2000
PROGRESS_EVERY = 8192
"""Arrivals between two calls of the `progress` hook (its simulated time)."""


@dataclass
class Outcome:
    """What one setting did with the arrivals (times in seconds)."""

    jobs: int = 0
    completed: int = 0
    failed: int = 0
    unfinished: int = 0
    """Refused (store full), expired in the queue, or given up on by the client's job timeout."""
    polls: int = 0
    end_to_end_s: list[float] = field(default_factory=list)
    delay_s: list[float] = field(default_factory=list)
    ttft_s: list[float] = field(default_factory=list)
    """Generation requests only: when each completed one's first token reached its client."""
    window_s: float = 0.0
    """From the start to the later of the trace's end and the last job's end."""
    totals: Totals = field(default_factory=Totals)


class _Recorder:
    """Watches jobs until they are final; one closure per job, dropped when it fires."""

    def __init__(self, outcome: Outcome, endpoint: Endpoint, ledger: Ledger) -> None:
        self.outcome = outcome
        self.jobs = endpoint.jobs
        self.clock = endpoint.pool.clock
        self.ledger = ledger
        self.end_after: float | None = None
        """Set once the arrivals are over: the ledger stops counting when the last job ends."""

    def follow(self, job: Job, follower: Follower | StreamFollower) -> None:
        outcome = self.outcome
        stream = follower if isinstance(follower, StreamFollower) else None
        first_token: list[float] = []  # a stream's first chunk, seen as the job's watchers wake

        def changed() -> None:
            if stream is not None and not first_token and job.chunks:
                first_token.append(self.clock.now())
            if job.status not in FINAL:
                job.watch(changed)  # IN_PROGRESS now (or deleted while queued: never final)
                return
            started, finished = job.started, job.finished
            if self.end_after is not None and not (self.jobs.queued or self.jobs.in_progress):
                self.ledger.until = max(self.end_after, finished or 0.0)
            if finished is None or started is None:
                outcome.unfinished += 1  # cancelled in the queue (not done by the simulation)
                return
            seen = follower.seen(job.created, finished)
            if seen is None:
                outcome.unfinished += 1
                return
            if job.status is JobStatus.COMPLETED:
                outcome.completed += 1
            else:
                outcome.failed += 1
            outcome.end_to_end_s.append(seen[0])
            if stream is not None and job.status is JobStatus.COMPLETED:
                # a JSON answer (no chunks) has its first token with the last, as vLLM counts it
                at = first_token[0] if first_token else finished
                outcome.ttft_s.append(stream.first_token(job.created, at))
            outcome.polls += seen[1]
            outcome.delay_s.append(started - job.created)

        job.watch(changed)


def simulate(
    config: EndpointConfig,
    arrivals: Iterable[Arrival],
    client: ClientModel,
    *,
    inputs: Mapping[str, Any],
    duration_s: float,
    seed: int = 0,
    round_s: float = 1.0,
    progress: Callable[[float], None] | None = None,
) -> Outcome:
    """Run the arrivals (sorted by time) against `config`; `inputs` gives each flow's input for
    arrivals that carry none; `duration_s` is the trace's length (the timeline's span)."""
    clock = ManualClock(start=0.0, wall_start=0.0)
    endpoint = Endpoint(config, clock, seed, Webhooks(clock), WorkerHost())
    jobs = endpoint.jobs
    bucket_s = max(1.0, math.ceil(duration_s / TIMELINE_ROWS))
    ledger = Ledger(
        endpoint.pool, jobs, workers_min=config.workers_min, start=0.0, bucket_s=bucket_s, round_s=round_s
    )
    clock.on_time_passes = ledger.time_passes
    outcome = Outcome()
    recorder = _Recorder(outcome, endpoint, ledger)
    followers = {flow: client.follower(flow) for flow in SOURCE_OF_FLOW}
    submit = jobs.submit
    for t, job_input, flow in arrivals:
        now = clock.now()
        if t > now:
            clock.advance(t - now)
        outcome.jobs += 1
        if progress is not None and outcome.jobs % PROGRESS_EVERY == 0:
            progress(t)
        source = SOURCE_OF_FLOW[flow]
        if client.streams and isinstance(job_input, dict) and "openai_route" in job_input:
            source = "openai"
        try:
            job = submit(inputs.get(flow) if job_input is None else job_input, source=source)
        except RateLimited:
            outcome.unfinished += 1
            continue
        recorder.follow(job, followers[flow])
    if clock.now() < duration_s:
        clock.advance(duration_s - clock.now())
    recorder.end_after = duration_s
    _drain(clock, endpoint, config)
    outcome.window_s = min(clock.now(), ledger.until)
    outcome.totals = ledger.close(outcome.window_s)
    return outcome


def _drain(clock: ManualClock, endpoint: Endpoint, config: EndpointConfig) -> None:
    """Run the clock on until no job is queued or running; a job that can never run (no worker
    allowed) leaves the store when its TTL ends, so this ends too."""
    jobs = endpoint.jobs
    limit = clock.now() + config.ttl_s + config.execution_timeout_s + DRAIN_STEP_S
    while (jobs.queued or jobs.in_progress) and clock.now() < limit:
        clock.advance(DRAIN_STEP_S)
