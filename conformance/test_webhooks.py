"""Webhooks: a POST of the status object for final jobs, retried on failure."""

from __future__ import annotations

import time
import uuid

import pytest

from conformance import checks
from conformance.client import ApiClient
from conformance.jobs import Jobs
from conformance.plugin import verifies
from conformance.profile import Profile
from conformance.receiver import Delivery, Receiver
from conformance.timekeeper import Timekeeper, WaitTimeout
from conformance.violations import Recording
from conformance.workload import Workload

pytestmark = pytest.mark.budget(jobs=1, requests=10)


def _hook(receiver: tuple[Receiver, str]) -> tuple[str, str]:
    path = f"/hook/{uuid.uuid4().hex}"
    return path, receiver[1] + path


def _deliveries(
    clock: Timekeeper, receiver: tuple[Receiver, str], path: str, count: int, within_s: float
) -> list[Delivery]:
    return clock.poll(
        lambda: receiver[0].for_path(path),
        lambda found: len(found) >= count,
        within_s=within_s,
        what=f"{count} webhook deliveries",
    )


@pytest.mark.portable
@verifies("webhook.delivery")
def test_a_completed_job_is_posted_to_its_webhook(
    api: ApiClient,
    jobs: Jobs,
    clock: Timekeeper,
    receiver: tuple[Receiver, str],
    profile: Profile,
    workload: Workload,
    record: Recording,
) -> None:
    path, url = _hook(receiver)
    job_id = jobs.submit(workload.completing("hooked"), webhook=url)
    status = jobs.wait_final(job_id)
    delivery = _deliveries(clock, receiver, path, 1, 30)[0]
    record(body=delivery.body, content_type=delivery.headers.get("Content-Type"))
    body = delivery.body if isinstance(delivery.body, dict) else {}
    checks.matches_schema("webhook.delivery", "job", body)
    same = {k: status.get(k) for k in ("id", "status", "output")}
    checks.that("webhook.delivery", {k: body.get(k) for k in same} == same, expected=same, observed=body)


@pytest.mark.portable
@pytest.mark.slow
@verifies("webhook.retries")
def test_a_failed_delivery_is_retried_twice_10_s_apart(
    jobs: Jobs,
    clock: Timekeeper,
    receiver: tuple[Receiver, str],
    profile: Profile,
    workload: Workload,
    record: Recording,
) -> None:
    path, url = _hook(receiver)
    receiver[0].script(500, 503, 500)
    delay, expected = profile.webhook_retry_delay_s, 1 + profile.webhook_retries
    jobs.wait_final(jobs.submit(workload.completing("retry me"), webhook=url))
    _deliveries(clock, receiver, path, 1, 30)
    if clock.manual:
        # on the emulator's clock the delay itself is checked: nothing early, the retry on time
        for attempt in range(1, expected):
            clock.pass_time(delay - 1)
            early = len(_settled(receiver, path, attempt + 1))
            checks.that(
                "webhook.retries",
                early == attempt,
                expected=f"no retry within {delay - 1:g} s",
                observed=f"{early} deliveries",
            )
            clock.pass_time(1 + profile.slack_s / 2)
            on_time = len(_settled(receiver, path, attempt + 1, real_s=2.0))
            checks.that(
                "webhook.retries",
                on_time == attempt + 1,
                expected=f"retry {attempt} {delay:g} s after the last attempt",
                observed=f"{on_time} deliveries",
            )
    else:
        try:
            _deliveries(clock, receiver, path, expected, expected * delay + 10)
        except WaitTimeout:
            pass  # judged below from what did arrive
    clock.pass_time(2 * delay)
    found = _settled(receiver, path, expected + 1)
    gaps = [round(b.received - a.received, 2) for a, b in zip(found, found[1:], strict=False)]
    record(deliveries=len(found), real_gaps_s=gaps, statuses_answered=[500, 503, 500][: len(found)])
    checks.that(
        "webhook.retries",
        len(found) == expected,
        expected=f"{expected} attempts (1 + {profile.webhook_retries} retries)",
        observed=len(found),
    )
    if not clock.manual:
        checks.that(
            "webhook.retries",
            all(g >= delay - profile.slack_s for g in gaps),
            expected=f"about {delay:g} s between attempts",
            observed=gaps,
        )


def _settled(receiver: tuple[Receiver, str], path: str, enough: int, real_s: float = 0.3) -> list[Delivery]:
    """Deliveries after giving in-flight ones a moment of real time (the clock does not move)."""
    deadline = time.perf_counter() + real_s
    while time.perf_counter() < deadline and len(receiver[0].for_path(path)) < enough:
        time.sleep(0.02)
    return receiver[0].for_path(path)


@pytest.mark.portable
@verifies("webhook.failed_jobs")
def test_a_failed_job_is_posted_too(
    jobs: Jobs, clock: Timekeeper, receiver: tuple[Receiver, str], workload: Workload, record: Recording
) -> None:
    path, url = _hook(receiver)
    final = jobs.wait_final(jobs.submit(workload.failing("hook me"), webhook=url))
    delivery = _deliveries(clock, receiver, path, 1, 30)[0]
    record(body=delivery.body)
    body = delivery.body if isinstance(delivery.body, dict) else {}
    error = "hook me" if workload.contract else final.get("error")
    checks.that(
        "webhook.failed_jobs",
        body.get("status") == "FAILED" and body.get("error") == error,
        expected={"status": "FAILED", "error": error},
        observed=body,
    )


@pytest.mark.portable
@verifies("webhook.payload")
def test_the_webhook_body_carries_the_input_and_the_webhook(
    jobs: Jobs, clock: Timekeeper, receiver: tuple[Receiver, str], workload: Workload, record: Recording
) -> None:
    path, url = _hook(receiver)
    job_input = {"output": "echo", "tag": "conformance"} if workload.contract else workload.completing("")
    jobs.wait_final(jobs.submit(job_input, webhook=url))
    body = _deliveries(clock, receiver, path, 1, 30)[0].body
    record(keys=sorted(body) if isinstance(body, dict) else None)
    body = body if isinstance(body, dict) else {}
    checks.that(
        "webhook.payload",
        body.get("input") == job_input and body.get("webhook") == url,
        expected={"input": job_input, "webhook": url},
        observed=body,
    )
