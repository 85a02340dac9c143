"""`podbench load --trace` end to end on the embedded emulator: every row sent with its own input,
the run waits for its last job, and the folder says what was replayed and the worker-seconds used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

PROFILE = """
[profile]
name = "replay"
seed = 1
[defaults]
poll = { initial_ms = 100, max_ms = 200, factor = 1.5, job_timeout = "30s" }
[emulator]
workers_min = 1
workers_max = 2
cold_start_s = 1
idle_timeout_s = 1
[flows.run_poll]
rate = 1
input = { sleep = 0.1 }
"""


def test_a_trace_is_replayed_row_by_row(tmp_path: Path) -> None:
    profile = tmp_path / "replay.toml"
    profile.write_text(PROFILE)
    trace = tmp_path / "t.csv"
    rows = ["t,input", "0,", *(f'{0.4 * i},"{{""sleep"": 1.5}}"' for i in range(1, 6))]
    trace.write_text("\n".join(rows) + "\n")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "podbench", "load", "--profile", str(profile), "--trace", str(trace)]
    proc = subprocess.run(
        [*cmd, "--trace-speed", "2", "--out", str(out)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    jobs = summary["jobs"]
    # the last job arrives at 1 s (2 s / speed 2) and runs 1.5 s: the run waited for it
    assert jobs["submitted"] == 6 and jobs["completed"] == 6 and jobs["unfinished"] == 0
    assert jobs["execution_time_ms"]["max"] >= 1400  # the rows' own inputs, not the profile's
    assert jobs["worker_seconds"]["total"] > 0
    assert set(jobs["worker_seconds"]) == {"total", "running", "idle", "initializing"}
    plan = json.loads((out / "plan.json").read_text())
    assert plan["trace"]["speed"] == 2.0 and list(plan["flows"]) == ["run_poll"]
    replayed = [json.loads(line)["t"] for line in (out / "trace.jsonl").read_text().splitlines()]
    assert replayed == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
