"""A webhook receiver on 127.0.0.1:0 in a thread, answering a scripted sequence of statuses."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: Any
    received: float


@dataclass
class Receiver:
    host: str = "127.0.0.1"
    port: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    answers: deque[int] = field(default_factory=deque)
    """Statuses to answer, one per delivery; 200 once the script runs out."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((self.host, self.port), self._handler_class())
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}/{path.lstrip('/')}"

    def for_path(self, path: str) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.path == "/" + path.lstrip("/")]

    def script(self, *statuses: int) -> None:
        with self._lock:
            self.answers = deque(statuses)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                with receiver._lock:
                    receiver.deliveries.append(
                        Delivery(self.path, dict(self.headers), body, time.perf_counter())
                    )
                    status = receiver.answers.popleft() if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: deliveries are inspected, not logged

        return Handler
