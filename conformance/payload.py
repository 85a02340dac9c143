"""Finding a body-size limit by bisection, cheaply: one buffer, about log2(range) requests.

A probe body is valid JSON of exactly `size` bytes, `{"input":{"output":"ok","pad":"aaa…"}}`, cut
from one preallocated buffer, so a 20 MiB search allocates 20 MiB once. For a foreign worker the
input is the user's sample padded with the one extra key `pad`: a worker that refuses unknown keys
fails such jobs, but what is judged is the HTTP acceptance of the body.

A probe that gets no reply (connection refused or closed, timeout) is sent once more; a second
silence is a HarnessError. It never moves the bisection: a target that went away, or a flaky
network, is not a limit (counting it as a refusal gave false violations at "limit 64 bytes").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance.client import Reply
from conformance.violations import HarnessError

PREFIX = b'{"input":{"output":"ok","pad":"'
SUFFIX = b'"}}'
GROWTH_CAP = 4
"""Probe up to this many times the highest expected limit before calling it 'no limit'."""


@dataclass
class Boundary:
    largest_accepted: int | None = None
    smallest_refused: int | None = None
    refusal: Reply | None = None
    probes: list[tuple[int, int]] = field(default_factory=list)
    """(size, HTTP status or -1 for no reply), in the order sent."""

    def measured(self) -> dict[str, Any]:
        refusal = self.refusal
        return {
            "largest_accepted_bytes": self.largest_accepted,
            "smallest_refused_bytes": self.smallest_refused,
            "requests": len(self.probes),
            "refusal_status": refusal.status if refusal else None,
            "refusal_content_type": refusal.headers.get("content-type") if refusal else None,
            "refusal_body": refusal.text[:500] if refusal else None,
        }


def padded_prefix(job_input: object) -> bytes:
    """The start of a probe body whose input is `job_input` (an object) plus the key `pad`."""
    if not isinstance(job_input, dict):
        return PREFIX
    text = json.dumps({"input": {**job_input, "pad": ""}}, separators=(",", ":"))
    return text[: -len(SUFFIX)].encode()


class BodyProber:
    def __init__(self, send: Callable[[bytes], Reply | None], max_size: int, prefix: bytes = PREFIX) -> None:
        self.send = send
        self.prefix = prefix
        self.buffer = bytearray(b"a" * max_size)
        self.buffer[: len(prefix)] = prefix

    def body(self, size: int) -> bytes:
        if size < len(self.prefix) + len(SUFFIX) or size > len(self.buffer):
            raise HarnessError(f"cannot build a probe body of {size} bytes")
        self.buffer[size - len(SUFFIX) : size] = SUFFIX
        try:
            return bytes(self.buffer[:size])
        finally:
            self.buffer[size - len(SUFFIX) : size] = b"a" * len(SUFFIX)


def find_boundary(
    send: Callable[[bytes], Reply | None], low: int, high: int, prefix: bytes = PREFIX
) -> Boundary:
    """Exact limit: the largest body accepted (2xx) and the smallest refused (4xx).

    `send` returns None when the probe got no reply; see the module docstring.
    """
    prober = BodyProber(send, high * GROWTH_CAP + 1, prefix)
    found = Boundary()

    def accepted(size: int) -> bool:
        body = prober.body(size)
        reply = send(body)
        if reply is None:
            found.probes.append((size, -1))
            reply = send(body)
        if reply is None:
            found.probes.append((size, -1))
            raise HarnessError(
                f"a {size}-byte body got no reply twice (connection refused, closed or timed out); "
                "cannot locate the limit"
            )
        found.probes.append((size, reply.status))
        if reply.status >= 500:
            raise HarnessError(f"a {size}-byte body got HTTP {reply.status}; cannot locate the limit")
        if reply.status < 300:
            return True
        found.refusal = reply  # bisection only moves the refused bound down: this is the smallest
        return False

    ok, bad = 64, None
    if accepted(low):
        ok = low
        probe = high + 1
        while probe <= high * GROWTH_CAP + 1:
            if not accepted(probe):
                bad = probe
                break
            ok, probe = probe, probe * 2
        if bad is None:
            found.largest_accepted = ok
            return found
    else:
        bad = low
    while bad - ok > 1:
        middle = (ok + bad) // 2
        if accepted(middle):
            ok = middle
        else:
            bad = middle
    found.largest_accepted, found.smallest_refused = ok, bad
    return found
