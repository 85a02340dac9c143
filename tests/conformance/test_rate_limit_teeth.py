"""The 429 suite has teeth: an emulator that breaks one rate-limit rule makes exactly the claims
of that rule fail — no limit, a wrong limit, a wrong Retry-After, a 503 instead of 429, a 429
that is not JSON. The breaks are made by config (`--rate-limits off`) or by a proxy in front of
the emulator that rewrites what the emulator is told or what it answers."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from conformance_harness import SESSION, BreakingProxy, SuiteRun, run_suite, target_args

from conformance.emulator_boot import BootedEmulator, booted_emulator
from conformance.profile import Profile
from conformance.ratelimit_profile import DOCUMENTED_LIMITS, RateLimit
from conformance.violations import HarnessError

RATE_LIMIT_CLAIMS = {
    "ratelimit.table",
    "ratelimit.concurrency",
    "ratelimit.queue_rule",
    "ratelimit.retry_after",
    "ratelimit.refusal",
}
PASSED_THROUGH = ("retry-after", "ratelimit", "x-ratelimit")


class LimitBreakingProxy(BreakingProxy):  # type: ignore[misc]  # mypy sees conformance_harness (not a package) as Any
    """Forwards API and control calls to the emulator, keeping its rate-limit headers, and breaks one thing:
    `limits_plus` is added to every limit the suite sets through the control API (a wrong limit),
    `retry_after_plus` to every Retry-After (may be negative), `refusal_status` / `refusal_body` replace the 429's."""

    def __init__(
        self,
        upstream: str,
        *,
        limits_plus: int = 0,
        retry_after_plus: int = 0,
        refusal_status: int = 429,
        refusal_body: bytes | None = None,
    ) -> None:
        super().__init__(upstream, lambda request, status, body: (status, body))
        self.limits_plus = limits_plus
        self.retry_after_plus = retry_after_plus
        self.refusal_status = refusal_status
        self.refusal_body = refusal_body

    def _told(self, request: web.Request, body: bytes) -> bytes:
        if not (self.limits_plus and request.method == "PATCH" and "/_emulator/endpoints/" in request.path):
            return body
        patch = json.loads(body)
        limits = patch.get("limits")
        if isinstance(limits, dict) and limits.get("enabled") is True:
            for table in limits.values():
                if isinstance(table, dict):
                    for key in ("rate", "concurrency"):
                        if isinstance(table.get(key), int) and not isinstance(table[key], bool):
                            table[key] += self.limits_plus
            limits.setdefault("queue", {"min_jobs": 50 + self.limits_plus})
        return json.dumps(patch).encode()

    async def _forward(self, request: web.Request) -> web.Response:
        session: aiohttp.ClientSession = request.app[SESSION]
        body = self._told(request, await request.read())
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with session.request(
            request.method, self.upstream + request.path_qs, data=io.BytesIO(body), headers=headers
        ) as up:
            raw = await up.read()
            kept = {k: v for k, v in up.headers.items() if k.lower().startswith(PASSED_THROUGH)}
            status, content_type = up.status, up.content_type
            if status == 429:
                status = self.refusal_status
                if self.refusal_body is not None:
                    raw, content_type = self.refusal_body, "text/plain"
                if self.retry_after_plus and "Retry-After" in kept:
                    kept["Retry-After"] = str(int(kept["Retry-After"]) + self.retry_after_plus)
            return web.Response(status=status, body=raw, content_type=content_type, headers=kept)


def _run_429_suite(tmp_path: Path, base: str, emulator: BootedEmulator) -> SuiteRun:
    """The 429 suite only, against `base` (the emulator or a proxy), its control API reached through `base`."""
    args, env = target_args(tmp_path, base, emulator, control_url=f"{base}/_emulator")
    return run_suite(tmp_path, "-k", "rate_limit", *args, env=env)


@pytest.fixture(scope="module")
def limited_emulator() -> Iterator[BootedEmulator]:
    with booted_emulator() as booted:
        yield booted


def _proxied(tmp_path: Path, emulator: BootedEmulator, **breaks: Any) -> SuiteRun:
    with LimitBreakingProxy(emulator.base_url.removesuffix("/v2"), **breaks) as proxy:
        return _run_429_suite(tmp_path, proxy.url, emulator)


def test_the_429_suite_passes_through_an_honest_proxy(
    tmp_path: Path, limited_emulator: BootedEmulator
) -> None:
    result = _proxied(tmp_path, limited_emulator)
    assert result.with_outcome("passed") == RATE_LIMIT_CLAIMS, result.output[-3000:]
    assert result.outcomes()["ratelimit.headers"] == "recorded"
    assert result.claim("ratelimit.retry_after")["measured"]["retry_after"] == "10"


def test_no_limit_violates_every_rate_limit_claim(tmp_path: Path) -> None:
    with booted_emulator(rate_limits=False) as unlimited:  # the control API cannot turn limits on
        result = _run_429_suite(tmp_path, unlimited.base_url.removesuffix("/v2"), unlimited)
    assert result.with_outcome("violated") == RATE_LIMIT_CLAIMS, result.output[-3000:]
    assert result.verdict["summary"]["harness_errors"] == 0
    assert result.claim("ratelimit.table")["observed"].startswith("7 accepted")


def test_a_wrong_limit_violates_the_limit_claims_only(tmp_path: Path, emulator: BootedEmulator) -> None:
    # an emulator of its own: the queue limit the proxy adds outlives the suite's restore of the limits
    result = _proxied(tmp_path, emulator, limits_plus=1)
    assert result.with_outcome("violated") == {
        "ratelimit.table",
        "ratelimit.concurrency",
        "ratelimit.queue_rule",
    }, result.output[-3000:]
    assert result.with_outcome("passed") == {"ratelimit.retry_after", "ratelimit.refusal"}
    assert result.claim("ratelimit.table")["observed"] == "5 accepted, 2 refused with 429"


@pytest.mark.parametrize(("shift", "finding"), [(3, "too long"), (-5, "too short")])
def test_a_wrong_retry_after_violates_only_the_retry_after_claim(
    tmp_path: Path, limited_emulator: BootedEmulator, shift: int, finding: str
) -> None:
    result = _proxied(tmp_path, limited_emulator, retry_after_plus=shift)
    assert result.with_outcome("violated") == {"ratelimit.retry_after"}, result.output[-3000:]
    assert f"Retry-After promised {finding} a wait" in result.claim("ratelimit.retry_after")["message"]


def test_a_503_instead_of_429_violates_every_rate_limit_claim(
    tmp_path: Path, limited_emulator: BootedEmulator
) -> None:
    result = _proxied(tmp_path, limited_emulator, refusal_status=503)
    assert result.with_outcome("violated") == RATE_LIMIT_CLAIMS, result.output[-3000:]
    assert "503" in result.claim("ratelimit.table")["observed"]


def test_a_429_that_is_not_json_violates_only_the_refusal_claim(
    tmp_path: Path, limited_emulator: BootedEmulator
) -> None:
    result = _proxied(tmp_path, limited_emulator, refusal_body=b"slow down")
    assert result.with_outcome("violated") == {"ratelimit.refusal"}, result.output[-3000:]


def test_the_profile_gives_the_expected_limits_and_refuses_bad_ones_naming_the_key() -> None:
    assert Profile().rate_limits == DOCUMENTED_LIMITS
    given = Profile.from_mapping(
        {"rate_limits": {"tolerance": 0.1, "run": {"rate": 30, "window_s": 2, "concurrency": 5}}}
    )
    assert given.rate_limits["run"] == RateLimit(30, 2.0, 5) and given.rate_tolerance == 0.1
    assert given.rate_limits["cancel"] == DOCUMENTED_LIMITS["cancel"]
    for bad, key in [
        ({"run": {"rate": 0}}, "rate_limits.run.rate"),
        ({"tolerance": 1.5}, "rate_limits.tolerance"),
        ({"openai": {"rate": 1}}, "rate_limits.openai"),
        ({"run": {"rate": 1, "burst": 2}}, "rate_limits.run"),
    ]:
        with pytest.raises(HarnessError, match=key.replace(".", r"\.")):
            Profile.from_mapping({"rate_limits": bad})
