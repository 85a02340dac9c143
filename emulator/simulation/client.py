"""When a client sees a job end: the load suite's polling, replayed as arithmetic.

End-to-end latency is measured by the client, from sending the submit to reading the final
status, so it includes the wait between polls. The simulation does not send polls; it asks when
the first poll that could see the job final would have been sent, exactly as the load suite's
`run_poll` flow schedules them: the /run reply, then a sleep of `initial`, a poll, a sleep of
`initial * factor`, ... (capped at `max`), every request taking `request_s` there and back.
`runsync_fallback` holds one /runsync for up to `runsync_wait_s`, then polls the same way.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

JOB_FLOWS = ("run_poll", "runsync_fallback")
"""Trace flows a simulation plays: the two job lifecycles whose end-to-end time is defined."""
SOURCE_OF_FLOW = {"run_poll": "run", "runsync_fallback": "runsync"}
RUNSYNC_WAIT_S = 90.0  # the API's default /runsync wait (doc: 90 000 ms)


@dataclass(frozen=True)
class PollPolicy:
    initial_s: float = 0.2
    factor: float = 1.5
    max_s: float = 2.0
    job_timeout_s: float = 60.0


@dataclass(frozen=True)
class ClientModel:
    """How clients follow jobs: their poll backoff (per flow) and one request's round trip."""

    polls: dict[str, PollPolicy]
    request_s: float = 0.0
    runsync_wait_s: float = RUNSYNC_WAIT_S
    streams: bool = False
    """Generation requests (an `llm` endpoint): each is one held request that streams its tokens."""

    def follower(self, flow: str) -> Follower | StreamFollower:
        policy = self.polls.get(flow, PollPolicy())
        if self.streams:
            return StreamFollower(self.request_s, policy.job_timeout_s)
        return Follower(policy, self.request_s, self.runsync_wait_s, flow)


class StreamFollower:
    """Clients of generation requests: the request stays open and tokens reach the client as they
    are made, so a time on the server is seen one round trip after the submit was sent (half on
    the way in, half on the way out); no polls. A client gives up past its `job_timeout`."""

    def __init__(self, request_s: float, job_timeout_s: float) -> None:
        self.request_s = request_s
        self.job_timeout_s = job_timeout_s

    def seen(self, submitted: float, finished: float) -> tuple[float, int] | None:
        took = finished - submitted + self.request_s
        return None if took > self.job_timeout_s else (took, 0)

    def first_token(self, submitted: float, at: float) -> float:
        return at - submitted + self.request_s


class Follower:
    """One flow's clients. `seen(submitted, finished)` -> (end-to-end seconds, polls), or None when
    the client gave up first (its `job_timeout`), as the load suite counts `unfinished`."""

    def __init__(self, policy: PollPolicy, request_s: float, runsync_wait_s: float, flow: str) -> None:
        self.request_s = request_s
        self.job_timeout_s = policy.job_timeout_s
        self.holds_s = runsync_wait_s if flow == "runsync_fallback" else 0.0
        # Offsets (from the submit's reply, or the end of a /runsync hold) at which each poll reads
        # the job's state on the server: the sleeps so far plus the earlier polls' round trips.
        # Only the polls a client sends: it stops once `job_timeout` has passed before a sleep.
        self._reads: list[float] = []
        slept, delay = 0.0, policy.initial_s
        while slept + len(self._reads) * request_s < policy.job_timeout_s:
            slept += delay
            self._reads.append(slept + len(self._reads) * request_s + request_s / 2)
            delay = min(delay * policy.factor, policy.max_s)

    def seen(self, submitted: float, finished: float) -> tuple[float, int] | None:
        """The server saw the submit at `submitted` (half a round trip after the client sent it)."""
        half = self.request_s / 2
        took = finished - submitted
        if self.holds_s and took <= self.holds_s:
            return took + self.request_s, 0
        # The submit's reply reaches the client half a round trip after the server saw it.
        start = (self.holds_s or 0.0) + half
        index = bisect.bisect_left(self._reads, took - start)
        if index >= len(self._reads):
            return None
        return half + start + self._reads[index] + half, index + 1
