"""One send per request: a GET whose connection closes unanswered is a failure, never resent.

geventhttpclient (under Locust's FastHttpUser) sends an idempotent request such as GET again on a
new connection when the first one closes before any reply: `HTTPClient.request` gives each
request a budget of `pool size + 1` extra attempts. A dropped GET would then show as a slow
success, and the target would see one request more than the generator counted. Here each
client's pool reports a size of -1 to that budget, which leaves no extra attempt, so the library
raises the original error (the connection closed, or was reset) and Locust's FastHttpSession
records it like any connection error: status 0, not a timeout, in `status_codes["0"]` and the
report's "no reply / connection errors". The pool's real size was used when it was built (its
semaphore and socket queue) and is read nowhere else; tests/locustfiles/test_load_one_send.py
fails if a library update resends again. No wrapper runs per request, so this costs nothing.

The pool still discards idle keep-alive sockets the server closed (it checks them before
reuse), so a stale connection is not mistaken for a drop. Locust's own `max_retries` stays 0.
"""

from __future__ import annotations

from typing import Any

from geventhttpclient.client import HTTPClient, HTTPClientPool
from geventhttpclient.url import URL
from locust.contrib.fasthttp import FastHttpSession

NO_RESEND = -1
"""The pool size the resend budget sees: `NO_RESEND + 1` = 0 extra attempts."""


class OneSendClient(HTTPClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._connection_pool.size = NO_RESEND


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
