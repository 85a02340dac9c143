"""One OS process running a worker file under `launch.py run`: its own process group, its
stdout/stderr kept in bounded rings, its exit reported once, and every wait bounded."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path

from emulator.worker_processes.probe import LAUNCHER

RING_LINES = 500
LINE_CHARS = 2000
STOP_GRACE_S = 3.0
READ_CHUNK = 65536


class OutputRing:
    """The last `RING_LINES` lines of one stream (each cut at `LINE_CHARS`): memory stays flat."""

    def __init__(self, lines: int = RING_LINES) -> None:
        self.lines: deque[str] = deque(maxlen=lines)
        self._partial = ""

    def feed(self, data: bytes) -> None:
        text = self._partial + data.decode(errors="replace")
        *complete, self._partial = text.split("\n")
        for line in complete:
            self.lines.append(line[:LINE_CHARS])
        if len(self._partial) > LINE_CHARS:
            self.lines.append(self._partial[:LINE_CHARS])
            self._partial = ""

    def flush(self) -> None:
        if self._partial:
            self.lines.append(self._partial[:LINE_CHARS])
            self._partial = ""

    def note(self, line: str) -> None:
        self.flush()
        self.lines.append(line)

    def tail(self, count: int) -> list[str]:
        return list(self.lines)[-count:]


class WorkerProcess:
    def __init__(
        self,
        worker_file: str,
        python: str | None,
        env: Mapping[str, str],
        stdout: OutputRing,
        stderr: OutputRing,
        on_exit: Callable[[WorkerProcess, int], None],
    ) -> None:
        self.worker_file = worker_file
        self.python = python or sys.executable
        self.env = dict(env)
        self.stdout = stdout
        self.stderr = stderr
        self.on_exit = on_exit
        self.proc: asyncio.subprocess.Process | None = None
        self.returncode: int | None = None
        self.stopping = False
        self._watch: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    async def start(self) -> None:
        argv = [self.python, str(LAUNCHER), "run", "--parent-pid", str(os.getpid()), self.worker_file]
        self.proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
            cwd=str(Path(self.worker_file).parent),
            start_new_session=True,  # its own process group: a stop reaches whatever it started
        )
        self._watch = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        proc = self.proc
        assert proc is not None and proc.stdout is not None and proc.stderr is not None
        pumps = asyncio.gather(_pump(proc.stdout, self.stdout), _pump(proc.stderr, self.stderr))
        self.returncode = await proc.wait()
        # Whatever the worker started dies with it (and stops holding our pipes open).
        self._signal_group(signal.SIGKILL)
        try:
            await asyncio.wait_for(pumps, timeout=1.0)
        except TimeoutError:
            pass  # wait_for cancelled the readers
        self.stdout.flush()
        self.stderr.flush()
        self.on_exit(self, self.returncode)

    def kill(self) -> None:
        """SIGKILL the whole group now (the worker overran, or the emulator is going away)."""
        self.stopping = True
        self._signal_group(signal.SIGKILL)

    async def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM the group (the SDK shuts down cleanly), SIGKILL what is left after `grace_s`."""
        self.stopping = True
        if self.proc is None or self.returncode is not None:
            return
        self._signal_group(signal.SIGTERM)
        if self._watch is not None:
            done, _ = await asyncio.wait({self._watch}, timeout=grace_s)
            if done:
                return
        self._signal_group(signal.SIGKILL)
        if self._watch is not None:
            await asyncio.wait({self._watch}, timeout=grace_s)

    def _signal_group(self, sig: signal.Signals) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)  # pgid == pid: started with start_new_session


async def _pump(stream: asyncio.StreamReader, ring: OutputRing) -> None:
    while True:
        data = await stream.read(READ_CHUNK)
        if not data:
            return
        ring.feed(data)
