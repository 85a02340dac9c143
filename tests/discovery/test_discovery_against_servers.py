"""Discovery against small servers whose limits are known in advance (one per algorithm).

Limits are small (20 per 1 s) so each run takes a few seconds of real time. The servers are
independent of the emulator (a fixed window with boundaries off the clock's multiples, a bucket
with continuous tokens), which is what gives these tests their teeth.
"""

from __future__ import annotations

from typing import Any

import pytest
from discovery_targets import Settings as Target
from discovery_targets import serve

from discovery.operations import Documented
from discovery.runner import ClientTooSlow, Settings, discover

pytestmark = pytest.mark.slow
# `timing` only on the tests that judge measured limits, windows, rates or Retry-After moments
# (tests/README.md); the others check counts that hold however late a request leaves (a cap, no
# limit at all, requests held open for seconds).

LIMIT, WINDOW_S = 20, 1.0


def settings(base_url: str, *, concurrency: bool = False, hint: Documented | None = None) -> Settings:
    return Settings(
        base_url=base_url,
        endpoint_id="ep",
        api_key="test-key",
        operations=("status",),
        fast_rate=500.0,  # the server shares the test's event loop: leave it room
        watch_rate=200.0,
        measure_concurrency=concurrency,
        hints={"status": hint or Documented(LIMIT, WINDOW_S, 5)},
    )


# A stall of the shared event loop longer than this (the host took the CPU) shifts a small bucket's
# count by a refilled token or more; such a run is measured again, at most twice.
DISTURBED_SEND_LAG_MS = 50.0


async def discover_status(target: Target) -> dict[str, Any]:
    for _attempt in range(3):
        async with serve(target) as base:
            result: dict[str, Any] = (await discover(settings(base)))["operations"]["status"]
        if result["evidence"]["max_send_lag_ms"] < DISTURBED_SEND_LAG_MS:
            break
    return result


def within(measured: float | None, configured: float, share: float = 0.02) -> bool:
    return measured is not None and abs(measured - configured) <= share * configured


@pytest.mark.timing
@pytest.mark.parametrize("algorithm", ["fixed_window", "token_bucket"])
async def test_names_the_algorithm_and_finds_the_numbers(algorithm: str) -> None:
    result: dict[str, Any] = await discover_status(Target(algorithm, LIMIT, WINDOW_S, burst=LIMIT))
    assert result["algorithm"] == algorithm, result["evidence"]["mismatches"]
    assert within(result["limit"], LIMIT), result
    assert within(result["window_s"], WINDOW_S), result
    assert within(result["burst"], LIMIT), result
    assert result["retry_after_accurate"] is True
    assert all(len(row) == 4 for row in result["timeline"])
    straddle = result["evidence"].get("straddle", {"accepted": 0})
    if algorithm == "fixed_window":  # N before the boundary and N after it
        assert straddle["accepted"] >= 1.8 * LIMIT
    elif algorithm == "sliding_window":
        assert straddle["accepted"] <= 1.1 * LIMIT


@pytest.mark.timing
async def test_a_bucket_with_a_burst_unlike_its_rate() -> None:
    result: dict[str, Any] = await discover_status(Target("token_bucket", LIMIT, WINDOW_S, burst=8))
    assert result["algorithm"] == "token_bucket"
    assert within(result["burst"], 8, 0.13)  # one request in 8 is 12.5%: the count is exact or off by one
    assert within(result["rate_per_s"], LIMIT / WINDOW_S)


@pytest.mark.timing
async def test_a_retry_after_one_second_too_late_is_caught() -> None:
    async with serve(Target("token_bucket", LIMIT, WINDOW_S, retry_after_offset_s=1.0)) as base:
        result = (await discover(settings(base)))["operations"]["status"]
    assert result["algorithm"] == "token_bucket"
    assert result["retry_after_accurate"] is False
    assert result["evidence"]["retry_after"]["before"]["status"] != 429


async def test_no_limit_is_reported_as_none() -> None:
    async with serve(Target("sliding_window", 100_000, WINDOW_S)) as base:
        result = (await discover(settings(base, hint=Documented(50, WINDOW_S, None))))["operations"]["status"]
    assert result["algorithm"] == "none"
    assert result["limit"] is None


async def test_the_concurrency_limit_and_a_released_place() -> None:
    async with serve(Target("token_bucket", LIMIT, WINDOW_S, concurrency=4)) as base:
        result = (await discover(settings(base, concurrency=True)))["operations"]["status"]
    assert result["concurrency"] == 4
    assert result["evidence"]["concurrency"]["released_slot_usable"] is True


async def test_refuses_a_limit_the_client_cannot_outrun() -> None:
    with pytest.raises(ClientTooSlow, match="needs bursts of"):
        await discover(settings("http://127.0.0.1:9/v2", hint=Documented(100_000, 1.0, None)))


async def test_the_request_cap_stops_the_run() -> None:
    capped = Settings(**{**settings("").__dict__, "max_requests": 30})
    async with serve(Target("sliding_window", LIMIT, WINDOW_S)) as base:
        capped = Settings(**{**capped.__dict__, "base_url": base})
        result = await discover(capped)
    assert result["interrupted"] and "30" in result["interrupted"]
    assert result["requests_sent"] == 30
    assert len(result["operations"]["status"]["timeline"]) == 30
