"""Start `podbench emulate` on a real socket with worker processes, and stop it; every wait bounded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
KEY = "byow-key"
ADMIN = "byow-admin"


class RunningEmulator:
    def __init__(
        self, args: list[str], tmp: Path, *, launcher: tuple[str, ...] = ("podbench", "emulate")
    ) -> None:
        ready = tmp / "ready.json"
        self.log_path = tmp / "emulator.log"
        env = {**os.environ, "PODBENCH_EMULATOR_API_KEY": KEY, "PODBENCH_EMULATOR_ADMIN_KEY": ADMIN}
        cmd = [sys.executable, "-m", *launcher, "--port", "0", "--ready-file", str(ready), *args]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the emulator did not start:\n{self.log()}")
            time.sleep(0.05)
        self.port = json.loads(ready.read_text())["port"]
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
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode


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
