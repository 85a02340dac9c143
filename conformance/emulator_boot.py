"""Boot the emulator as a child process for a standalone run (`pytest conformance/` with no target).

The emulator is another room: it is started as `python -m emulator` by the launcher of
`contract.emulator_process`, never imported. Its keys are
fresh random strings handed over through the child's environment; its clock is manual, so the
suite checks 30-minute windows by advancing it.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from conformance.violations import HarnessError
from contract.emulator_process import ChildServer, ServerStartError, emulator_command, emulator_env

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
        config = Path(tmp) / "emulator.toml"
        config.write_text(CONFIG.format(endpoint_id=endpoint_id, workers=WORKERS))
        args = ["--host", "127.0.0.1", "--port", "0", "--endpoint-id", endpoint_id, "--clock", clock]
        args += ["--config", str(config), "--rate-limits", "on" if rate_limits else "off"]
        # Its own session (the launcher's default): a Ctrl-C to the terminal's process group must
        # not stop it before the suite has finished the test at hand and written its verdict; the
        # suite stops it on leaving this block (and --parent-pid ends it should the suite be killed).
        server = ChildServer(
            emulator_command(*args),
            ready_file=Path(tmp) / "ready.json",
            log_path=Path(tmp) / "emulator.log",
            env=emulator_env(api_key, admin_key),
        )
        try:
            server.start()
        except ServerStartError as exc:
            raise HarnessError(str(exc)) from None
        with server:
            base = server.url
            yield BootedEmulator(
                f"{base}/v2", f"{base}/_emulator", endpoint_id, api_key, admin_key, WORKERS, server.pid
            )
