"""Bodies, headers and URLs are bounded: a 1 GB upload is refused before it is read into memory,
and oversized headers or URLs get a JSON 4xx (never aiohttp's text/plain, never a 5xx).

Raw sockets on purpose: the client streams from a generator and stops as soon as it is refused,
so neither side ever holds the gigabyte. The emulator's peak RSS (VmHWM) is read from /proc.
"""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from emulator_process import EmulatorProcess

KEY, ADMIN = "bounded-key", "bounded-admin"
GIB = 1024**3
CHUNK = 1024 * 1024
ALLOWED_PEAK_GROWTH_KIB = 64 * 1024  # the 10 MiB limit plus buffers; a read-in gigabyte would be 1 GiB


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    process = EmulatorProcess(
        tmp_path_factory.mktemp("bounded"),
        api_key=KEY,
        admin_key=ADMIN,
        endpoint_id="b",
        args=["--rate-limits", "off"],
    )
    yield process
    process.stop()


def peak_rss_kib(emu: EmulatorProcess) -> int:
    for line in Path(f"/proc/{emu.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def _read_reply(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    raw = b""
    while b"\r\n\r\n" not in raw:
        chunk = sock.recv(65536)
        if not chunk:
            break
        raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def upload(
    emu: EmulatorProcess, head: str, chunks: Iterator[bytes]
) -> tuple[int, dict[str, str], bytes, int]:
    """Send `head`, then chunks until the server answers (or 1 GiB is sent); return the reply and bytes sent."""
    sent = 0
    with socket.create_connection(("127.0.0.1", emu.port), timeout=30) as sock:
        sock.sendall(head.encode())
        for chunk in chunks:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break  # refused: stop sending
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        status, headers, body = _read_reply(sock)
    return status, headers, body, sent


def _body_stream(total: int, *, chunked: bool) -> Iterator[bytes]:
    payload = b"x" * CHUNK
    start = b'{"input": "'
    yield (b"%x\r\n" % len(start) + start + b"\r\n") if chunked else start
    for _ in range(total // CHUNK):
        yield (b"%x\r\n" % CHUNK + payload + b"\r\n") if chunked else payload


def _head(path: str, extra: str) -> str:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\n"
        f"Content-Type: application/json\r\n{extra}\r\n"
    )


def _assert_json_refusal(status: int, headers: dict[str, str], body: bytes, *codes: int) -> dict[str, object]:
    assert status in codes, (status, body[:300])
    assert headers.get("content-type", "").startswith("application/json"), (headers, body[:300])
    parsed: dict[str, object] = json.loads(body)
    assert parsed.get("error") or parsed.get("detail")
    return parsed


@pytest.mark.parametrize("route", ["run", "runsync"])
@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_a_gigabyte_upload_is_refused_without_reading_it(
    emu: EmulatorProcess, route: str, framing: str
) -> None:
    before = peak_rss_kib(emu)
    extra = "Transfer-Encoding: chunked\r\n" if framing == "chunked" else f"Content-Length: {GIB}\r\n"
    status, headers, body, sent = upload(
        emu, _head(f"/v2/b/{route}", extra), _body_stream(GIB, chunked=framing == "chunked")
    )
    parsed = _assert_json_refusal(status, headers, body, 400)
    assert "exceeded max body size" in str(parsed.get("detail"))
    assert sent < 200 * CHUNK, f"the client sent {sent >> 20} MiB before it was refused"
    growth = peak_rss_kib(emu) - before
    assert growth < ALLOWED_PEAK_GROWTH_KIB, f"peak RSS grew by {growth >> 10} MiB"
    # Still serving, and nothing was queued.
    assert emu.stats()["accepted"] == 0


def test_a_huge_header_gets_a_json_4xx(emu: EmulatorProcess) -> None:
    head = f"GET /v2/b/health HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\nX-Padding: {'p' * 65536}\r\n\r\n"
    status, headers, body, _ = upload(emu, head, iter(()))
    _assert_json_refusal(status, headers, body, 400, 431)


def test_very_many_headers_get_a_json_4xx_or_are_served(emu: EmulatorProcess) -> None:
    many = "".join(f"X-H{i}: {'v' * 60}\r\n" for i in range(4000))  # about 280 KB of headers
    head = f"GET /v2/b/health HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\n{many}\r\n"
    status, headers, body, _ = upload(emu, head, iter(()))
    _assert_json_refusal(status, headers, body, 400, 431)


@pytest.mark.parametrize("where", ["path", "query"])
def test_a_huge_url_gets_a_json_4xx(emu: EmulatorProcess, where: str) -> None:
    long = "a" * 100_000
    target = f"/v2/b/status/{long}" if where == "path" else f"/v2/b/health?x={long}"
    head = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\n\r\n"
    status, headers, body, _ = upload(emu, head, iter(()))
    _assert_json_refusal(status, headers, body, 400, 404, 414, 431)


def test_the_emulator_still_answers_after_the_abuse(emu: EmulatorProcess) -> None:
    head = f"GET /v2/b/health HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\nConnection: close\r\n\r\n"
    status, headers, body, _ = upload(emu, head, iter(()))
    assert status == 200 and "jobs" in json.loads(body)
