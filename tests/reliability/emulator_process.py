"""A real `python -m emulator` process on a free loopback port, for the black-box reliability,
security and fuzz tests (tests/security, tests/fuzz and tests/cli put this folder on sys.path).

Black-box on purpose: these tests check what a user's process sees (the wire, the process's RSS,
what it prints), so they talk HTTP to a child process and stop it by its PID.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0


class EmulatorProcess:
    def __init__(
        self,
        tmp: Path,
        *,
        api_key: str,
        admin_key: str,
        endpoint_id: str = "rel",
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.api_key, self.admin_key, self.endpoint_id = api_key, admin_key, endpoint_id
        tmp.mkdir(parents=True, exist_ok=True)
        ready = tmp / f"ready-{endpoint_id}.json"
        ready.unlink(missing_ok=True)
        self.output = tmp / f"emulator-{endpoint_id}.out"
        child_env = {
            **os.environ,
            "PODBENCH_EMULATOR_API_KEY": api_key,
            "PODBENCH_EMULATOR_ADMIN_KEY": admin_key,
        }
        child_env.update(env or {})
        cmd = [
            sys.executable,
            "-m",
            "emulator",
            "--port",
            "0",
            "--endpoint-id",
            endpoint_id,
            "--ready-file",
            str(ready),
            *args,
        ]
        with open(self.output, "wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=child_env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"the emulator did not start: {self.output.read_text(errors='replace')[-2000:]}"
                )
            time.sleep(0.05)
        self.info: dict[str, Any] = json.loads(ready.read_text())
        self.port = int(self.info["port"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.base_v2 = f"{self.url}/v2"
        self.auth = {"Authorization": f"Bearer {api_key}"}
        self.admin_auth = {"Authorization": f"Bearer {admin_key}"}

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = requests.request(
            method, f"{self.url}/_emulator/{path}", headers=self.admin_auth, timeout=10, **kwargs
        )
        assert resp.status_code == 200, (resp.status_code, resp.text)
        return resp.json()

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.control("GET", f"endpoints/{self.endpoint_id}/stats")
        return stats

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc status")

    def stop(self) -> str:
        """Stop by PID (SIGTERM, then SIGKILL) and return everything it printed."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.output.read_text(errors="replace")
