"""An endpoint with `llm = {...}`: generation requests are played token by token on the emulator's clock.

Each worker is one continuous batch of up to `max_concurrency` sequences (the pool's slots per worker);
a token's delay is computed from the batch size when it is scheduled, so a sequence slows down as
others join its worker and speeds up as they leave (`worker.llm` holds the formulas). Jobs that are
not generation requests run as the worker contract says, each holding one slot of the batch.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emulator.backends.simulated import SimulatedBackend
from emulator.models import Job, JobStatus
from worker.llm import (
    LlmError,
    LlmModel,
    LlmRequest,
    final_output,
    models_answer,
    output_length,
    parse_request,
    stream_chunk,
    stream_end,
    token_text,
)

if TYPE_CHECKING:
    from emulator.workers import Pool, SimWorker


@dataclass(slots=True)
class Sequence:
    job: Job
    worker: SimWorker
    request: LlmRequest
    run_token: int
    length: int
    due: float = 0.0
    """When the next token is due on the clock: each delay counts from the last token's due time,
    not from when its timer fired, so a busy event loop makes tokens late but never slower."""
    texts: list[str] = field(default_factory=list)


BATCH_EVENTS_KEPT = 200_000
TOKENS_KEPT = 2_000_000


class Columns:
    """A table kept newest-last, at most `keep` rows, as one deque per column: a row is a few
    numbers and strings, none of which the garbage collector tracks, where a tuple per row would be
    tracked: with a token recorded 5,000 times a second, young collections walked some 60k such
    tuples and paused the emulator for 30-70 ms (docs/performance-notes.md, token timing)."""

    def __init__(self, names: tuple[str, ...], keep: int) -> None:
        self.names = names
        self.columns: tuple[deque[Any], ...] = tuple(deque(maxlen=keep) for _ in names)

    def append(self, *row: Any) -> None:
        for column, value in zip(self.columns, row, strict=True):
            column.append(value)

    def rows(self) -> list[list[Any]]:
        return [list(row) for row in zip(*self.columns, strict=True)]

    def __len__(self) -> int:
        return len(self.columns[0])


class LlmBackend(SimulatedBackend):
    kind = "llm"

    def __init__(self, pool: Pool, model: LlmModel) -> None:
        super().__init__(pool)
        self.model = model
        self.batches = Columns(("t", "worker", "batch"), BATCH_EVENTS_KEPT)
        """(clock time, worker id, sequences it holds) each time a worker's batch changes, newest kept."""
        self.token_schedule: Columns | None = None
        """A debug switch of the control API (off: None): (job id, token index, due time, time the
        token was emitted) for every token, newest kept, so a client's receive times can be
        compared with the schedule (bench/llm_streams.py)."""

    def record_tokens(self, on: bool) -> None:
        self.token_schedule = Columns(("job", "index", "due", "emitted"), TOKENS_KEPT) if on else None

    def note_batch(self, worker: SimWorker) -> None:
        self.batches.append(self.pool.clock.now(), worker.id, len(worker.jobs))

    def stopped(self, worker: SimWorker, job: Job) -> None:
        self.note_batch(worker)
        super().stopped(worker, job)

    def timed_out(self, worker: SimWorker | None, job: Job) -> None:
        if worker is not None:
            self.note_batch(worker)

    def reconfigure(self) -> None:
        llm = self.pool.jobs.config.llm
        if llm is not None:
            self.model = llm

    def execute(self, worker: SimWorker, job: Job) -> None:
        try:
            request = parse_request(job.input, self.model.model)
        except LlmError as exc:
            self.pool.end(job, JobStatus.FAILED, error=str(exc))
            return
        if request is None:
            if _asks_for_models(job.input):
                self.pool.end(job, JobStatus.COMPLETED, output=models_answer(self.model.model))
            else:
                super().execute(worker, job)
            return
        length = output_length(request, self.model, self.pool.rng)
        sequence = Sequence(job, worker, request, job.run_token, length)
        self.note_batch(worker)
        sequence.due = self.pool.clock.now()
        self._after(sequence, self.model.first_token_s(len(worker.jobs), request.prompt_tokens))

    def _after(self, sequence: Sequence, delay: float) -> None:
        job, pool = sequence.job, self.pool
        sequence.due += delay
        now = pool.clock.now()
        started = job.started or 0.0
        if sequence.due - started > job.execution_timeout_s:
            token = sequence.run_token
            pool.defer(job, started + job.execution_timeout_s - now, lambda: pool.timeout(job, token))
            return
        # half a timer tick early: a token is due at its time, so its error is centred on it
        pool.defer(job, sequence.due - now - pool.clock.timer_tick_s / 2, lambda: self._emit(sequence))

    def _emit(self, sequence: Sequence) -> None:
        job, pool = sequence.job, self.pool
        if job.run_token != sequence.run_token or job.status is not JobStatus.IN_PROGRESS:
            return
        index = len(sequence.texts)
        if self.token_schedule is not None:
            self.token_schedule.append(job.id, index, sequence.due, pool.clock.now())
        text = token_text(job.id, index)
        sequence.texts.append(text)
        last = index + 1 == sequence.length
        if sequence.request.stream:
            pool.jobs.push_chunk(job, stream_chunk(sequence.request, job.id, index, text, last))
        if not last:
            self._after(sequence, self.model.token_interval_s(len(sequence.worker.jobs)))
            return
        for event in stream_end(sequence.request, job.id, sequence.length):
            pool.jobs.push_chunk(job, event)
        pool.end(job, JobStatus.COMPLETED, output=final_output(sequence.request, job.id, sequence.texts))
        self.note_batch(sequence.worker)


def _asks_for_models(job_input: Any) -> bool:
    return isinstance(job_input, dict) and str(job_input.get("openai_route", "")).endswith("/models")
