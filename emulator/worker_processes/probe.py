"""Check at start that a worker file imports and calls `runpod.serverless.start`, in a subprocess.

One bounded run of `launch.py probe PATH` with the user's interpreter; a failure is a
`ConfigError` whose one line names the file and its error (the CLI prints it and exits 2).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from emulator.config import ConfigError

LAUNCHER = Path(__file__).with_name("launch.py")
PROBE_TIMEOUT_S = 120.0
NOTICE_AFTER_S = 10.0


@dataclass(frozen=True)
class WorkerInfo:
    path: str
    runpod_version: str
    handler: str
    options: tuple[str, ...]


def probe_worker(path: str, python: str | None, *, timeout_s: float = PROBE_TIMEOUT_S) -> WorkerInfo:
    interpreter = python or sys.executable
    if not Path(path).is_file():
        raise ConfigError(f"worker {path}: no such file")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNPOD_")}
    try:
        proc = subprocess.Popen(
            [interpreter, str(LAUNCHER), "probe", path],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        raise ConfigError(f"worker {path}: cannot start {interpreter}: {exc.strerror or exc}") from None
    try:
        try:
            out, err = proc.communicate(timeout=NOTICE_AFTER_S)
        except subprocess.TimeoutExpired:
            sys.stderr.write(f"waiting for worker {path} to import (up to {timeout_s:.0f} s)...\n")
            sys.stderr.flush()
            out, err = proc.communicate(timeout=max(0.0, timeout_s - NOTICE_AFTER_S))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise ConfigError(f"worker {path}: importing it took over {timeout_s:.0f} s") from None
    lines = out.decode(errors="replace").strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        result = {}
    if not isinstance(result, dict) or (not result.get("error") and "handler" not in result):
        tail = err.decode(errors="replace").strip().splitlines()
        detail = tail[-1] if tail else f"the import probe exited with code {proc.returncode}"
        raise ConfigError(f"worker {path}: {_one_line(detail)}")
    if result.get("error"):
        raise ConfigError(f"worker {path}: {_one_line(str(result['error']))}")
    return WorkerInfo(
        path=path,
        runpod_version=str(result.get("runpod_version", "unknown")),
        handler=str(result.get("handler", "")),
        options=tuple(str(o) for o in result.get("options", ())),
    )


def _one_line(message: str, limit: int = 500) -> str:
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
