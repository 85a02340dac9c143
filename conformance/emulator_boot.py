"""Boot the emulator as a child process for a standalone run (`pytest conformance/` with no target).

The emulator is another room: it is started as `python -m emulator`, never imported. Its keys are
fresh random strings handed over through the child's environment; its clock is manual, so the
suite checks 30-minute windows by advancing it.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from conformance.violations import HarnessError

START_TIMEOUT_S = 30.0
ENDPOINT_ID = "conformance"
# The conformance profile of the emulator: no cold start and a fixed pool, so "queued" and
# "in progress" are predictable; windows stay at the documented values (the clock is manual).
# Limits are off for the endpoint but the gate is on, so a 429 test can turn them on through the
# control API (`--rate-limits off` would make such a PATCH a no-op).
CONFIG = """\
seed = 7

[[endpoint]]
id = "{endpoint_id}"
workers_min = {workers}
workers_max = {workers}
cold_start_s = 0
idle_timeout_s = 3600

[endpoint.limits]
enabled = false
"""
WORKERS = 2


@dataclass(frozen=True)
class BootedEmulator:
    base_url: str
    admin_url: str
    endpoint_id: str
    api_key: str
    admin_key: str
    workers_max: int
    pid: int


@contextmanager
def booted_emulator(
    *, endpoint_id: str = ENDPOINT_ID, clock: str = "manual", rate_limits: bool = True
) -> Iterator[BootedEmulator]:
    """`rate_limits=False` boots with `--rate-limits off`: the control API then cannot turn limits on."""
    api_key = "conf-" + secrets.token_urlsafe(16)
    admin_key = "conf-admin-" + secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="podbench-conformance-") as tmp:
        ready = Path(tmp) / "ready.json"
        config = Path(tmp) / "emulator.toml"
        config.write_text(CONFIG.format(endpoint_id=endpoint_id, workers=WORKERS))
        log_path = Path(tmp) / "emulator.log"
        cmd = [
            sys.executable,
            "-m",
            "emulator",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--endpoint-id",
            endpoint_id,
            "--ready-file",
            str(ready),
            "--clock",
            clock,
            "--config",
            str(config),
            "--rate-limits",
            "on" if rate_limits else "off",
            "--parent-pid",
            str(os.getpid()),
        ]
        env = dict(os.environ, PODBENCH_EMULATOR_API_KEY=api_key, PODBENCH_EMULATOR_ADMIN_KEY=admin_key)
        with open(log_path, "ab") as log:
            # Its own session: a Ctrl-C to the terminal's process group must not stop it before the
            # suite has finished the test at hand and written its verdict; the suite stops it below
            # (and --parent-pid ends it should the suite be killed outright).
            proc = subprocess.Popen(
                cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            port = _wait_ready(proc, ready, log_path)
            base = f"http://127.0.0.1:{port}"
            yield BootedEmulator(
                f"{base}/v2", f"{base}/_emulator", endpoint_id, api_key, admin_key, WORKERS, proc.pid
            )
        finally:
            _stop(proc)


def _wait_ready(proc: subprocess.Popen[bytes], ready: Path, log_path: Path) -> int:
    deadline = time.perf_counter() + START_TIMEOUT_S
    while time.perf_counter() < deadline:
        if ready.exists():
            try:
                return int(json.loads(ready.read_text())["port"])
            except (json.JSONDecodeError, KeyError, ValueError):
                pass  # half-written; read again
        if proc.poll() is not None:
            lines = log_path.read_text(errors="replace").strip().splitlines()
            raise HarnessError(f"the emulator did not start: {lines[-1] if lines else proc.returncode}")
        time.sleep(0.05)
    _stop(proc)
    raise HarnessError(f"the emulator did not start within {START_TIMEOUT_S:.0f} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
