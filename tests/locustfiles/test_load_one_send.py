"""A GET whose connection closes unanswered is one failed request, never a silent second send.

A tiny loopback server closes the first connection after reading the request and answers every
later one. The client runs in a child process (Locust gevent-patches whatever imports it).
Plain FastHttpSession sends the GET again and reports a 200 (two requests reach the server);
with `send_once` the server sees one request and the client a connection error (status 0).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

CLIENT = """
import json, sys
from locust.contrib.fasthttp import FastHttpSession
from locust.event import EventHook
from locustfiles._one_send import send_once

url, mode = sys.argv[1], sys.argv[2]
session = FastHttpSession(url, EventHook(), None, network_timeout=5.0, max_retries=0)
if mode == "once":
    send_once(session)
resp = session.request("GET", "/status/x")
print(json.dumps({"status": resp.status_code or 0, "error": type(getattr(resp, "error", None)).__name__}))
"""


class DropFirstServer:
    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                if not data:
                    continue
                self.requests += 1
                if self.requests == 1:
                    continue  # close without a reply: a dropped connection
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def close(self) -> None:
        self._stop = True
        self.sock.close()


@pytest.fixture()
def server() -> Iterator[DropFirstServer]:
    srv = DropFirstServer()
    yield srv
    srv.close()


def run_client(port: int, mode: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CLIENT, f"http://127.0.0.1:{port}", mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_geventhttpclient_alone_resends_a_dropped_get(server: DropFirstServer) -> None:
    assert run_client(server.port, "plain")["status"] == 200
    assert server.requests == 2  # the library's silent second send: why send_once exists


def test_send_once_counts_a_dropped_get_as_a_connection_error(server: DropFirstServer) -> None:
    result = run_client(server.port, "once")
    assert result["status"] == 0 and result["error"] in ("HTTPConnectionClosed", "ConnectionResetError")
    assert server.requests == 1
