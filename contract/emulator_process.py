"""The emulator's process protocol, and the one launcher every harness starts it with.

The protocol (`python -m emulator`; `bench/bare_app.py` speaks it too):
- keys travel in the environment ($PODBENCH_EMULATOR_API_KEY, $PODBENCH_EMULATOR_ADMIN_KEY), never
  in argv, so they do not show in `ps`;
- `--ready-file PATH`: once listening, the server writes `{"port", "host", "pid"}` there
  atomically (temporary file + rename), so a reader never sees half a file;
- `--parent-pid PID`: the server exits once it is no longer PID's child. The launcher starts it in
  its own session, so a Ctrl-C at the terminal reaches the harness only (which then finishes what
  it was doing, writes its results and stops the server); should the harness be killed outright,
  the server notices within a second and exits instead of lingering;
- SIGTERM (or SIGINT) stops it cleanly with exit code 0.

`ChildServer` is the launcher: it starts the command, waits for the ready file (bounded; after
10 s it says on stderr what it waits for), gives back the address, and stops the server with
SIGTERM, then SIGKILL for its whole session after a bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

API_KEY_ENV = "PODBENCH_EMULATOR_API_KEY"
ADMIN_KEY_ENV = "PODBENCH_EMULATOR_ADMIN_KEY"
READY_FILE_FLAG = "--ready-file"
PARENT_PID_FLAG = "--parent-pid"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
NOTICE_AFTER_S = 10.0
POLL_S = 0.02


class ServerStartError(RuntimeError):
    """The server exited or stayed silent before writing its ready file; the message says which."""


@dataclass(frozen=True)
class Ready:
    """What the ready file says: where the server listens and its process id."""

    port: int
    host: str
    pid: int

    @property
    def url(self) -> str:
        """`http://HOST:PORT` to connect to (a wildcard bind address means loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"


def emulator_command(*args: str, python: str = sys.executable) -> list[str]:
    """argv for `python -P -m emulator ARGS` with this interpreter (so it imports this tree). `-P`
    keeps the working folder off `sys.path`: a folder there named like one of podbench's packages
    (a worker repository's `worker/`, a result folder `capacity/`) must not shadow it."""
    return [python, "-P", "-m", "emulator", *args]


def emulator_env(api_key: str, admin_key: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) plus the emulator's keys."""
    return {**(os.environ if base is None else base), API_KEY_ENV: api_key, ADMIN_KEY_ENV: admin_key}


def write_ready_file(path: Path, *, port: int, host: str, pid: int) -> None:
    """The server side: write the ready file atomically (a reader never sees it half-written)."""
    tmp = path.with_name(f"{path.name}.{pid}.tmp")
    tmp.write_text(json.dumps({"port": port, "host": host, "pid": pid}))
    os.replace(tmp, path)


def watch_parent(parent_pid: int, stop: asyncio.Event, every_s: float = 1.0) -> None:
    """The server side of `--parent-pid`: set `stop` once this process is no longer `parent_pid`'s
    child (its harness died without stopping it). Call from the server's running event loop. Real
    time on purpose: this watches a process, not an emulated queue."""
    loop = asyncio.get_running_loop()

    def check() -> None:
        if os.getppid() != parent_pid:
            stop.set()
        else:
            loop.call_later(every_s, check)

    loop.call_later(every_s, check)


def read_ready_file(path: Path) -> Ready | None:
    """The harness side: the ready file's content, or None while it is not there yet."""
    try:
        info = json.loads(path.read_text())
        return Ready(int(info["port"]), str(info["host"]), int(info["pid"]))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return None  # not ours to judge mid-write; the deadline bounds a file that never becomes valid


def _notice_on_stderr(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


class ChildServer:
    """A server child process speaking the protocol above; as a context manager it starts the server
    (unless `start()` was called already) and stops it on exit.

    `command` is the server's argv (`emulator_command(...)`); the launcher adds `--ready-file` and,
    unless `watch_parent` is False, `--parent-pid`. `prefix` goes before it (e.g. `taskset -c 0`;
    it must exec the server so the PID stays the same). Output goes to `log_path`.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        ready_file: Path,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        prefix: Sequence[str] = (),
        name: str = "the emulator",
        watch_parent: bool = True,
        start_timeout_s: float = START_TIMEOUT_S,
        stop_timeout_s: float = STOP_TIMEOUT_S,
        notice: Callable[[str], None] = _notice_on_stderr,
    ) -> None:
        self.command = [*command, READY_FILE_FLAG, str(ready_file)]
        if watch_parent:
            self.command += [PARENT_PID_FLAG, str(os.getpid())]
        self.argv = [*prefix, *self.command]
        self.ready_file, self.log_path, self.name = ready_file, log_path, name
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.start_timeout_s, self.stop_timeout_s = start_timeout_s, stop_timeout_s
        self.notice = notice
        self.proc: subprocess.Popen[bytes] | None = None
        self._ready: Ready | None = None

    @property
    def ready(self) -> Ready:
        if self._ready is None:
            raise RuntimeError(f"{self.name} has not been started")
        return self._ready

    @property
    def url(self) -> str:
        return self.ready.url

    @property
    def port(self) -> int:
        return self.ready.port

    @property
    def pid(self) -> int:
        return self.ready.pid

    def start(self) -> Ready:
        """Start the server and wait for its ready file; ServerStartError (server stopped) otherwise."""
        self.ready_file.unlink(missing_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._ready = self._wait_ready(self.proc)
        except BaseException:
            self.stop()
            raise
        return self._ready

    def _wait_ready(self, proc: subprocess.Popen[bytes]) -> Ready:
        started = time.monotonic()
        next_notice = started + NOTICE_AFTER_S
        while True:
            ready = read_ready_file(self.ready_file)
            if ready is not None:
                return ready
            if proc.poll() is not None:
                raise ServerStartError(f"{self.name} did not start: {self._last_line(proc.returncode)}")
            now = time.monotonic()
            if now - started > self.start_timeout_s:
                raise ServerStartError(
                    f"{self.name} did not start within {self.start_timeout_s:.0f} s: {self._last_line(None)}"
                )
            if now >= next_notice:
                self.notice(
                    f"waiting for {self.name} (pid {proc.pid}) to write {self.ready_file} "
                    f"({now - started:.0f} s of {self.start_timeout_s:.0f} s; its output: {self.log_path})"
                )
                next_notice = now + NOTICE_AFTER_S
            time.sleep(POLL_S)

    def _last_line(self, returncode: int | None) -> str:
        with contextlib.suppress(OSError):
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
            if lines:
                return lines[-1]
        return "no output" if returncode is None else f"exit code {returncode}"

    def stop(self) -> int | None:
        """SIGTERM, then after `stop_timeout_s` SIGKILL to its whole session; its exit code."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                # Still running (so not reaped): its session id is still ours to signal.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=self.stop_timeout_s)
        return proc.returncode

    def output(self) -> str:
        """Everything the server printed so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> ChildServer:
        if self.proc is None:
            self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
