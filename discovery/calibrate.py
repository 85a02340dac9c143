"""How fast can this client send? Measured against a loopback server that answers at once.

The answer bounds what discovery can measure: a limit of N per W seconds needs bursts well above
N/W per second, or the client, not the target, is what gets measured. The loopback server is a
bare asyncio protocol with one canned keep-alive answer, so its own cost is small next to the
client's (and it shares the loop, so the figure errs on the low side, the safe side).
"""

from __future__ import annotations

import asyncio

import aiohttp

from discovery.operations import Operation
from discovery.pacer import Pacer, paced_times, send_each_request_once

_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
_PROBE = Operation("calibration", "GET", "health", None, False, None, None)


class _Canned(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            _, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            assert isinstance(self.transport, asyncio.Transport)
            self.transport.write(_ANSWER)


async def client_capacity(duration_s: float = 0.4, offered_rps: float = 20_000.0) -> float:
    """Answered requests per second when offered far more than the client can send."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Canned, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        connector = aiohttp.TCPConnector(limit=256)
        async with aiohttp.ClientSession(connector=connector) as session:
            send_each_request_once(session)
            pacer = Pacer(session, f"http://127.0.0.1:{port}", "calibration", {})
            start = pacer.now()
            sent = await pacer.paced(
                _PROBE, "calibration", paced_times(start, offered_rps), lambda: False, start + duration_s
            )
            answered = [s for s in sent if s.status == 200]
            if len(answered) < 2:
                return 0.0
            elapsed = max(s.t_send + s.latency_ms / 1000.0 for s in answered) - start
            return len(answered) / elapsed
    finally:
        server.close()
        await server.wait_closed()
