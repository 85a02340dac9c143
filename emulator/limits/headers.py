"""Header values of a limited reply.

`Retry-After` is delta-seconds (RFC 9110): the earliest whole second at which the same request
would be accepted. The IETF RateLimit fields follow draft-ietf-httpapi-ratelimit-headers (-08 and
later, structured fields): `RateLimit-Policy: "run";q=1000;w=10` names the quota and
`RateLimit: "run";r=0;t=4` the remaining quota and the seconds until it is whole again. They are
off by default because the real service's headers are unknown.
"""

from __future__ import annotations

import math

from emulator.limits.algorithms import EPSILON, RateAlgorithm


def policy_header(budget: str, algorithm: RateAlgorithm) -> str:
    return f'"{budget}";q={algorithm.limit};w={algorithm.window_s:g}'


def ratelimit_headers(budget: str, algorithm: RateAlgorithm, now: float) -> dict[str, str]:
    remaining, reset = algorithm.state(now)
    return {
        "RateLimit-Policy": policy_header(budget, algorithm),
        "RateLimit": f'"{budget}";r={remaining};t={max(0, math.ceil(reset - EPSILON))}',
    }
