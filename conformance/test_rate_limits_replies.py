"""What a 429 says and costs: Retry-After is right to the second, the rate-limit headers are
recorded, a refused submit is a cheap JSON answer that creates no job, and the queue rule
(more than 50 queued AND more than workersMax x 500) refuses submits."""

from __future__ import annotations

import math
from typing import Any

import pytest

from conformance import checks
from conformance.client import ApiClient, ControlClient, Reply
from conformance.plugin import verifies
from conformance.profile import Profile
from conformance.ratelimit_probe import (
    burst,
    emulator_limits,
    expectation,
    limit_headers,
    margin,
    quietly,
    retry_after_s,
    status_of,
)
from conformance.timekeeper import Timekeeper
from conformance.violations import HarnessError, Recording, Severity, Violation

QUEUE_MIN_JOBS = 50
QUEUE_JOBS_PER_WORKER = 500
REFUSED_SUBMITS = 3


def _purge(api: ApiClient) -> Reply | None:
    return quietly(api, "POST", "purge-queue")


def _first_429(api: ApiClient, control: ControlClient | None, profile: Profile, claim: str) -> Reply:
    """Purge-queue (2 per 10 s, the cheapest documented limit to reach) until it answers 429."""
    expected = expectation("purge_queue", profile, control)
    for _ in range(expected.limit.rate + margin(expected.limit.rate)):
        reply = _purge(api)
        if reply is not None and reply.status == 429:
            return reply
    raise Violation(
        claim,
        f"a 429 within {expected.limit.rate + margin(expected.limit.rate)} purge-queue calls "
        f"(limit {expected.limit.rate} per {expected.limit.window_s:g} s)",
        "no 429",
        Severity.CRITICAL,
    )


@pytest.mark.portable
@pytest.mark.slow
@pytest.mark.destructive
@pytest.mark.budget(jobs=0, requests=7)
@verifies("ratelimit.retry_after")
def test_a_request_just_before_retry_after_gets_429_and_one_just_after_is_accepted(
    api: ApiClient,
    control_client: ControlClient | None,
    clock: Timekeeper,
    profile: Profile,
    record: Recording,
) -> None:
    claim = "ratelimit.retry_after"
    expected = expectation("purge_queue", profile, control_client)
    with emulator_limits(control_client, clock, {"purge_queue": expected.limit}):
        refused = _first_429(api, control_client, profile, claim)
        told = retry_after_s(refused)
        record(retry_after=refused.headers.get("retry-after"))
        if told is None:
            return  # nothing promised: the claim is about a Retry-After that is sent
        # delta-seconds are whole: one second before the promise the limit must still hold
        before_s = max(0.0, math.ceil(told) - 1.0)
        just_after_s = 0.05 if clock.manual else min(profile.slack_s, 1.0)
        before = None
        if before_s > 0:
            clock.pass_time(before_s)
            before = _purge(api)
            record(before_s=before_s, before_status=status_of(before))
        clock.pass_time(told - before_s + just_after_s)
        after = _purge(api)
        record(after_s=told + just_after_s, after_status=status_of(after))
    if before is not None and before.status != 429:
        raise Violation(
            claim,
            f"HTTP 429 {before_s:g} s after a 429 that said Retry-After: {told:g}",
            f"HTTP {before.status}",
            Severity.MAJOR,
            "Retry-After promised too long a wait",
            excerpt=before.exchange,
        )
    if after is None or after.status != 200:
        raise Violation(
            claim,
            f"HTTP 200 {told + just_after_s:g} s after a 429 that said Retry-After: {told:g}",
            f"HTTP {status_of(after)}",
            Severity.MAJOR,
            "Retry-After promised too short a wait",
            excerpt=after.exchange if after else "",
        )


@pytest.mark.portable
@pytest.mark.destructive
@pytest.mark.budget(jobs=0, requests=6)
@verifies("ratelimit.headers")
def test_rate_limit_headers_are_recorded(
    api: ApiClient,
    control_client: ControlClient | None,
    clock: Timekeeper,
    profile: Profile,
    record: Recording,
) -> None:
    expected = expectation("purge_queue", profile, control_client)
    # the emulator's IETF headers are off by default (the real service's are unknown): on here, to show them
    with emulator_limits(control_client, clock, {"purge_queue": expected.limit, "ietf_headers": True}):
        accepted = _purge(api)
        refused = _first_429(api, control_client, profile, "ratelimit.headers")
    record(
        accepted_status=status_of(accepted),
        accepted_headers=limit_headers(accepted),
        refused_headers=limit_headers(refused),
    )


def _job_total(api: ApiClient) -> int:
    reply = api.health()
    if (
        reply.status != 200
        or not isinstance(reply.body, dict)
        or not isinstance(reply.body.get("jobs"), dict)
    ):
        raise HarnessError(f"/health gave no job counters: HTTP {reply.status} {reply.text[:200]}")
    counters: dict[str, Any] = reply.body["jobs"]
    return sum(int(counters.get(k, 0)) for k in ("completed", "failed", "inProgress", "inQueue"))


@pytest.mark.portable
@pytest.mark.destructive
@pytest.mark.budget(jobs=1110, requests=1120)
@verifies("ratelimit.refusal")
def test_a_refused_submit_is_a_json_429_that_creates_no_job(
    api: ApiClient,
    control_client: ControlClient | None,
    clock: Timekeeper,
    profile: Profile,
    record: Recording,
) -> None:
    claim = "ratelimit.refusal"
    expected = expectation("run", profile, control_client)
    count = expected.limit.rate + margin(expected.limit.rate)

    def submit() -> Reply | None:
        api.journal.jobs_submitted += 1
        return quietly(api, "POST", "run", json_body={"input": {}})

    with emulator_limits(control_client, clock, {"run": expected.limit}):
        flood = burst(submit, count, parallel=1 if expected.exact else min(64, count))
        if not flood.refused:
            raise Violation(
                claim,
                f"HTTP 429 once {count} submits were sent (limit {expected.limit.rate})",
                f"answers {flood.histogram()}",
                Severity.CRITICAL,
            )
        jobs_before = _job_total(api)
        refused = [submit() for _ in range(REFUSED_SUBMITS)]
        jobs_after = _job_total(api)
    record(
        statuses=[status_of(r) for r in refused],
        jobs_before=jobs_before,
        jobs_after=jobs_after,
        body=refused[0].body if refused[0] is not None else None,
    )
    for reply in refused:
        if reply is None:
            raise Violation(claim, "HTTP 429", "no answer", Severity.CRITICAL)
        checks.status_is(claim, reply, 429)
        body = checks.json_reply(claim, reply)
        checks.matches_schema(claim, "error", body)
        checks.that(claim, "id" not in body, expected="no job id in a refusal", observed=body)
    checks.that(
        claim,
        jobs_after == jobs_before,
        expected=f"{jobs_before} jobs on /health (unchanged)",
        observed=f"{jobs_after} jobs after {REFUSED_SUBMITS} refused submits",
    )


def _queued(api: ApiClient) -> int:
    reply = api.health()
    body = reply.body if isinstance(reply.body, dict) else {}
    return int(body.get("jobs", {}).get("inQueue", -1))


@pytest.mark.portable
@pytest.mark.slow
@pytest.mark.destructive
@pytest.mark.budget(jobs=1600, requests=1620)
@verifies("ratelimit.queue_rule")
def test_a_submit_is_refused_with_429_once_the_queue_exceeds_50_and_workers_max_x_500(
    api: ApiClient,
    control_client: ControlClient | None,
    clock: Timekeeper,
    profile: Profile,
    record: Recording,
) -> None:
    claim = "ratelimit.queue_rule"
    workers: dict[str, Any] = {}
    if control_client is not None:  # no worker takes a job, so every accepted submit stays queued
        config = control_client.endpoint()
        workers = {"workers_min": config["workers_min"], "workers_max": config["workers_max"]}
        control_client.patch_endpoint({"workers_min": 0, "workers_max": 0})
    workers_max = 0 if control_client is not None else profile.workers_max
    threshold = max(QUEUE_MIN_JOBS, workers_max * QUEUE_JOBS_PER_WORKER)
    tolerance = 0.0 if control_client is not None else profile.rate_tolerance
    run = expectation("run", profile, control_client).limit
    pace_s = 0.0 if clock.manual else run.window_s / run.rate * 1.25  # stay under /run's rate limit
    accepted, refusal, queued_at_refusal = 0, None, -1
    try:
        with emulator_limits(control_client, clock, {}):  # the documented table: the queue rule is on
            for _ in range(threshold + 1 + margin(threshold)):
                api.journal.jobs_submitted += 1
                reply = quietly(api, "POST", "run", json_body={"input": {"sleep": 60}})
                if reply is None or reply.status >= 500 or reply.status not in (200, 429):
                    raise Violation(
                        claim,
                        "HTTP 200, or 429 once the queue is over the limit",
                        f"HTTP {status_of(reply)}",
                        Severity.CRITICAL,
                        excerpt=reply.exchange if reply else "",
                    )
                if reply.status == 429:
                    refusal, queued_at_refusal = reply, _queued(api)
                    break
                accepted += 1
                if pace_s:
                    clock.pass_time(pace_s)
            queued_at_end = _queued(api)
    finally:
        api.purge_queue()
        if workers and control_client is not None:
            control_client.patch_endpoint(workers)
    record(
        threshold=threshold,
        workers_max=workers_max,
        accepted=accepted,
        queued_at_refusal=queued_at_refusal,
        queued_at_end=queued_at_end,
        refusal=refusal.body if refusal else None,
    )
    least = math.floor((threshold + 1) * (1 - tolerance))
    if refusal is None:
        if queued_at_end <= threshold:
            raise HarnessError(
                f"the queue never grew past {threshold} jobs ({queued_at_end} queued): workers took them"
            )
        raise Violation(
            claim,
            f"HTTP 429 on a submit once more than {threshold} jobs are queued",
            f"{accepted} submits accepted, {queued_at_end} queued",
            Severity.CRITICAL,
        )
    checks.that(
        claim,
        queued_at_refusal >= least and accepted >= least,
        expected=f"no 429 before more than {threshold} jobs are queued",
        observed=f"429 after {accepted} accepted submits, {queued_at_refusal} queued",
    )
    if tolerance == 0.0:
        checks.that(
            claim,
            accepted == threshold + 1,
            expected=f"exactly {threshold + 1} accepted, then 429",
            observed=f"{accepted} accepted",
        )
