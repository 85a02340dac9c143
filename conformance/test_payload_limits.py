"""Body-size limits of /run (10 MB) and /runsync (20 MB), found to the byte by bisection."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from conformance import checks
from conformance.client import ApiClient, Reply
from conformance.payload import Boundary, find_boundary, padded_prefix
from conformance.plugin import verifies
from conformance.profile import Profile
from conformance.timekeeper import Timekeeper
from conformance.violations import HarnessError, Recording, Severity
from conformance.workload import Workload

# The first test of each operation bisects (about 21 bodies of up to 10 or 20 MB); the second reuses it.
RUN_BUDGET = pytest.mark.budget(jobs=22, requests=22, upload_mb=220)
RUNSYNC_BUDGET = pytest.mark.budget(jobs=22, requests=22, upload_mb=440)
NO_BUDGET = pytest.mark.budget(jobs=0, requests=0)
_found: dict[str, Boundary | HarnessError] = {}


def _sender(api: ApiClient, clock: Timekeeper, operation: str) -> Callable[[bytes], Reply | None]:
    def post(body: bytes) -> Reply:
        params = {"wait": 1000} if operation == "runsync" else None
        return api.send(
            "POST", api.url(operation), data=body, params=params, headers={"Content-Type": "application/json"}
        )

    def send(body: bytes) -> Reply | None:
        try:
            reply: Reply = clock.while_held(lambda: post(body), advance_s=2.0)
            return reply
        except Exception as exc:  # no reply: find_boundary retries once, then calls it a harness error
            if isinstance(exc.__cause__, requests.ConnectionError | requests.Timeout):
                return None
            raise

    return send


def boundary(
    api: ApiClient, clock: Timekeeper, profile: Profile, workload: Workload, operation: str
) -> Boundary:
    if operation not in _found:
        low, high = profile.run_body if operation == "run" else profile.runsync_body
        prefix = padded_prefix(workload.completing("ok"))
        try:
            _found[operation] = find_boundary(_sender(api, clock, operation), low, high, prefix)
        except HarnessError as error:
            _found[operation] = error  # the second test of the operation fails the same way, sending nothing
    found = _found[operation]
    if isinstance(found, HarnessError):
        raise HarnessError(str(found))
    return found


def _check_limit(claim_id: str, found: Boundary, low: int, high: int) -> None:
    checks.that(
        claim_id,
        found.smallest_refused is not None,
        expected=f"bodies over {high} bytes refused",
        observed=f"accepted {found.largest_accepted} bytes",
        severity=Severity.MAJOR,
    )
    assert found.largest_accepted is not None and found.smallest_refused is not None
    checks.that(
        claim_id,
        found.largest_accepted >= low and found.smallest_refused <= high + 1,
        expected=f"limit between {low} and {high} bytes",
        observed=f"largest accepted {found.largest_accepted}, smallest refused {found.smallest_refused}",
        severity=Severity.MAJOR,
    )


@pytest.mark.portable
@RUN_BUDGET
@verifies("run.payload_limit")
def test_run_body_limit_is_10_mb(
    api: ApiClient, clock: Timekeeper, profile: Profile, workload: Workload, record: Recording
) -> None:
    found = boundary(api, clock, profile, workload, "run")
    record(**found.measured())
    _check_limit("run.payload_limit", found, *profile.run_body)


@pytest.mark.portable
@NO_BUDGET
@verifies("run.payload_refusal")
def test_run_oversized_body_is_refused_with_400_and_a_problem_body(
    api: ApiClient, clock: Timekeeper, profile: Profile, workload: Workload, record: Recording
) -> None:
    found = boundary(api, clock, profile, workload, "run")
    record(**found.measured())
    refusal = found.refusal
    checks.that(
        "run.payload_refusal",
        refusal is not None,
        expected="an HTTP reply refusing an oversized body",
        observed=f"no body was refused (largest accepted {found.largest_accepted} bytes)",
    )
    assert refusal is not None
    checks.status_is("run.payload_refusal", refusal, 400)
    checks.client_error_with_message("run.payload_refusal", refusal)


@pytest.mark.portable
@RUNSYNC_BUDGET
@verifies("runsync.payload_limit")
def test_runsync_body_limit_is_20_mb(
    api: ApiClient, clock: Timekeeper, profile: Profile, workload: Workload, record: Recording
) -> None:
    found = boundary(api, clock, profile, workload, "runsync")
    record(**found.measured())
    _check_limit("runsync.payload_limit", found, *profile.runsync_body)


@pytest.mark.portable
@NO_BUDGET
@verifies("runsync.payload_refusal")
def test_runsync_oversized_body_reply_is_recorded(
    api: ApiClient, clock: Timekeeper, profile: Profile, workload: Workload, record: Recording
) -> None:
    found = boundary(api, clock, profile, workload, "runsync")
    record(**found.measured())
