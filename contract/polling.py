"""How a client polls `/status` until a job is final: what a reply means, and when to ask next.

I/O-free on purpose: the load users poll from gevent greenlets, the capacity runner from asyncio
tasks and the conformance suite from plain threads (moving a manual clock between polls), so each
keeps its own loop and shares the rules here. The documentation's advice: "Implement polling with
backoff when checking status of asynchronous jobs"
(https://docs.runpod.io/serverless/endpoints/operations, "Best practices").
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from enum import Enum

from contract.states import FINAL_NAMES


class Verdict(Enum):
    AGAIN = "again"
    """Not there yet, or the read failed in a way worth retrying (429, 5xx, no reply): poll again."""
    REACHED = "reached"
    """The job is in one of the awaited states (by default: final)."""
    GONE = "gone"
    """404: the job is unknown (expired, purged, or never existed); polling cannot help."""


def verdict(http_status: int, body: object, until: Collection[str] = FINAL_NAMES) -> Verdict:
    """What a `/status` reply says about a job awaited to reach one of `until`."""
    if http_status == 404:
        return Verdict.GONE
    if 200 <= http_status < 300 and isinstance(body, dict) and body.get("status") in until:
        return Verdict.REACHED
    return Verdict.AGAIN


def backoff(initial_s: float, factor: float, max_s: float) -> Iterator[float]:
    """Seconds to wait before each next poll: `initial_s`, times `factor` each time, capped at `max_s`.

    The delay grows on every poll, answered or not, so a dead target is never polled in a loop."""
    delay = initial_s
    while True:
        yield delay
        delay = min(delay * factor, max_s)


def age_paced(age_s: float, *, floor_s: float, ceiling_s: float, fraction: float = 0.1) -> float:
    """A delay of `fraction` of the job's age, within [floor_s, ceiling_s]: the error it adds to a
    measured latency stays near `fraction` for long waits without polling short jobs slowly."""
    return max(floor_s, min(ceiling_s, fraction * age_s))
