"""Start the embedded emulator as a child process and stop it again.

The emulator is a separate room: it runs as `python -m emulator`, reports its address through a
ready file, and takes its keys from the environment, so nothing here imports it.
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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from podbench.errors import TargetUnreachable
from podbench.target import DEFAULT_KEY_ENV, Target

API_KEY_ENV = "PODBENCH_EMULATOR_API_KEY"
ADMIN_KEY_ENV = "PODBENCH_EMULATOR_ADMIN_KEY"
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class EmbeddedEmulator:
    target: Target
    api_key: str
    admin_key: str
    pid: int

    def child_env(self) -> dict[str, str]:
        """Environment for a child that talks to this emulator (key under target.api_key_env)."""
        env = dict(os.environ)
        env[self.target.api_key_env] = self.api_key
        env[ADMIN_KEY_ENV] = self.admin_key
        return env


@contextmanager
def embedded_emulator(
    *,
    endpoint_id: str = "podbench",
    config: Path | None = None,
    extra_args: Sequence[str] = (),
    api_key_env: str = DEFAULT_KEY_ENV,
    log_path: Path | None = None,
) -> Iterator[EmbeddedEmulator]:
    """Run `python -m emulator` on a free loopback port for the duration of the block."""
    api_key = "pb-" + secrets.token_urlsafe(18)
    admin_key = "pb-admin-" + secrets.token_urlsafe(18)
    with tempfile.TemporaryDirectory(prefix="podbench-emu-") as tmp:
        ready = Path(tmp) / "ready.json"
        cmd = [sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", "0"]
        cmd += ["--endpoint-id", endpoint_id, "--ready-file", str(ready)]
        if config is not None:
            cmd += ["--config", str(config)]
        cmd += list(extra_args)
        env = dict(os.environ)
        env[API_KEY_ENV] = api_key
        env[ADMIN_KEY_ENV] = admin_key
        log_file = log_path or Path(tmp) / "emulator.log"
        with open(log_file, "ab") as log:
            proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            info = _wait_ready(proc, ready, log_file)
            base = f"http://127.0.0.1:{info['port']}"
            target = Target(
                f"{base}/v2", endpoint_id, api_key_env, embedded=True, admin_url=f"{base}/_emulator"
            )
            yield EmbeddedEmulator(target, api_key, admin_key, proc.pid)
        finally:
            _stop(proc)


def _wait_ready(proc: subprocess.Popen[bytes], ready: Path, log_file: Path) -> dict[str, int]:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if ready.exists():
            try:
                info: dict[str, int] = json.loads(ready.read_text())
                return info
            except json.JSONDecodeError:
                pass  # half-written: read again
        if proc.poll() is not None:
            lines = log_file.read_text(errors="replace").strip().splitlines()
            last = lines[-1] if lines else f"exit code {proc.returncode}"
            raise TargetUnreachable(f"the embedded emulator did not start: {last}")
        time.sleep(0.05)
    _stop(proc)
    raise TargetUnreachable(f"the embedded emulator did not start within {START_TIMEOUT_S:.0f} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
