"""A real `python -m emulator` process on a free loopback port, for the black-box reliability,
security and fuzz tests (tests/security, tests/fuzz and tests/cli put this folder on sys.path).

Black-box on purpose: these tests check what a user's process sees (the wire, the process's RSS,
what it prints), so they talk HTTP to a child process and stop it by its PID.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests

from contract.emulator_process import ChildServer, emulator_command, emulator_env

ROOT = Path(__file__).resolve().parents[2]


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
        self.output = tmp / f"emulator-{endpoint_id}.out"
        self.output.unlink(missing_ok=True)
        self.server = ChildServer(
            emulator_command("--port", "0", "--endpoint-id", endpoint_id, *args),
            ready_file=tmp / f"ready-{endpoint_id}.json",
            log_path=self.output,
            env={**emulator_env(api_key, admin_key), **(env or {})},
            cwd=ROOT,
        )
        self.server.start()
        self.proc = self.server.proc
        self.info: dict[str, Any] = {
            "port": self.server.port,
            "host": self.server.ready.host,
            "pid": self.server.pid,
        }
        self.port = self.server.port
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
        for line in Path(f"/proc/{self.server.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc status")

    def stop(self) -> str:
        """Stop by PID (SIGTERM, then SIGKILL) and return everything it printed."""
        self.server.stop()
        return self.server.output()
