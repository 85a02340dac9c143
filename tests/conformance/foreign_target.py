"""An emulator on a real clock whose endpoint runs a foreign handler, as an external target (no control API)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
KEY_ENV = "FOREIGN_TARGET_KEY"
MIB = 2**20
# Two workers from the start: a long job whose result a TTL deleted mid-run keeps its worker busy
# until its handler returns (the suite cannot cancel a job that is gone), and a single worker
# left the next test's job queued until the queue-delay scaler started another (~6 s).
CONFIG = """\
[[endpoint]]
id = "{endpoint_id}"
handler = "{handler}"
workers_min = 2
workers_max = 2
cold_start_s = 0.5
idle_timeout_s = 30
"""
# The emulator's exact body limits (10 MiB for /run, 20 MiB for /runsync): the payload claims take
# 2 requests each instead of a bisection over the documented range, as for the suite's own emulator.
EXACT_LIMITS = f"[limits]\nrun_body = [{10 * MIB}, {10 * MIB}]\nrunsync_body = [{20 * MIB}, {20 * MIB}]\n"


@dataclass(frozen=True)
class ForeignTarget:
    base_url: str
    endpoint_id: str
    api_key: str

    def suite_args(self, key_env: str = KEY_ENV) -> list[str]:
        return ["--target-url", self.base_url, "--endpoint-id", self.endpoint_id, "--api-key-env", key_env]


def exact_limits_profile(tmp_path: Path) -> list[str]:
    """Suite options stating the foreign target's exact body limits (`--target-profile FILE`)."""
    path = tmp_path / "exact-limits.toml"
    path.write_text(EXACT_LIMITS)
    return ["--target-profile", str(path)]


@contextmanager
def foreign_target(tmp_path: Path, handler: str, endpoint_id: str = "mine") -> Iterator[ForeignTarget]:
    config = tmp_path / "foreign.toml"
    config.write_text(CONFIG.format(endpoint_id=endpoint_id, handler=handler))
    ready = tmp_path / "ready.json"
    key = "foreign-" + secrets.token_urlsafe(12)
    env = dict(
        os.environ,
        PODBENCH_EMULATOR_API_KEY=key,
        PYTHONPATH=f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    )
    cmd = [
        sys.executable,
        "-m",
        "emulator",
        "--port",
        "0",
        "--config",
        str(config),
        "--ready-file",
        str(ready),
    ]
    with open(tmp_path / "emulator.log", "ab") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() or not ready.read_text().strip().endswith("}"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "emulator.log").read_text()[-2000:])
            time.sleep(0.05)
        port = json.loads(ready.read_text())["port"]
        yield ForeignTarget(f"http://127.0.0.1:{port}/v2", endpoint_id, key)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
