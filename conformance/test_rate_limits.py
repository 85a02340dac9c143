"""Rate limits per operation: the documented number is accepted within one window and the rest
get 429 (not 5xx, not timeouts); one call over the concurrency limit gets 429 and a freed slot is
usable again. Against the emulator the test sets small limits itself and expects them exactly;
against a real target it expects the profile's `[rate_limits]` (default: the documented table)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from conformance import checks
from conformance.client import ApiClient, ControlClient, Journal, Reply
from conformance.conftest import TargetAccess
from conformance.jobs import Jobs
from conformance.plugin import verifies
from conformance.profile import Profile
from conformance.ratelimit_probe import (
    Call,
    Held,
    burst,
    emulator_limits,
    expectation,
    limiter_accepted,
    margin,
    quietly,
    settle_until,
    status_of,
    wait_in_flight,
)
from conformance.ratelimit_profile import RateLimit
from conformance.timekeeper import Timekeeper
from conformance.violations import HarnessError, Recording, Severity, Violation
from conformance.workload import Workload

FLOOD_THREADS = 64
POOL_SIZE = 512
"""Connections of the probe client: a flood's threads, or the documented 400 held calls plus probes."""
SHORT_HOLD_MS = 5_000
LONG_HOLD_MS = 15_000
PROBE_HOLD_MS = 1_000


@pytest.fixture
def probe_api(target: TargetAccess, journal: Journal) -> Iterator[ApiClient]:
    """A client of its own with a connection per flood thread (the suite's client keeps ten)."""
    client = ApiClient(target.base_url, target.endpoint_id, target.api_key, journal)
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=POOL_SIZE)
    client.session.mount("http://", adapter)
    client.session.mount("https://", adapter)
    yield client
    client.close()


def operation_call(api: ApiClient, operation: str, job_id: str) -> Call:
    """One request of `operation` that costs the target as little as it can."""

    def submit(path: str) -> Call:
        def call() -> Reply | None:
            api.journal.jobs_submitted += 1
            return quietly(api, "POST", path, json_body={"input": {}})

        return call

    calls: dict[str, Call] = {
        "run": submit("run"),
        "runsync": submit("runsync"),
        "status": lambda: quietly(api, "GET", f"status/{job_id}"),
        "stream": lambda: quietly(api, "GET", f"stream/{job_id}"),  # a final job: answered at once
        "cancel": lambda: quietly(api, "POST", f"cancel/{job_id}"),
        "purge_queue": lambda: quietly(api, "POST", "purge-queue"),
    }
    return calls[operation]


def _flood(operation: str, *, jobs: int, requests: int) -> object:
    return pytest.param(operation, marks=pytest.mark.budget(jobs=jobs, requests=requests), id=operation)


@pytest.mark.portable
@pytest.mark.destructive
@verifies("ratelimit.table")
@pytest.mark.parametrize(
    "operation",
    [
        _flood("run", jobs=1100, requests=1100),
        _flood("runsync", jobs=2200, requests=2200),
        _flood("status", jobs=1, requests=2210),
        _flood("stream", jobs=1, requests=2210),
        _flood("cancel", jobs=1, requests=120),
        _flood("purge_queue", jobs=0, requests=5),
    ],
)
def test_an_operation_accepts_its_documented_rate_in_one_window_and_refuses_the_rest_with_429(
    operation: str,
    probe_api: ApiClient,
    control_client: ControlClient | None,
    clock: Timekeeper,
    jobs: Jobs,
    profile: Profile,
    record: Recording,
) -> None:
    expected = expectation(operation, profile, control_client)
    job_id = ""
    if operation in ("status", "stream", "cancel"):
        job_id = jobs.submit({})
        jobs.wait_final(job_id)
    count = expected.limit.rate + margin(expected.limit.rate)
    with emulator_limits(control_client, clock, {operation: expected.limit}):
        # fewer threads than the concurrency limit, so only the rate limit can refuse
        threads = min(FLOOD_THREADS, count, max(1, (expected.limit.concurrency or FLOOD_THREADS + 1) - 1))
        tally = burst(
            operation_call(probe_api, operation, job_id), count, parallel=1 if expected.exact else threads
        )
    low, high = expected.accepted_range
    record(
        operation=operation,
        limit=expected.limit.rate,
        window_s=expected.limit.window_s,
        sent=count,
        accepted=tally.accepted,
        refused_429=tally.refused,
        statuses=tally.histogram(),
        send_span_s=round(tally.span_s, 3),
        tolerance=expected.tolerance,
    )
    claim = "ratelimit.table"
    if tally.broken:
        raise Violation(
            claim,
            "HTTP 429 for every request over the limit",
            f"answers {tally.histogram()} (0 = no answer)",
            Severity.CRITICAL,
            "a limited request must get 429, not a 5xx or a timeout",
            excerpt=_first_broken_excerpt(tally.replies),
        )
    if not expected.exact and tally.span_s > expected.limit.window_s:
        raise HarnessError(
            f"{operation}: the client needed {tally.span_s:.1f} s to send {count} requests, longer than "
            f"one {expected.limit.window_s:g} s window; cannot judge the limit"
        )
    checks.that(
        claim,
        low <= tally.accepted <= high,
        expected=f"{low}..{high} of {count} accepted in one window",
        observed=f"{tally.accepted} accepted, {tally.refused} refused with 429",
    )
    if expected.exact:  # sent one by one on a clock that did not move: first the limit, then only 429s
        statuses = tally.statuses
        checks.that(
            claim,
            all(limiter_accepted(s) for s in statuses[:low]) and set(statuses[low:]) <= {429},
            expected=f"{low} accepted, then 429",
            observed=statuses,
        )


def _first_broken_excerpt(replies: list[Reply | None]) -> str:
    return next((r.exchange for r in replies if r is not None and r.status >= 500), "")


def hold_call(api: ApiClient, operation: str, job_id: str, wait_ms: int, long_job: object = None) -> Call:
    """A call the server holds for `wait_ms` (target time): runsync on a long job, or an empty stream."""
    timeout = wait_ms / 1000 + 60
    if operation == "runsync":

        def call() -> Reply | None:
            api.journal.jobs_submitted += 1
            return quietly(
                api,
                "POST",
                "runsync",
                json_body={"input": {"sleep": 600} if long_job is None else long_job},
                params={"wait": wait_ms},
                timeout=timeout,
            )

        return call
    return lambda: quietly(api, "GET", f"stream/{job_id}", params={"wait": wait_ms}, timeout=timeout)


@pytest.mark.portable
@pytest.mark.destructive
@verifies("ratelimit.concurrency")
@pytest.mark.parametrize(
    "operation",
    [
        pytest.param("runsync", marks=pytest.mark.budget(jobs=405, requests=410), id="runsync"),
        pytest.param("stream", marks=pytest.mark.budget(jobs=1, requests=410), id="stream"),
    ],
)
def test_one_call_over_the_concurrency_limit_gets_429_and_a_freed_slot_is_usable_again(
    operation: str,
    probe_api: ApiClient,
    control_client: ControlClient | None,
    clock: Timekeeper,
    jobs: Jobs,
    profile: Profile,
    workload: Workload,
    record: Recording,
) -> None:
    expected = expectation(operation, profile, control_client)
    limit = expected.limit
    if limit.concurrency is None:
        pytest.skip(f"{operation}: the profile gives no concurrency limit")
    claim = "ratelimit.concurrency"
    long_job = workload.slow(600)  # held calls need a job that does not end while they wait
    job_id = jobs.submit(long_job, blocker=True) if operation == "stream" else ""
    # a rate high enough that only concurrency can refuse the few calls this test sends
    table = {operation: RateLimit(max(limit.rate, 1000), limit.window_s, limit.concurrency)}
    held: list[Held] = []
    probes: list[Reply | None] = []
    try:
        with emulator_limits(control_client, clock, table):
            held = [
                Held(
                    hold_call(
                        probe_api, operation, job_id, SHORT_HOLD_MS if i == 0 else LONG_HOLD_MS, long_job
                    )
                )
                for i in range(limit.concurrency)
            ]
            wait_in_flight(
                control_client, clock, operation, limit.concurrency, settle_s=min(profile.slack_s, 2.0)
            )
            for failed in (h.error for h in held if h.error is not None):
                raise failed  # our side (e.g. the target went away), not a finding
            early = [status_of(h.reply) for h in held if h.done]
            over = clock.while_held(
                hold_call(probe_api, operation, job_id, PROBE_HOLD_MS, long_job),
                advance_s=PROBE_HOLD_MS / 1000 + 0.5,
            )
            probes.append(over)
            record(operation=operation, concurrency=limit.concurrency, over_limit_status=status_of(over))
            checks.that(
                claim,
                not early,
                expected=f"{limit.concurrency} calls held at once",
                observed=f"{len(early)} answered early: {early}",
            )
            if over is None or over.status != 429:
                raise Violation(
                    claim,
                    f"HTTP 429 for call {limit.concurrency + 1} while {limit.concurrency} are in flight",
                    f"HTTP {status_of(over)}" if over else "no answer",
                    Severity.CRITICAL,
                    excerpt=over.exchange if over else "",
                )
            if not settle_until(clock, lambda: held[0].done, within_s=SHORT_HOLD_MS / 1000 + profile.slack_s):
                raise HarnessError(
                    f"{operation}: a held call did not return after its {SHORT_HOLD_MS} ms wait"
                )
            checks.that(
                claim,
                limiter_accepted(status_of(held[0].reply)),
                expected="the held call answered",
                observed=f"HTTP {status_of(held[0].reply)}",
            )
            wait_in_flight(control_client, clock, operation, limit.concurrency - 1, settle_s=0.0)
            freed = clock.while_held(
                hold_call(probe_api, operation, job_id, PROBE_HOLD_MS, long_job),
                advance_s=PROBE_HOLD_MS / 1000 + 0.5,
            )
            probes.append(freed)
            record(freed_slot_status=status_of(freed))
            checks.that(
                claim,
                limiter_accepted(status_of(freed)),
                expected="a call in the freed slot is accepted",
                observed=f"HTTP {status_of(freed)}",
            )
    finally:
        settle_until(clock, lambda: all(h.done for h in held), within_s=LONG_HOLD_MS / 1000 + 5, step_s=5.0)
        for reply in [
            h.reply for h in held
        ] + probes:  # runsync's long jobs must not hold workers for later tests
            if reply is not None and isinstance(reply.body, dict) and reply.body.get("id"):
                jobs.to_cancel.append(str(reply.body["id"]))
