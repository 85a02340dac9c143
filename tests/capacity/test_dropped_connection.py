"""A connection that closes before its answer is a dropped job, counted once: the step runner
never lets its HTTP client resend the GET silently (which would turn a drop into a slow success)."""

from __future__ import annotations

import asyncio
import json

from capacity.ramp import Ramp
from capacity.runner import StepRunner
from capacity.slo import Slo
from capacity.steps import summarize


class _DropsEveryPoll(asyncio.Protocol):
    """POST /run answers a queued job; GET /status closes the connection unanswered; /health answers."""

    counts: dict[str, int]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport, self.buffer = transport, b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, rest = self.buffer.split(b"\r\n\r\n", 1)
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                0,
            )
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            method, path = head.split(b" ")[:2]
            kind = (
                "poll" if b"/status/" in path else "health" if path.endswith(b"/health") else method.decode()
            )
            self.counts[kind] = self.counts.get(kind, 0) + 1
            if kind == "poll":
                self.transport.close()
                return
            n = self.counts[kind]
            body = json.dumps({"id": f"job-{n}", "status": "IN_QUEUE"} if kind == "POST" else {}).encode()
            head_out = (
                f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            self.transport.write(head_out.encode() + body)


async def test_a_dropped_poll_is_counted_once_as_dropped() -> None:
    counts: dict[str, int] = {}

    def factory() -> _DropsEveryPoll:
        protocol = _DropsEveryPoll()
        protocol.counts = counts
        return protocol

    server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    ramp = Ramp(
        start_rps=4.0,
        max_rps=4.0,
        min_hold_s=1.0,
        max_hold_s=1.0,
        refine_steps=0,
        saturation_hold_s=0.0,
        drain_s=1.0,
        submit="run",
        arrivals="uniform",
        input={"sleep": 0},
    )
    slo = Slo(95, 1000)
    try:
        data = await StepRunner(f"http://127.0.0.1:{port}/v2", "e", "key", ramp, slo).run()
    finally:
        server.close()
        await server.wait_closed()
    jobs = [j for j in data.jobs if j.status != "NOT_SENT"]
    assert len(jobs) >= 3 and counts["POST"] == len(jobs)
    assert counts["poll"] == len(jobs)  # each job's one poll, dropped and never sent again
    assert all(j.status == "DROPPED" and j.polls == 1 for j in jobs)
    step = summarize(data.windows[0], data.jobs, data.in_system, data.health, slo, data.ended_t)
    assert step.dropped == len(jobs) and step.rejected == len(jobs) and step.completed == 0
