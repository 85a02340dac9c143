"""Start the embedded emulator as a child process and stop it again.

The emulator is a separate room: it runs as `python -m emulator` through the launcher of
`contract.emulator_process` (ready file, its own session, `--parent-pid`), takes its keys from
the environment, and nothing here imports it.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import tempfile
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from contract.emulator_process import (
    ADMIN_KEY_ENV,
    ChildServer,
    ServerStartError,
    emulator_command,
    emulator_env,
)
from podbench.errors import TargetUnreachable
from podbench.target import DEFAULT_KEY_ENV, Target


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
    """Run `python -m emulator` on a free loopback port for the duration of the block. With a
    `log_path` (a run's result folder), worker processes' output lands beside it in `workers/`."""
    api_key = "pb-" + secrets.token_urlsafe(18)
    admin_key = "pb-admin-" + secrets.token_urlsafe(18)
    with tempfile.TemporaryDirectory(prefix="podbench-emu-") as tmp:
        args = ["--host", "127.0.0.1", "--port", "0", "--endpoint-id", endpoint_id]
        if config is not None:
            args += ["--config", str(config)]
        server = ChildServer(
            emulator_command(*args, *extra_args),
            ready_file=Path(tmp) / "ready.json",
            log_path=log_path or Path(tmp) / "emulator.log",
            env=emulator_env(api_key, admin_key),
            name="the embedded emulator",
        )
        try:
            server.start()
        except ServerStartError as exc:
            raise TargetUnreachable(str(exc)) from None
        with server:
            base = server.url
            target = Target(
                f"{base}/v2", endpoint_id, api_key_env, embedded=True, admin_url=f"{base}/_emulator"
            )
            emu = EmbeddedEmulator(target, api_key, admin_key, server.pid)
            try:
                yield emu
            finally:
                if log_path is not None:  # a run's result folder: it keeps the workers' output too
                    save_worker_logs(emu, log_path.parent)
                    save_batches(emu, log_path.parent)


WORKER_LOGS_TIMEOUT_S = 10.0


def control_json(emu: EmbeddedEmulator, path: str) -> dict[str, Any] | None:
    """GET one of the endpoint's control routes (`/_emulator/endpoints/ID/PATH`); None when the
    emulator is gone or answers something else than a JSON object."""
    assert emu.target.admin_url is not None
    request = urllib.request.Request(
        f"{emu.target.admin_url}/endpoints/{emu.target.endpoint_id}/{path}",
        headers={"Authorization": f"Bearer {emu.admin_key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=WORKER_LOGS_TIMEOUT_S) as response:
            body = json.loads(response.read())
    except (OSError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def save_worker_logs(emu: EmbeddedEmulator, out: Path) -> Path | None:
    """At the end of a run: the worker processes' kept stdout/stderr (and their pids, cold starts and
    exits) into `OUT/workers/`, one `<worker id>.stdout.log` / `.stderr.log` each, plus
    `workers.json`. None when the endpoint runs no worker processes or the emulator is gone."""
    body = control_json(emu, "workers?logs=1")
    if body is None or body.get("backend") != "process":
        return None
    folder = out / "workers"
    folder.mkdir(parents=True, exist_ok=True)
    logs = body.pop("logs", [])
    (folder / "workers.json").write_text(json.dumps(body, indent=2), encoding="utf-8")
    for log in logs:
        for stream in ("stdout", "stderr"):
            lines = log.get(stream, [])
            (folder / f"{log['id']}.{stream}.log").write_text(
                "".join(f"{line}\n" for line in lines), encoding="utf-8"
            )
    return folder


def save_batches(emu: EmbeddedEmulator, out: Path) -> Path | None:
    """At the end of a run on an `llm` endpoint: each worker's batch occupancy over time, as
    `OUT/batches.csv` (`t` in seconds on the run's own time axis, as health.csv). None when the
    endpoint has no language-model workers or the emulator is gone."""
    body = control_json(emu, "batches")
    rows = body.get("rows") if body is not None else None
    if body is None or not rows:
        return None
    # the emulator's clock is its own: place its times on the wall clock, then on the run's axis
    offset = float(body["wall"]) - float(body["now"])
    base = run_base(out)
    path = out / "batches.csv"
    lines = ["t,worker,batch,max_concurrency"]
    lines += [
        f"{offset + t - base:.3f},{worker},{batch},{body['max_concurrency']}" for t, worker, batch in rows
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_base(out: Path) -> float:
    """The run's time zero, as the load files count it: the whole second its schedule started."""
    try:
        started = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["started"]
        return float(math.floor(datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp()))
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0
