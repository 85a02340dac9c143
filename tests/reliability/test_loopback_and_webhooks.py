"""Exposure: the emulator listens on loopback unless told otherwise, its control API needs the
admin key (black-box, on a real process), and webhooks cannot be steered off the machine.

tests/emulator/ already covers the in-process basics (control auth, `is_loopback`, a remote
webhook refused); these add what a real process and tricky URLs show. No request here leaves
127.0.0.1: URL tricks are checked on `is_loopback` itself, redirects with a loopback receiver.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import yarl
from emulator_process import EmulatorProcess

from emulator.webhooks import is_loopback
from podbench.cli import build_parser

KEY, ADMIN = "exposure-key", "exposure-admin"


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    process = EmulatorProcess(
        tmp_path_factory.mktemp("exposure"),
        api_key=KEY,
        admin_key=ADMIN,
        endpoint_id="x",
        args=["--rate-limits", "off"],
    )  # no --host: the default is what is tested
    yield process
    process.stop()


def _listeners(port: int) -> set[str]:
    """Local addresses (hex, as /proc/net/tcp* write them) listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, _, hex_port = fields[1].rpartition(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_the_emulator_listens_on_loopback_only_by_default(emu: EmulatorProcess) -> None:
    assert emu.info["host"] == "127.0.0.1"
    assert _listeners(emu.port) == {"0100007F"}  # 127.0.0.1 and nothing else (not 0.0.0.0, not ::)


def test_podbench_emulate_defaults_to_loopback() -> None:
    parser, _ = build_parser()
    args = parser.parse_args(["emulate"])
    assert args.host == "127.0.0.1"


@pytest.mark.parametrize(
    "route",
    [
        "GET endpoints",
        "GET endpoints/x",
        "PATCH endpoints/x",
        "GET endpoints/x/jobs",
        "GET endpoints/x/stats",
        "GET endpoints/x/faults",
        "PUT endpoints/x/faults",
        "POST reset",
        "GET clock",
        "POST clock/advance",
        "GET webhooks",
        "GET endpoints/x/limits",
    ],
)
@pytest.mark.parametrize("auth", ["none", "api-key", "bare-admin-key", "wrong"])
def test_every_control_route_needs_the_admin_key(emu: EmulatorProcess, route: str, auth: str) -> None:
    method, path = route.split()
    headers = {
        "none": {},
        "api-key": {"Authorization": f"Bearer {KEY}"},
        "bare-admin-key": {"Authorization": ADMIN},
        "wrong": {"Authorization": f"Bearer {ADMIN}x"},
    }[auth]
    before = emu.stats()
    resp = requests.request(
        method, f"{emu.url}/_emulator/{path}", headers=headers, json={"workers_max": 0}, timeout=10
    )
    assert resp.status_code == 401 and resp.headers["Content-Type"].startswith("application/json"), resp.text
    assert ADMIN not in resp.text
    assert emu.stats() == before


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1@example.com/hook",  # userinfo that looks like a host
        "http://example.com#@127.0.0.1/",  # fragment that looks like a host
        "http://example.com\\@127.0.0.1/",  # backslash trick
        "http://localhost.example.com/",
        "http://127.0.0.1.nip.io/",
        "http://0.0.0.0/",  # every interface, not loopback
        "http://[::]/",
        "http://2130706433/",  # 127.0.0.1 as a number: let no resolver decide
        "http://0x7f000001/",
        "http://10.0.0.1/",
        "http://[::ffff:10.0.0.1]/",
        "http://",
        "not a url",
    ],
)
def test_tricky_webhook_urls_cannot_leave_the_machine(url: str) -> None:
    """The emulator's check and the HTTP client (yarl) must agree on the host it will reach."""
    if not is_loopback(url):
        return
    try:
        host = yarl.URL(url).host or ""
    except ValueError:
        return  # the client refuses the URL: nothing is sent
    assert host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback, (url, host)


def test_the_url_check_has_teeth() -> None:
    assert is_loopback("http://127.0.0.1:9/x") and not is_loopback("http://127.0.0.1@example.com/")


class _Receiver(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).hits.append(self.path)
        if self.path == "/first":
            self.send_response(307)
            port = self.headers.get("Host", "").rpartition(":")[2]
            self.send_header("Location", f"http://127.0.0.1:{port}/second")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


def test_a_webhook_does_not_follow_redirects(emu: EmulatorProcess) -> None:
    """Followed redirects would make the loopback-only rule a formality: a receiver on 127.0.0.1
    answering 307 could send the job's input anywhere. Shown with a loopback-to-loopback redirect."""
    _Receiver.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        emu.control("PATCH", "endpoints/x", json={"workers_min": 1, "cold_start_s": 0, "webhook_attempts": 1})
        hook = f"http://127.0.0.1:{server.server_address[1]}/first"
        resp = requests.post(
            f"{emu.base_v2}/x/run", json={"input": {}, "webhook": hook}, headers=emu.auth, timeout=10
        )
        assert resp.status_code == 200
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not emu.control("GET", "webhooks")["deliveries"]:
            time.sleep(0.1)
        time.sleep(0.3)
    finally:
        server.shutdown()
        server.server_close()
    assert _Receiver.hits[:1] == ["/first"]
    assert "/second" not in _Receiver.hits
