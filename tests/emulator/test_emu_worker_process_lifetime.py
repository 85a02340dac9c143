"""Worker processes live and die with the emulator and follow the pool: scale-down, reset, a
config-level refresh_worker, the SDK's own concurrency, and a killed emulator."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.emulator.worker_process_support import KEY, ROOT, RunningEmulator, pid_alive

pytest.importorskip("runpod")
pytestmark = pytest.mark.slow

STREAM = ROOT / "examples" / "workers" / "token_stream" / "handler.py"
REFRESHING = Path(__file__).with_name("byow_workers") / "refreshing.py"


def runsync(emu: RunningEmulator, endpoint: str, job_input: object) -> dict[str, Any]:
    reply: dict[str, Any] = requests.post(
        f"{emu.base}/v2/{endpoint}/runsync",
        json={"input": job_input},
        headers={"Authorization": KEY},
        timeout=60,
    ).json()
    return reply


def pids(emu: RunningEmulator, endpoint: str) -> set[int]:
    return {w["pid"] for w in emu.control(f"/endpoints/{endpoint}/workers")["workers"] if w["pid"]}


def test_sdk_concurrency_scale_down_reset_and_refresh(tmp_path):
    (tmp_path / "w.toml").write_text(
        f'[[endpoint]]\nid = "stream"\nworker = "{STREAM}"\nworkers_min = 0\nworkers_max = 2\n'
        f"idle_timeout_s = 1\nscaler_value = 60\n\n"
        f'[[endpoint]]\nid = "fresh"\nworker = "{REFRESHING}"\nworker_python = "{sys.executable}"\n'
        "workers_min = 1\nworkers_max = 1\n"
    )
    emu = RunningEmulator(["--config", str(tmp_path / "w.toml"), "--rate-limits", "off"], tmp_path)
    try:
        # concurrency_modifier = 4: one worker process runs four jobs at once (the SDK decides)
        ids = [
            requests.post(
                f"{emu.base}/v2/stream/run",
                json={"input": {"prompt": "a b c d e f", "token_delay_s": 0.4}},
                headers={"Authorization": KEY},
                timeout=30,
            ).json()["id"]
            for _ in range(4)
        ]
        running = emu.wait_for(
            "four jobs running at once",
            lambda: (h := emu.health("stream"))["jobs"]["inProgress"] == 4 and h,
            60,
        )
        assert running["workers"]["running"] == 1 and running["workers"]["initializing"] == 0
        (first_pid,) = pids(emu, "stream")
        emu.wait_for("the jobs to end", lambda: emu.health("stream")["jobs"]["completed"] == len(ids), 60)
        # idle timeout above workers_min: the worker leaves and its process dies
        emu.wait_for(
            "the idle worker to leave", lambda: not emu.control("/endpoints/stream/workers")["workers"]
        )
        emu.wait_for("its process to die", lambda: not pid_alive(first_pid), 10)
        # refresh_worker in start(): a new process after every job
        one, two = runsync(emu, "fresh", {}), runsync(emu, "fresh", {})
        assert one["status"] == two["status"] == "COMPLETED" and one["output"]["pid"] != two["output"]["pid"]
        emu.wait_for("the refreshed process to die", lambda: not pid_alive(one["output"]["pid"]), 10)
        # reset: every worker process is replaced
        before = emu.wait_for("a fresh worker", lambda: pids(emu, "fresh"))
        emu.control("/reset", "POST", {})
        after = emu.wait_for("workers after reset", lambda: pids(emu, "fresh"), 30)
        assert not before & after
        emu.wait_for("the old processes to die", lambda: not any(pid_alive(p) for p in before), 10)
    finally:
        assert emu.stop() == 0, emu.log()


def test_worker_processes_die_with_a_killed_emulator(tmp_path):
    emu = RunningEmulator(["--worker", str(STREAM)], tmp_path, launcher=("emulator",))
    try:
        worker_pids = emu.wait_for("a worker process", lambda: pids(emu, "podbench"), 60)
        os.kill(emu.proc.pid, signal.SIGKILL)
        emu.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(pid_alive(p) for p in worker_pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(pid_alive(p) for p in worker_pids)
    finally:
        emu.stop()
