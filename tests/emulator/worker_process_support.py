"""Start `podbench emulate` on a real socket with worker processes, and stop it; every wait bounded."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from contract.emulator_process import ChildServer, ServerStartError, emulator_env

ROOT = Path(__file__).resolve().parents[2]
KEY = "byow-key"
ADMIN = "byow-admin"


class RunningEmulator:
    def __init__(
        self, args: list[str], tmp: Path, *, launcher: tuple[str, ...] = ("podbench", "emulate")
    ) -> None:
        self.log_path = tmp / "emulator.log"
        self.server = ChildServer(
            [sys.executable, "-m", *launcher, "--port", "0", *args],
            ready_file=tmp / "ready.json",
            log_path=self.log_path,
            env=emulator_env(KEY, ADMIN),
            cwd=ROOT,
            # `podbench emulate` runs in the foreground and takes no --parent-pid
            watch_parent=launcher == ("emulator",),
            start_timeout_s=60,
            stop_timeout_s=15,
        )
        try:
            self.server.start()
        except ServerStartError as exc:
            raise AssertionError(f"{exc}\n{self.log()}") from None
        assert self.server.proc is not None
        self.proc = self.server.proc
        self.port = self.server.port
        self.base = f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def control(self, path: str, method: str = "GET", body: Any = None) -> Any:
        request = urllib.request.Request(
            f"{self.base}/_emulator{path}",
            headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"},
            method=method,
            data=None if body is None else json.dumps(body).encode(),
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def health(self, endpoint: str) -> Any:
        request = urllib.request.Request(f"{self.base}/v2/{endpoint}/health", headers={"Authorization": KEY})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def wait_for(self, what: str, check: Any, timeout_s: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout_s:.0f} s for {what}")
            time.sleep(0.1)

    def stop(self) -> int:
        code = self.server.stop()
        assert code is not None
        return code


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead too
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False
