"""The step runner: offers a rising job rate (Poisson arrivals, open model) and holds each step
until the jobs-in-system count is stable or clearly growing, bounded by `max_hold_s`.

Why not Locust: the ramp is adaptive (each step's length and the next rate depend on what the
queue did), and each job is one long-held request; a small asyncio loop on aiohttp does both with
no gevent in the process. One job = `POST /runsync` (or `/run`), then `GET /status/{id}` until final;
in an LLM sweep, one streamed chat completion on the OpenAI route (`llm_job.py`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from capacity.llm_job import chat_body, stream_chat
from capacity.ramp import Ramp
from capacity.slo import Slo
from capacity.steps import HealthSample, JobRecord, StepWindow, summarize
from capacity.trend import classify, counting_stderr
from contract.polling import age_paced
from contract.states import is_final

IN_SYSTEM_SAMPLE_S = 0.1
CHECK_EVERY_S = 0.5
MAX_DRAIN_S = 60.0
MAX_POLL_INTERVAL_S = 1.0
REQUEST_TIMEOUT_S = 120.0
Progress = Callable[[str], None]


@dataclass
class RunData:
    windows: list[StepWindow] = field(default_factory=list)
    jobs: list[JobRecord] = field(default_factory=list)
    in_system: list[tuple[float, float]] = field(default_factory=list)
    health: list[HealthSample] = field(default_factory=list)
    health_errors: int = 0
    requests: int = 0
    ended_t: float = 0.0
    interrupted: bool = False


class StepRunner:
    def __init__(
        self,
        base_url: str,
        endpoint_id: str,
        api_key: str,
        ramp: Ramp,
        slo: Slo,
        progress: Progress | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.root = f"{base_url.rstrip('/')}/{endpoint_id}"
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.ramp = ramp
        self.slo = slo
        self.progress = progress or (lambda _line: None)
        self._clock = clock
        self._t0 = clock()
        self._rng = random.Random(ramp.seed)
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.data = RunData()

    def now(self) -> float:
        return self._clock() - self._t0

    async def run(self) -> RunData:
        """The whole ramp, refinement and drain; always returns what was measured so far."""
        connector = aiohttp.TCPConnector(limit=self.ramp.max_in_flight + 8)
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, headers=self.headers
        ) as session:
            send_each_request_once(session)
            self._session = session
            self._t0 = self._clock()
            sampler = asyncio.create_task(self._sample())
            try:
                await self._ramp()
                await self._drain(self.ramp.drain_s)
            except asyncio.CancelledError:
                self.data.interrupted = True
                raise
            finally:
                self.data.ended_t = self.now()
                sampler.cancel()
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(sampler, *self._tasks, return_exceptions=True)
        return self.data

    async def _ramp(self) -> None:
        """Rising steps until one fails, then the saturation step (it measures the throughput of
        always-busy workers, which caps the knee), then bisection below the failing rate."""
        passed: list[float] = []
        failing: float | None = None
        for rate in self.ramp.rates():
            if await self._step(rate, kind="ramp"):
                passed.append(rate)
            else:
                failing = rate
                break
        if failing is None:
            return
        if self.ramp.saturation_hold_s > 0:
            await self._drain_backlog()
            overload = max(failing, self._capacity_estimate()) * self.ramp.saturation_factor
            await self._step(round(overload, 2), kind="saturation")
            window = self.data.windows[-1]
            if window.verdict == "growing" and self._last_summary.achieved_rps > 0:
                ceiling = self._last_summary.achieved_rps  # above it no rate is sustainable
                failing = min(failing, ceiling)
                passed = [r for r in passed if r < ceiling]
        passing = max(passed, default=0.0)
        for _ in range(self.ramp.refine_steps):
            rate = round((passing + failing) / 2, 2)
            if rate <= 0 or failing - passing < 0.02 * failing:
                break
            await self._drain_backlog()  # a failed step leaves a backlog behind
            if await self._step(rate, kind="refine"):
                passing = rate
            else:
                failing = rate

    async def _drain_backlog(self) -> None:
        """Wait for the backlog to clear: long enough at the estimated capacity, at least drain_s."""
        capacity = self._capacity_estimate()
        needed = 1.5 * self._in_flight / capacity if capacity > 0 else 0.0
        await self._drain(min(MAX_DRAIN_S, max(self.ramp.drain_s, needed)))

    def _capacity_estimate(self) -> float:
        """c / E[S] from what was seen so far, so the saturation step overloads even when the
        first failing step failed on latency (or by chance) below the capacity."""
        workers = max((h.workers for h in self.data.health), default=0)
        executions = [j.execution_ms for j in self.data.jobs if j.execution_ms]
        if not workers or not executions:
            return 0.0
        return workers / (sum(executions) / len(executions) / 1000)

    async def _step(self, rate: float, *, kind: str) -> bool:
        """Run one step; True when it met the SLO with a queue that did not grow."""
        window = StepWindow(len(self.data.windows), rate, self.now(), kind=kind)
        self.data.windows.append(window)
        next_send = window.start_t
        fixed = kind == "saturation"
        hold = self.ramp.saturation_hold_s if fixed else self.ramp.max_hold_s
        check_at = window.start_t + (hold if fixed else self.ramp.min_hold_s)
        deadline = window.start_t + hold
        while True:
            now = self.now()
            if now >= next_send:
                self._submit(window.index)
                next_send += self._rng.expovariate(rate) if self.ramp.arrivals == "poisson" else 1 / rate
                continue
            if now >= check_at:
                verdict = self._trend(window, now, final=now >= deadline)
                if verdict != "undecided":
                    window.verdict = verdict
                    window.ended_by = "max_hold" if now >= deadline else verdict
                    break
                check_at = min(deadline, check_at + CHECK_EVERY_S)
            await asyncio.sleep(max(0.0, min(next_send, check_at) - self.now()))
        window.end_t = self.now()
        ok = self._online_verdict(window)
        self.progress(self._describe(window, ok))
        return ok

    def _trend(self, window: StepWindow, now: float, *, final: bool) -> str:
        since = window.start_t + min(1.0, 0.25 * (now - window.start_t))
        points = [(t, v) for t, v in self.data.in_system if t >= since]
        events = sum(1 for j in self.data.jobs if j.submitted_t >= since)
        events += sum(1 for j in self.data.jobs if j.done_t is not None and j.done_t >= since)
        return classify(
            points, window.offered_rps, final=final, floor_stderr=counting_stderr(events, now - since)
        ).verdict

    def _online_verdict(self, window: StepWindow) -> bool:
        """Judge only jobs old enough to have reached the SLO time: finished, or late by now."""
        horizon = window.end_t - self.slo.limit_ms / 1000
        if not any(j.step == window.index and j.submitted_t <= horizon for j in self.data.jobs):
            horizon = window.end_t
        data = self.data
        summary = summarize(
            window, data.jobs, data.in_system, data.health, self.slo, window.end_t, latency_before=horizon
        )
        self._last_summary = summary
        return summary.sustainable

    def _describe(self, window: StepWindow, ok: bool) -> str:
        s = self._last_summary
        slo_value = s.latency_ms.get(self.slo.key)
        latency = "n/a" if slo_value is None else f"{slo_value:.0f} ms"
        if s.llm is not None:
            share, ttft = s.llm.get("good_share"), s.llm.get("ttft_p95_ms")
            latency = (
                f"{'n/a' if ttft is None else f'{ttft:.0f} ms'}, goodput {s.llm['goodput_rps'] or 0:.2f} req/s "
                f"({'n/a' if share is None else f'{100 * share:.0f} %'} good)"
            )
        return (
            f"step {window.index + 1}{'' if window.kind == 'ramp' else f' ({window.kind})'}: "
            f"{window.offered_rps:g} jobs/s offered, "
            f"{s.achieved_rps:.1f} completed/s, {'ttft_p95' if s.llm is not None else self.slo.key} {latency}, queue {window.verdict} after "
            f"{window.end_t - window.start_t:.1f} s, {self.data.requests} requests so far → {'pass' if ok else 'FAIL'}"
        )

    def _submit(self, step: int) -> None:
        record = JobRecord(step=step, submitted_t=self.now())
        self.data.jobs.append(record)
        if self._in_flight >= self.ramp.max_in_flight:
            record.status = "NOT_SENT"  # the client's own bound: counted, never silently absorbed
            return
        self._in_flight += 1
        task = asyncio.create_task(self._job(record))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _job(self, record: JobRecord) -> None:
        try:
            if self.ramp.is_llm:
                self.data.requests += 1
                url = f"{self.root}/openai/v1/chat/completions"
                await stream_chat(self._session, url, chat_body(self.ramp.llm, self._rng), record, self.now)
                return
            body = await self._send_job(record)
            job_id = body.get("id") if body else None
            while body is not None and not is_final(body.get("status")) and isinstance(job_id, str):
                age = self.now() - record.submitted_t
                await asyncio.sleep(
                    age_paced(age, floor_s=self.ramp.poll_interval_s, ceiling_s=MAX_POLL_INTERVAL_S)
                )
                record.polls += 1
                body = await self._get_json(f"{self.root}/status/{job_id}")
            if body is not None:
                self._finish(record, body)
        except aiohttp.ClientConnectorError:  # no connection at all (refused, unreachable)
            record.status = record.status or "CLIENT_ERROR"
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
            record.status = record.status or "DROPPED"  # the connection closed unanswered
            record.done_t = self.now()
        except (TimeoutError, aiohttp.ClientError, ValueError):
            record.status = record.status or "CLIENT_ERROR"
        finally:
            self._in_flight -= 1

    async def _send_job(self, record: JobRecord) -> dict[str, Any] | None:
        path = "runsync" if self.ramp.submit == "runsync" else "run"
        self.data.requests += 1
        async with self._session.post(f"{self.root}/{path}", json={"input": dict(self.ramp.input)}) as resp:
            record.http_status = resp.status
            if resp.status >= 300:
                record.status = "RATE_LIMITED" if resp.status == 429 else "HTTP_ERROR"
                record.done_t = self.now()
                return None
            body: dict[str, Any] = await resp.json(content_type=None)
            return body

    async def _get_json(self, url: str) -> dict[str, Any] | None:
        self.data.requests += 1
        async with self._session.get(url) as resp:
            if resp.status == 429:
                return {}  # keep polling: throttled status reads do not end the job
            if resp.status >= 300:
                return None
            body: dict[str, Any] = await resp.json(content_type=None)
            return body

    def _finish(self, record: JobRecord, body: Mapping[str, Any]) -> None:
        record.done_t = self.now()
        record.status = str(body.get("status"))
        record.delay_ms = _number(body.get("delayTime"))
        record.execution_ms = _number(body.get("executionTime"))

    async def _drain(self, limit_s: float) -> None:
        """Wait (bounded) for the jobs in flight to finish, so late completions are measured."""
        end = self.now() + limit_s
        while self._in_flight > 0 and self.now() < end:
            await asyncio.sleep(0.05)

    async def _sample(self) -> None:
        next_health = 0.0
        while True:
            now = self.now()
            self.data.in_system.append((now, float(self._in_flight)))
            if now >= next_health:
                next_health = now + self.ramp.health_interval_s
                task = asyncio.create_task(self._sample_health(now))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            await asyncio.sleep(IN_SYSTEM_SAMPLE_S)

    async def _sample_health(self, t: float) -> None:
        try:
            body = await self._get_json(f"{self.root}/health")
        except (TimeoutError, aiohttp.ClientError, ValueError):
            body = None
        if not body:
            self.data.health_errors += 1
            return
        jobs = body.get("jobs") or {}
        workers = body.get("workers") or {}
        self.data.health.append(
            HealthSample(
                t=t,
                in_queue=int(jobs.get("inQueue", 0)),
                in_progress=int(jobs.get("inProgress", 0)),
                workers_running=int(workers.get("running", 0)),
                workers_idle=int(workers.get("idle", 0)),
                workers_initializing=int(workers.get("initializing", 0)),
                workers_throttled=int(workers.get("throttled", 0)),
            )
        )


def send_each_request_once(session: aiohttp.ClientSession) -> None:
    """Turn off aiohttp's silent resend of an idempotent request (a GET) whose connection closed
    before the answer (RFC 9112 allows a client to retry it): a dropped `/status` poll or
    `/health` read would otherwise show as one slow success. Now it is counted, as a drop.
    The switch is the one aiohttp's own test client turns off; a version without it never resends."""
    if hasattr(session, "_retry_connection"):
        session._retry_connection = False


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
