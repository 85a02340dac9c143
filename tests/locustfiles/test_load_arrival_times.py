"""A streamed line is stamped with when it reached the machine, not when the reader got to it.

A loopback server writes event lines on a script and notes the wall clock just before and just after
each write. The client (Locust's FastHttpSession, in a child process as the load suite runs it) is
busy (asleep, not reading) while the first line arrives, then reads every line through `KernelTimes`.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

SCRIPT = ((0.03, "data: 0"), (0.25, "data: 1"), (0.1, "data: 2"), (0.01, "data: 3"))
"""(seconds to wait, line to write): line 0 arrives while the client sleeps, 1 while it waits in a
read; 2 and 3 both arrive while it sleeps again, so one read takes both."""
ASLEEP_S = 0.15

CLIENT = """
import json, sys, time
from locust.contrib.fasthttp import FastHttpSession
from locust.event import EventHook
from locustfiles._arrival import KernelTimes

session = FastHttpSession(sys.argv[1], EventHook(), None, network_timeout=5.0, max_retries=0)
resp = session.request("GET", "/stream", stream=True)
lines = KernelTimes(resp._response)
print("stamping", flush=True)  # the server writes once the kernel stamps this socket
asleep = float(sys.argv[2])
time.sleep(asleep)  # busy elsewhere: line 0 waits in the socket
got = []
while True:
    line, at = lines.readline(b"\\n")
    if not line:
        break
    if line.strip():
        got.append([line.strip().decode(), at, time.time()])
        if len(got) == 2:
            time.sleep(asleep)  # lines 2 and 3 arrive meanwhile
print(json.dumps({"kernel": lines.kernel, "lines": got}))
"""


class PacedServer:
    """Answers one GET with a chunked body written as SCRIPT says, noting each write's span."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.writes: list[tuple[float, float]] = []
        self.go = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(4096)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            if not self.go.wait(30):
                return
            for wait, text in SCRIPT:
                time.sleep(wait)
                body = f"{text}\n\n".encode()
                before = time.time()
                conn.sendall(b"%x\r\n%s\r\n" % (len(body), body))
                self.writes.append((before, time.time()))
            conn.sendall(b"0\r\n\r\n")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture()
def server() -> Iterator[PacedServer]:
    srv = PacedServer()
    yield srv
    srv.close()


@pytest.mark.skipif(sys.platform != "linux", reason="the kernel's receive stamps are read on Linux only")
def test_each_line_is_stamped_when_it_arrived_not_when_it_was_read(server: PacedServer) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", CLIENT, f"http://127.0.0.1:{server.port}", str(ASLEEP_S)],
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "stamping"
        server.go.set()
        out, _ = child.communicate(timeout=60)
    assert child.returncode == 0
    result = json.loads(out.strip().splitlines()[-1])
    assert result["kernel"] is True
    lines, writes = result["lines"], server.writes
    assert [text for text, _, _ in lines] == [text for _, text in SCRIPT]
    stamps = [stamp for _, stamp, _ in lines]
    slack = 0.0005  # the two clocks are one (the wall clock); this covers their reading
    for index in (0, 1, 3):
        before, after = writes[index]
        assert before - slack <= stamps[index] <= after + slack, (index, stamps[index] - before)
    assert lines[0][2] - stamps[0] > ASLEEP_S / 2  # line 0 was read late; its stamp is not
    # Lines that one read takes share its newest segment's stamp: never before the line was
    # written, never after it was read.
    assert stamps[2] == stamps[3] and writes[2][0] - slack <= stamps[2] <= lines[2][2]


def test_where_the_kernel_gives_no_stamp_a_line_gets_the_read_time() -> None:
    from locustfiles._arrival import KernelTimes

    class Plain:
        """A response without a socket to stamp (as over TLS): its own readline is used."""

        _sock = None

        def __init__(self) -> None:
            self.lines = [b"data: 1\n", b""]

        def readline(self, sep: bytes) -> bytes:
            return self.lines.pop(0)

    lines = KernelTimes(Plain())
    assert lines.kernel is False
    before = time.time()
    line, at = lines.readline(b"\n")
    assert line == b"data: 1\n" and before <= at <= time.time()
    assert lines.readline(b"\n")[0] == b""
