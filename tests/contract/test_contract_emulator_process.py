"""The launcher of `contract.emulator_process` against small stand-in servers (no emulator needed)."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest

from contract.emulator_process import (
    ChildServer,
    Ready,
    ServerStartError,
    emulator_env,
    read_ready_file,
    write_ready_file,
)

# A stand-in that speaks the protocol: optional delay, then the ready file; waits for SIGTERM
# (or ignores it, to exercise the SIGKILL fallback).
SERVER = textwrap.dedent(
    """
    import os, signal, sys, time
    sys.path.insert(0, {root!r})
    from contract.emulator_process import write_ready_file
    args = sys.argv[1:]
    delay = float(os.environ.get("STAND_IN_DELAY", "0"))
    if os.environ.get("STAND_IN_IGNORE_TERM"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if os.environ.get("STAND_IN_FAIL"):
        print("cannot listen: address in use", flush=True)
        sys.exit(2)
    time.sleep(delay)
    print("argv:", " ".join(args), "key:", os.environ.get("PODBENCH_EMULATOR_API_KEY"), flush=True)
    ready = args[args.index("--ready-file") + 1]
    write_ready_file(__import__("pathlib").Path(ready), port=4321, host="127.0.0.1", pid=os.getpid())
    while True:
        time.sleep(0.05)
    """
)
ROOT = Path(__file__).resolve().parents[2]


def stand_in(tmp_path: Path, **env: str) -> ChildServer:
    script = tmp_path / "server.py"
    script.write_text(SERVER.format(root=str(ROOT)))
    return ChildServer(
        [sys.executable, str(script)],
        ready_file=tmp_path / "ready.json",
        log_path=tmp_path / "server.log",
        env={**emulator_env("k-1", "a-1"), **env},
        name="the stand-in",
        stop_timeout_s=1.0,
    )


def test_start_gives_the_address_and_stop_ends_it(tmp_path: Path) -> None:
    server = stand_in(tmp_path)
    with server:
        assert server.ready == Ready(4321, "127.0.0.1", server.proc.pid if server.proc else -1)
        assert server.url == "http://127.0.0.1:4321"
        assert os.getsid(server.pid) == server.pid, "its own session"
        assert f"--parent-pid {os.getpid()}" in server.output()
        assert "key: k-1" in server.output()
    assert server.proc is not None and server.proc.returncode == -signal.SIGTERM


def test_a_server_that_exits_early_is_reported_with_its_last_line(tmp_path: Path) -> None:
    server = stand_in(tmp_path, STAND_IN_FAIL="1")
    with pytest.raises(ServerStartError, match="the stand-in did not start: cannot listen: address in use"):
        server.start()


def test_waiting_is_bounded_and_says_what_it_waits_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("contract.emulator_process.NOTICE_AFTER_S", 0.2)
    notices: list[str] = []
    server = stand_in(tmp_path, STAND_IN_DELAY="30")
    server.start_timeout_s = 1.0
    server.notice = notices.append
    started = time.monotonic()
    with pytest.raises(ServerStartError, match="did not start within 1 s"):
        server.start()
    assert time.monotonic() - started < 5
    assert notices and "waiting for the stand-in" in notices[0] and str(server.ready_file) in notices[0]
    assert server.proc is not None and server.proc.returncode is not None, "stopped after the timeout"


def test_a_server_that_ignores_sigterm_is_killed_after_the_bound(tmp_path: Path) -> None:
    server = stand_in(tmp_path, STAND_IN_IGNORE_TERM="1")
    server.start()
    started = time.monotonic()
    assert server.stop() == -signal.SIGKILL
    assert time.monotonic() - started < 5


def test_ready_file_round_trip_and_half_written_files(tmp_path: Path) -> None:
    path = tmp_path / "ready.json"
    assert read_ready_file(path) is None
    path.write_text('{"port": 12')
    assert read_ready_file(path) is None
    write_ready_file(path, port=8000, host="::", pid=7)
    assert read_ready_file(path) == Ready(8000, "::", 7)
    assert Ready(8000, "::", 7).url == "http://[::1]:8000"
    assert list(tmp_path.iterdir()) == [path], "no temporary file left behind"


async def test_watch_parent_stops_once_the_parent_is_not_ours() -> None:
    import asyncio

    from contract.emulator_process import watch_parent

    ours, gone = asyncio.Event(), asyncio.Event()
    watch_parent(os.getppid(), ours, every_s=0.01)
    watch_parent(os.getppid() + 1_000_000, gone, every_s=0.01)  # never our parent
    await asyncio.wait_for(gone.wait(), timeout=5)
    assert not ours.is_set()
