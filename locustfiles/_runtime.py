"""Process-wide state of a load run and the Locust event wiring that ships and writes it.

Importing this module registers the listeners once (Locust imports each locustfile, and they
all import this). Roles: a local runner records, aggregates and writes; a worker records and
ships closed seconds to the master with every stats report (`report_to_master`); the master
merges what workers ship (`worker_report`), samples /health and writes the result folder when
Locust quits, after the workers' final reports have arrived.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from pathlib import Path
from typing import Any

import gevent
import psutil
from locust import events
from locust.env import Environment
from locust.runners import STATE_CLEANUP, STATE_STOPPED, STATE_STOPPING, MasterRunner, WorkerRunner

from locustfiles import _live
from locustfiles._health import HealthSampler
from locustfiles._metrics import Aggregator, Recorder
from locustfiles._pauses import quiet_collector
from locustfiles._plan import Plan, load_plan
from locustfiles._reach import Reachability, unreachable_since
from locustfiles._schedule import Claim, ClosedSchedule, OpenSchedule
from locustfiles._trace import TraceSchedule, trace_schedules
from locustfiles._writers import ResultWriter

log = logging.getLogger("podbench.load")
DRAIN_EVERY_S = 2.0
END_WAIT_S = 10.0
"""How long after the planned duration to wait for late-starting flows to finish their schedule."""
FINAL_WAIT_S = 15.0
FINAL_MESSAGE = "podbench_final"
LOCUST_CSV_REFRESH_S = 1.2
CPU_BUSY_PERCENT = 90.0
STOP_MESSAGE = "podbench_stop"


class Runtime:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.recorder = Recorder()
        self.aggregator = Aggregator()
        self.environment: Environment | None = None
        self.started: float | None = None
        self.schedules: dict[str, OpenSchedule | TraceSchedule | ClosedSchedule] = {}
        self._trace: dict[str, TraceSchedule] | None = None
        self.in_flight = 0
        """Scheduled sends whose job (or call) is still being followed, in this process."""
        self._flow_ops: dict[str, str] = {}
        self.max_lag_s = 0.0
        self.max_cpu = 0.0
        self.health: HealthSampler | None = None
        self._greenlets: list[gevent.Greenlet] = []
        self._written = False
        self.finals: set[str] = set()
        self.sent = 0
        """Every HTTP call this process made (scheduled, follow-up, setup): CPU per request."""
        self._cpu_at_start: float | None = None
        self.cpu_samples = 0
        self.cpu_busy_samples = 0
        """Seconds this process spent at >= 90 % CPU while its schedule ran."""
        self._collecting = False
        self.reach = Reachability()
        self.peer_reach: dict[str, dict[str, Any]] = {}
        """The latest `Reachability.state()` each worker shipped (master only)."""
        self.interrupted_reason: str | None = None
        self.stopped_at: float | None = None
        """When a stop was asked for (the web UI's stop button): the run's end for its rates."""

    @property
    def node(self) -> str:
        """This process's name; read late because --processes forks after the import."""
        return f"{os.uname().nodename}-{os.getpid()}"

    # --- the schedule -------------------------------------------------------------------
    def _share(self, user_class: str, slots: int) -> float:
        runner = self.environment.runner if self.environment else None
        if isinstance(runner, WorkerRunner):
            return runner.target_user_classes_count.get(user_class, 0) / max(slots, 1)
        return 1.0

    def schedule(self, flow: str, user_class: str) -> OpenSchedule | TraceSchedule | ClosedSchedule:
        sched = self.schedules.get(flow)
        if sched is None:
            now = time.time()  # each flow starts at its first claim, after its users' setup
            if self.started is None or now < self.started:
                self.started = now
            if self._cpu_at_start is None:
                self._cpu_at_start = _cpu_seconds()
            if self.plan.trace is not None:
                return self._trace_schedule(flow, now)
            if self.plan.flows[flow].concurrency:
                closed = ClosedSchedule(now, self.plan.duration_s)
                self.schedules[flow] = closed
                self._flow_ops[flow] = self.plan.flows[flow].submit_op
                return closed
            share = self._share(user_class, self.plan.flows[flow].slots)
            runner = self.environment.runner if self.environment else None
            index = getattr(runner, "worker_index", 0)
            rng = random.Random(f"{self.plan.seed}:{flow}:{index}")
            sched = OpenSchedule(
                self.plan.segments(flow, share),
                now,
                drop_s=self.plan.drop_ms / 1000.0,
                poisson=self.plan.arrival in ("poisson", "gamma"),
                burstiness=self.plan.burstiness if self.plan.arrival == "gamma" else 1.0,
                rng=rng,
                phase=rng.random() if isinstance(runner, WorkerRunner) else 0.0,
            )
            self.schedules[flow] = sched
            self._flow_ops[flow] = self.plan.flows[flow].submit_op
        return sched

    def _trace_schedule(self, flow: str, now: float) -> TraceSchedule:
        """All of a trace's flows start together, at the first claim of any of them."""
        assert self.plan.trace is not None
        if self._trace is None:
            self._trace = trace_schedules(
                self.plan.trace["file"],
                now,
                drop_s=self.plan.drop_ms / 1000.0,
                duration_s=self.plan.duration_s,
            )
        sched = self._trace.get(flow) or TraceSchedule([], [], now, drop_s=0.0, duration_s=0.0)
        self.schedules[flow] = sched
        self._flow_ops[flow] = self.plan.flows[flow].submit_op
        return sched

    def abandon_schedules(self) -> None:
        """Count sends still unclaimed when the run stopped as dropped, so none vanish; sends
        that came due after the stop (Ctrl-C, the stop button) were never due and are not."""
        now = min(self.stopped_at or math.inf, time.time())
        for flow, sched in self.schedules.items():
            self.recorder.count(now, self._flow_ops[flow], "dropped_sends", sched.abandon(now))

    def claim(self, flow: str, op: str, user_class: str) -> Claim | None:
        """Sleep until this slot's next intended send; count late and dropped sends on the way."""
        sched = self.schedule(flow, user_class)
        now = time.time()
        claim = sched.claim(now)
        self.recorder.count(now, op, "dropped_sends", claim.dropped)
        if claim.intended is None:
            return None
        wait = claim.intended - now
        if wait > 0:
            gevent.sleep(wait)
        if self.stopped_at is not None and claim.intended >= self.stopped_at:
            return None  # the run was stopped while this slot waited: the send never came due
        actual = time.time()
        lag = actual - claim.intended
        if wait > 0 and lag > self.max_lag_s:
            self.max_lag_s = lag  # overshoot of a slot that was idle: the generator's own lag
        if lag * 1000.0 > self.plan.late_ms:
            self.recorder.count(actual, op, "late_sends")
        return claim

    def observe(self, done: float, status: int, timeout: bool) -> None:
        """Every reply (any status) or connection error; a timeout says nothing about reachability."""
        if status or not timeout:
            self.reach.observe(done, replied=status != 0)

    def take(self, payload: dict[str, Any]) -> None:
        """A worker's shipped delta (master): its counters and its reachability."""
        self.aggregator.add(payload)
        if payload.get("reach"):
            self.peer_reach[str(payload.get("node"))] = payload["reach"]

    def _since_start(self, t: float) -> float:
        starts = [s for s in (self.aggregator.started, self.started) if s is not None]
        return t - min(starts) if starts else 0.0

    def stop_requested(self, reason: str) -> None:
        """Someone stopped the run (the web UI's stop button): keep what was measured, and say so.

        Sends not yet claimed are dropped now, not counted as dropped until the results are written."""
        if self.interrupted_reason is None:
            self.stopped_at = time.time()
            self.interrupted_reason = f"{reason} at t={self._since_start(self.stopped_at):.1f} s"
            log.warning("podbench: %s; stopping the run and keeping its results", self.interrupted_reason)
            self.abandon_schedules()
            runner = self.environment.runner if self.environment else None
            if isinstance(runner, MasterRunner):
                runner.send_message(STOP_MESSAGE)  # workers stop sending now; end_run collects them

    def target_gone(self) -> bool:
        """Decide (once) that the target went away: every process has seen only connection errors."""
        if self.interrupted_reason is None:
            since = unreachable_since([self.reach.state(), *self.peer_reach.values()])
            if since is None:
                return False
            self.interrupted_reason = f"target unreachable since t={self._since_start(since):.1f} s"
            log.warning("podbench: %s; stopping the run and keeping its results", self.interrupted_reason)
        return True

    # --- shipping and writing -----------------------------------------------------------
    def generator_report(self) -> dict[str, Any]:
        cpu = None if self._cpu_at_start is None else round(_cpu_seconds() - self._cpu_at_start, 3)
        return {
            "max_cpu_percent": round(self.max_cpu, 1),
            "max_schedule_lag_ms": round(self.max_lag_s * 1000.0, 3),
            "cpu_busy_seconds": self.cpu_busy_samples,
            "cpu_samples": self.cpu_samples,
            "cpu_s": cpu,
            "requests_sent": self.sent,
        }

    def payload(self, final: bool) -> dict[str, Any]:
        data = self.recorder.drain(None if final else time.time())
        end = max((s.end for s in self.schedules.values()), default=None)
        data.update(
            node=self.node,
            generator=self.generator_report(),
            started=self.started,
            schedule_end=end,
            reach=self.reach.state(),
        )
        return data

    def end_run(self, environment: Environment) -> None:
        """Stop when every schedule is over, then collect each worker's final delta, then quit.

        Locust's own `-t` quits the master before slow workers' last reports arrive; this
        stops the workers first and waits for their `podbench_final` messages. A target that
        stopped answering ends the run early (`target_gone`).
        """
        planned_end = time.time() + self.plan.duration_s
        give_up = planned_end + END_WAIT_S + self.plan.duration_s
        while time.time() < give_up:
            if self.interrupted_reason is not None or self.target_gone():
                break
            if time.time() < planned_end:
                gevent.sleep(0.2)
                continue
            end = self.aggregator.schedule_end
            local = max((s.end for s in self.schedules.values()), default=None)
            end = max(e for e in (end, local, 0.0) if e is not None)  # 0.0: no flow has started yet
            if end and time.time() >= end + self.plan.drop_ms / 1000.0:
                if self.plan.trace is not None:
                    self.wait_in_flight()
                break  # anything still unclaimed is past the drop bound: it is dropped, not pending
            gevent.sleep(0.2)
        runner = environment.runner
        self._stop_settled(environment)  # the web UI's stop may still be stopping users
        if isinstance(runner, MasterRunner):
            self.collect_finals(environment)
        elif runner is not None:
            runner.stop()
        # Locust rewrites its own CSVs once a second and not again at exit: let it see the end.
        gevent.sleep(LOCUST_CSV_REFRESH_S)
        if runner is not None:
            runner.quit()
        if environment.web_ui is not None:
            environment.web_ui.stop()  # type: ignore[no-untyped-call]  # --web: Locust ends with its UI

    @staticmethod
    def _stop_settled(environment: Environment) -> None:
        """Wait (bounded) for a stop already under way: a second `stop()` meanwhile would fail."""
        runner = environment.runner
        give_up = time.time() + environment.stop_timeout + FINAL_WAIT_S
        while (
            runner is not None and runner.state in (STATE_CLEANUP, STATE_STOPPING) and time.time() < give_up
        ):
            gevent.sleep(0.1)

    def wait_in_flight(self) -> None:
        """A replayed trace ends when its last jobs do (bounded by the flows' job timeouts), so
        its worker-seconds and latencies cover every job it sent."""
        bound = max((f.job_timeout_s for f in self.plan.flows.values()), default=0.0) + 10.0
        give_up = time.time() + bound
        next_note = time.time() + 10.0
        while self.in_flight > 0 and time.time() < give_up:
            if time.time() >= next_note:
                log.warning("podbench: waiting for %d replayed jobs to end", self.in_flight)
                next_note += 10.0
            gevent.sleep(0.1)

    def collect_finals(self, environment: Environment) -> None:
        """Have every worker stop its users and ship its last delta; wait for all of them."""
        runner = environment.runner
        if not isinstance(runner, MasterRunner) or self._collecting:
            return
        self._collecting = True
        workers = runner.worker_count
        runner.send_message(STOP_MESSAGE)
        give_up = time.time() + FINAL_WAIT_S + environment.stop_timeout
        while len(self.finals) < workers and time.time() < give_up:
            gevent.sleep(0.1)
        if len(self.finals) < workers:
            log.warning("podbench: only %d of %d workers sent their final results", len(self.finals), workers)

    def monitor(self) -> None:
        """CPU of this process once a second while a schedule runs (start-up spawning excluded)."""
        proc = psutil.Process()
        proc.cpu_percent(None)
        while True:
            gevent.sleep(1.0)
            percent = proc.cpu_percent(None)
            if self.started is None:
                continue
            self.max_cpu = max(self.max_cpu, percent)
            self.cpu_samples += 1
            if percent >= CPU_BUSY_PERCENT:
                self.cpu_busy_samples += 1

    def drain_loop(self) -> None:
        while True:
            gevent.sleep(DRAIN_EVERY_S)
            self.aggregator.add(self.payload(final=False))

    def write_worker_totals(self) -> None:
        if not self.plan.out_dir or not Path(self.plan.out_dir).is_dir():
            return
        folder = Path(self.plan.out_dir) / "workers"
        folder.mkdir(exist_ok=True)
        (folder / f"{self.node}.json").write_text(json.dumps(dict(self.recorder.shipped), sort_keys=True))

    def write_results(self) -> None:
        if self._written or not self.plan.out_dir:
            return
        self._written = True
        self.abandon_schedules()
        self.aggregator.add(self.payload(final=True))
        ended = self.stopped_at or time.time()
        started = self.aggregator.started
        reason = self.interrupted_reason
        interrupted = reason is not None or started is None or ended - started < self.plan.duration_s - 0.5
        health_rows = self.health.rows if self.health else []
        summary = ResultWriter(
            self.plan, self.aggregator, Path(self.plan.out_dir), ended, interrupted, reason
        ).write_all(health_rows)
        for warning in summary["generator"]["warnings"]:
            log.warning("podbench: %s", warning)


def _cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


RUNTIME = Runtime(load_plan())


@events.init.add_listener  # type: ignore[untyped-decorator]
def _on_init(environment: Environment, **_: Any) -> None:
    RUNTIME.environment = environment
    RUNTIME._greenlets.append(gevent.spawn(RUNTIME.monitor))
    if environment.web_ui is not None:
        _live.attach(environment.web_ui, RUNTIME.plan, RUNTIME.aggregator, RUNTIME.stop_requested)
    if isinstance(environment.runner, MasterRunner):
        environment.runner.register_message(FINAL_MESSAGE, _on_final)
    if isinstance(environment.runner, WorkerRunner):
        environment.runner.register_message(STOP_MESSAGE, _on_stop_request, concurrent=True)


def _on_stop_request(environment: Environment, msg: Any, **_: Any) -> None:
    # Not Locust's "stop": that one unregisters the worker, so its later "quit" would never come.
    # A second request while the first still stops the users (the stop button, then the end of
    # the run) is ignored: two stops at once trip over each other's half-stopped users.
    runner = environment.runner
    if runner is not None and runner.state not in (STATE_CLEANUP, STATE_STOPPING, STATE_STOPPED):
        runner.stop()


def _on_final(environment: Environment, msg: Any, **_: Any) -> None:
    RUNTIME.take(msg.data)
    RUNTIME.finals.add(str(msg.data.get("node")))


@events.test_stopping.add_listener  # type: ignore[untyped-decorator]
def _on_test_stopping(environment: Environment, **_: Any) -> None:
    # Users are about to stop: a slot asleep until its next send must not send it afterwards.
    if RUNTIME.stopped_at is None:
        RUNTIME.stopped_at = time.time()


@events.test_stop.add_listener  # type: ignore[untyped-decorator]
def _on_test_stop(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        # Users are stopped by now. Send Locust's own last stats (our report_to_master listener
        # drains everything left into them), then mark this worker done; one socket keeps the order.
        RUNTIME.abandon_schedules()
        runner._send_stats()
        runner.send_message(FINAL_MESSAGE, RUNTIME.payload(final=True))


@events.test_start.add_listener  # type: ignore[untyped-decorator]
def _on_test_start(environment: Environment, **_: Any) -> None:
    quiet_collector()
    if isinstance(environment.runner, WorkerRunner):
        return
    if not isinstance(environment.runner, MasterRunner):
        RUNTIME._greenlets.append(gevent.spawn(RUNTIME.drain_loop))
    RUNTIME._greenlets.append(gevent.spawn(RUNTIME.end_run, environment))
    host = environment.host or RUNTIME.plan.base_url
    if host and RUNTIME.plan.health_interval_s > 0:
        RUNTIME.health = HealthSampler(environment, RUNTIME.plan, host, observe=RUNTIME.observe)
        RUNTIME._greenlets.append(gevent.spawn(RUNTIME.health.run))


@events.report_to_master.add_listener  # type: ignore[untyped-decorator]
def _on_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
    runner = RUNTIME.environment.runner if RUNTIME.environment else None
    final = runner is None or runner.user_count == 0
    data["podbench"] = RUNTIME.payload(final=final)
    RUNTIME.write_worker_totals()


@events.worker_report.add_listener  # type: ignore[untyped-decorator]
def _on_worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
    payload = data.get("podbench")
    if payload:
        RUNTIME.take(payload)


@events.quitting.add_listener  # type: ignore[untyped-decorator]
def _on_quitting(environment: Environment, **_: Any) -> None:
    RUNTIME.collect_finals(environment)  # Ctrl-C or SIGTERM on the master: still gather the workers'


@events.quit.add_listener  # type: ignore[untyped-decorator]
def _on_quit(exit_code: int, **_: Any) -> None:
    runner = RUNTIME.environment.runner if RUNTIME.environment else None
    if isinstance(runner, WorkerRunner):
        return
    current = gevent.getcurrent()
    for greenlet in RUNTIME._greenlets:
        if greenlet is not current:
            greenlet.kill(block=False)
    RUNTIME.write_results()
