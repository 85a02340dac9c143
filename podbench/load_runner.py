"""Run the Locust users as a child process (Locust gevent-patches whatever imports it).

The plan goes to the child as a JSON file named by `PODBENCH_LOAD_PLAN`; the API key only
through the child's environment. SIGTERM and Ctrl-C reach Locust, which still writes what it
has; the manifest then says `"interrupted": true`.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from contract import results
from locustfiles._plan import user_class

LOOPBACK = "127.0.0.1"
STOP_GRACE_S = 2
PROGRESS_EVERY_S = 5.0
"""Seconds users get to finish their current send when the run ends (the users end the run
themselves once the plan's schedule is over, so there is no `-t`)."""


def locustfiles_dir() -> Path:
    spec = importlib.util.find_spec("locustfiles")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the locustfiles package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def locust_command(
    plan: Mapping[str, Any],
    *,
    host: str,
    processes: int,
    csv_prefix: Path | None,
    web_port: int | None = None,
) -> list[str]:
    """The `locust` command line for a plan (exactly `slots` users per flow): headless, or with
    `web_port` Locust's web UI on 127.0.0.1 only, started at once (`--autostart`)."""
    folder = locustfiles_dir()
    users = sum(int(f["slots"]) for f in plan["flows"].values())
    classes = [user_class(name) for name in plan["flows"]]
    files = ",".join(str(folder / name) for name in ("operations.py", "lifecycles.py", "llm.py"))
    # -P: the working folder never shadows a podbench package (see contract.emulator_process)
    cmd = [sys.executable, "-P", "-m", "locust", "-f", files]
    ui = (
        ["--headless"]
        if web_port is None
        else ["--autostart", "--web-host", LOOPBACK, "--web-port", str(web_port)]
    )
    cmd += [*classes, *ui, "-u", str(users), "-r", str(max(users * 5, 1))]
    cmd += [
        "--stop-timeout",
        str(STOP_GRACE_S),
        "--host",
        host,
        "--only-summary",
        "--exit-code-on-error",
        "0",
    ]
    cmd += ["--loglevel", "WARNING"]
    if csv_prefix is not None:
        cmd += ["--csv", str(csv_prefix)]
    if processes > 1:
        port = str(free_port())  # never join another run's workers on Locust's default 5557
        cmd += ["--processes", str(processes), "--master-bind-port", port, "--master-port", port]
        cmd += ["--master-bind-host", LOOPBACK]  # Locust binds every interface unless told
    return cmd


@dataclass
class LocustRun:
    cmd: list[str]
    env: dict[str, str]
    log_path: Path
    progress_csv: Path | None = None
    """Locust's `*_stats_history.csv`: read while the run goes, to print requests so far."""
    interrupted: bool = False
    returncode: int | None = None
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def _forward(self, signum: int, _frame: FrameType | None) -> None:
        self.interrupted = True
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM if signum == signal.SIGTERM else signal.SIGINT)

    def run(self, timeout_s: float) -> int:
        """Run to the end; a signal to us is passed on, and Locust's own shutdown writes results."""
        previous = signal.signal(signal.SIGTERM, self._forward)
        try:
            with open(self.log_path, "ab") as log:
                self._proc = subprocess.Popen(self.cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT)
                try:
                    self.returncode = self._wait(timeout_s)
                except KeyboardInterrupt:
                    # Ctrl-C reached the whole process group, Locust included: let it finish writing
                    self.interrupted = True
                    self.returncode = self._wait(60.0)
        finally:
            signal.signal(signal.SIGTERM, previous)
        return self.returncode

    def _wait(self, timeout_s: float) -> int:
        assert self._proc is not None
        started = time.monotonic()
        try:
            while True:
                left = timeout_s - (time.monotonic() - started)
                try:
                    return self._proc.wait(timeout=max(0.0, min(PROGRESS_EVERY_S, left)))
                except subprocess.TimeoutExpired:
                    if left <= PROGRESS_EVERY_S:
                        raise
                    self._say_progress(time.monotonic() - started)
        except subprocess.TimeoutExpired:
            self.interrupted = True
            self._proc.send_signal(signal.SIGTERM)
            try:
                return self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                return self._proc.wait()

    def _say_progress(self, elapsed_s: float) -> None:
        total = requests_so_far(self.progress_csv) if self.progress_csv else None
        so_far = f", {total:,} requests so far" if total is not None else ""
        print(f"load: {elapsed_s:.0f} s elapsed{so_far}", flush=True)


def requests_so_far(history_csv: Path) -> int | None:
    """The Aggregated row's total request count in the last line Locust flushed, if any."""
    try:
        with open(history_csv, encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, csv.Error):
        return None
    for row in reversed(rows):
        if row.get("Name") == "Aggregated":
            try:
                return int(row.get("Total Request Count") or 0)
            except ValueError:
                return None
    return None


def mark_interrupted(
    out_dir: Path, ended_iso: str, reason: str | None = None, *, known: Mapping[str, Any] | None = None
) -> None:
    """Say in the manifest (and summary, if any) that the run was cut short, and why when known.

    `known`: the manifest keys the caller knows, for a run cut short before the load suite wrote it."""
    summary_path = out_dir / results.SUMMARY
    if summary_path.exists():
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        summary["interrupted"] = True
        if reason:
            summary.setdefault("interrupted_reason", reason)
        results.write_json_atomic(summary_path, summary)
    defaults: dict[str, Any] = {**(known or {}), "ended": ended_iso}
    if reason:
        defaults["interrupted_reason"] = reason
    results.update_manifest(out_dir, "load", defaults=defaults, interrupted=True)
