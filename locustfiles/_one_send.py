"""One send per request: a GET whose connection closes unanswered is a failure, never resent.

geventhttpclient (under Locust's FastHttpUser) sends an idempotent request such as GET again on a
new connection when the first one closes before any reply (`HTTPClient.request` allows up to
pool size + 1 attempts), so a dropped GET would show as a slow success and the target would see
one request more than the generator counted. Here each request may take one socket only: asking
for a second within the same request raises `ConnectionDropped`, which Locust's FastHttpSession
records like any connection error (status 0, not a timeout), so it lands in `status_codes["0"]`
and the report's "no reply / connection errors". The pool already discards idle keep-alive
sockets the server closed (it checks them before reuse), so a stale connection is not a drop.

Locust's own `max_retries` stays 0 (its default for users; set explicitly for the sampler).
"""

from __future__ import annotations

from typing import Any, cast

import gevent
from geventhttpclient.client import HTTPClient, HTTPClientPool
from geventhttpclient.connectionpool import ConnectionPool
from geventhttpclient.response import HTTPConnectionClosed
from geventhttpclient.url import URL
from locust.contrib.fasthttp import FastHttpSession


class ConnectionDropped(HTTPConnectionClosed):
    """The connection closed before any reply, and the request is not sent again."""


class _OneSocketPerRequest:
    """A client's connection pool that hands each request (greenlet) one socket, then refuses."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._taken: dict[int, bool] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)

    def begin(self) -> None:
        self._taken[id(gevent.getcurrent())] = False

    def end(self) -> None:
        self._taken.pop(id(gevent.getcurrent()), None)

    def get_socket(self) -> Any:
        me = id(gevent.getcurrent())
        if self._taken.get(me):
            raise ConnectionDropped("connection closed before any reply (not sent again)")
        self._taken[me] = True
        return self._pool.get_socket()


class OneSendClient(HTTPClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._guard = _OneSocketPerRequest(self._connection_pool)
        self._connection_pool = cast(ConnectionPool, self._guard)

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self._guard.begin()
        try:
            return super().request(*args, **kwargs)
        finally:
            self._guard.end()


class OneSendClientPool(HTTPClientPool):
    """`HTTPClientPool` whose clients send each request once."""

    def get_client(self, url: str | URL) -> HTTPClient:
        if not isinstance(url, URL):
            url = URL(url)
        key = url.host, url.port
        client = self.clients.get(key)
        if client is None:
            client = self.clients[key] = OneSendClient.from_url(url, **self.client_args)
        return client


def send_once(session: FastHttpSession) -> FastHttpSession:
    """Make a FastHttpSession send every request once (same client settings, new pool)."""
    agent = session.client
    agent.max_retries = 0
    agent.clientpool = OneSendClientPool(**agent.clientpool.client_args)
    return session
