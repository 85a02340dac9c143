"""A probe whose connection closes unanswered is recorded as a drop (status 0) and sent once:
the target's rate budget and the timeline count the same requests."""

from __future__ import annotations

import asyncio

import aiohttp

from discovery.operations import operation
from discovery.pacer import Pacer, send_each_request_once


class _ClosesUnanswered(asyncio.Protocol):
    requests = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        _ClosesUnanswered.requests += data.count(b"\r\n\r\n")
        self.transport.close()


async def test_a_dropped_get_is_one_request_with_no_answer() -> None:
    server = await asyncio.get_running_loop().create_server(_ClosesUnanswered, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as session:
            send_each_request_once(session)
            pacer = Pacer(session, f"http://127.0.0.1:{port}/v2", "e", {})
            sample = pacer.send(operation("status"), "cold", pacer.now())
            await pacer.drain()
    finally:
        server.close()
        await server.wait_closed()
    assert sample.status == 0 and _ClosesUnanswered.requests == 1
