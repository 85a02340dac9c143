"""Misbehaving endpoints and interrupted runs: nothing gathered is lost, and the report says so.

- `podbench load` against an emulator with every kind of fault on (error replies, latency spikes,
  dropped connections, worker crashes) runs to its end, counts each kind, and the report shows them.
- The conformance suite against an endpoint that fails every request passes no claim.
- A load or conformance run stopped by Ctrl-C (SIGINT to the whole process group, as a terminal
  sends it) keeps its result files, marks them interrupted, and `podbench report` says "cut short".
  (SIGTERM of `podbench load` is tested in tests/locustfiles/test_load_runs.py.)
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from emulator_process import ROOT, EmulatorProcess

KEY, ADMIN = "faults-key", "faults-admin"
FAULTS = {
    "error_rate": 0.15,
    "error_status": 503,
    "latency_spike_rate": 0.1,
    "latency_spike_ms": 300,
    "drop_connection_rate": 0.15,
    "worker_crash_rate": 0.2,
}
# Every request is sent once (locustfiles/_one_send.py): a dropped connection is a connection
# error whatever the method. The GETs of the smoke mix (scheduled /status, /stream, /health and the
# scenarios' polls and reads, ~70 % of ~400 requests over 6 s) all pass undropped at 0.15 with odds
# far below 1e-20.
GETS = ("status", "stream", "health", "status_follow_up", "stream_follow_up")


def podbench(*argv: str, env_key: str = KEY, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNPOD_")}
    env["RUNPOD_API_KEY"] = env_key
    return subprocess.run(
        [sys.executable, "-m", "podbench", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    emu = EmulatorProcess(
        tmp_path_factory.mktemp("faulty"),
        api_key=KEY,
        admin_key=ADMIN,
        endpoint_id="f",
        args=["--rate-limits", "off"],
    )
    emu.control(
        "PATCH",
        "endpoints/f",
        json={"workers_min": 2, "workers_max": 4, "cold_start_s": 0, "worker_timeout_s": 1},
    )
    emu.control("PUT", "endpoints/f/faults", json=FAULTS)
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def load_under_faults(faulty: EmulatorProcess, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("faultload")
    done = podbench(
        "load",
        "--profile",
        "smoke",
        "--duration",
        "6s",
        "--target-url",
        faulty.base_v2,
        "--endpoint-id",
        "f",
        "--allow-destructive",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # Against a real target the cost is said before anything is sent (smoke: ~21 sends/s for 6 s).
    assert re.match(
        r"podbench load: about \d+ requests planned over 6 s against http://127\.0\.0\.1", done.stderr
    ), done.stderr
    return out, json.loads((out / "summary.json").read_text())


def test_load_keeps_running_under_faults_and_counts_error_replies(
    load_under_faults: tuple[Path, Any],
) -> None:
    _, summary = load_under_faults
    codes: dict[str, int] = {}
    for row in [*summary["operations"].values(), *summary["follow_ups"].values()]:
        for code, n in row["status_codes"].items():
            codes[code] = codes.get(code, 0) + n
    assert codes.get("503", 0) > 0, codes  # injected error replies, counted under their own status
    assert codes.get("200", 0) > codes.get("503", 0)  # and the run went on around them
    assert summary["total"]["failures"] >= codes["503"]


def test_load_counts_dropped_connections_apart_from_error_replies(
    load_under_faults: tuple[Path, Any],
) -> None:
    out, summary = load_under_faults
    with open(out / "intervals.csv") as f:
        header = f.readline().strip().split(",")
        other = sum(int(float(line.split(",")[header.index("status_other")] or 0)) for line in f)
    assert other > 0, "dropped connections (no reply) should land in status_other"
    assert summary["total"]["failures"] > 0
    # a dropped GET is a connection error (no status, no timeout), never a silent resend
    rows = {**summary["operations"], **summary["follow_ups"]}
    dropped_gets = {
        op: rows[op]["status_codes"].get("0", 0) - rows[op]["timeouts"] for op in GETS if op in rows
    }
    assert sum(dropped_gets.values()) > 0, dropped_gets
    assert sum(1 for n in dropped_gets.values() if n > 0) >= 2, dropped_gets


def test_load_sees_jobs_of_crashed_workers_time_out(
    faulty: EmulatorProcess, load_under_faults: tuple[Path, Any]
) -> None:
    _, summary = load_under_faults
    stats = faulty.stats()
    assert stats["timed_out"] > 0  # the emulator did crash workers
    jobs = summary["jobs"]
    assert jobs["timed_out"] + jobs["failed"] + jobs.get("unfinished", 0) > 0, jobs


def test_the_report_shows_the_faults(load_under_faults: tuple[Path, Any]) -> None:
    out, _ = load_under_faults
    done = podbench("report", str(out))
    assert done.returncode == 0, done.stderr
    page = (out / "report.html").read_text()
    assert "responses with status 5xx" in page  # the injected error replies, per operation
    assert "TIMED_OUT" in page  # the jobs of crashed workers


def test_conformance_against_a_failing_endpoint_passes_no_claim(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    emu = EmulatorProcess(
        tmp_path_factory.mktemp("broken"),
        api_key=KEY,
        admin_key=ADMIN,
        endpoint_id="broken",
        args=["--rate-limits", "off"],
    )
    try:
        emu.control("PUT", "endpoints/broken/faults", json={"error_rate": 1.0, "error_status": 500})
        done = podbench(
            "conform",
            "--target-url",
            emu.base_v2,
            "--endpoint-id",
            "broken",
            "--out",
            str(tmp_path),
            "-k",
            "test_run or test_status or test_health or test_cancel",
        )
    finally:
        emu.stop()
    verdict = json.loads((tmp_path / "conformance.json").read_text())
    ran = [c for c in verdict["claims"] if c["outcome"] not in ("skipped", "uncovered")]
    assert ran, verdict["summary"]
    assert not [c["id"] for c in ran if c["outcome"] == "passed"]
    assert verdict["summary"]["violated"] + verdict["summary"]["harness_errors"] > 0
    assert done.returncode in (1, 2)


def _interrupt(
    argv: list[str], out: Path, ready: Callable[[str], bool], *, sigterm: bool = False
) -> tuple[int, str]:
    """Start `podbench ARGV` in its own process group; once `ready(output so far)` holds, send SIGINT
    to the group, as Ctrl-C in a terminal does (or SIGTERM to podbench alone, as a CI runner or
    `kill` does). Returns the exit code and everything printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNPOD_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "podbench", *argv, "--out", str(out)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: os.read(fd, 4096), b"")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 90
        while not ready(b"".join(chunks).decode(errors="replace")) and time.monotonic() < deadline:
            assert proc.poll() is None, b"".join(chunks).decode(errors="replace")[-2000:]
            time.sleep(0.1)
        if sigterm:
            os.kill(proc.pid, signal.SIGTERM)
        else:
            os.killpg(proc.pid, signal.SIGINT)
        proc.wait(60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        reader.join(10)
        proc.stdout.close()
    return proc.returncode, b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize("kind", ["load", "conform", "conform-sigterm"])
def test_ctrl_c_keeps_the_results_and_the_report_says_cut_short(tmp_path: Path, kind: str) -> None:
    if kind == "load":
        started: list[float] = []

        def two_seconds_of_stats(_: str) -> bool:
            if not started and (tmp_path / "locust_stats_history.csv").exists():
                started.append(time.monotonic())
            return bool(started) and time.monotonic() - started[0] > 2

        code, output = _interrupt(
            ["load", "--profile", "smoke", "--duration", "30s"], tmp_path, two_seconds_of_stats
        )
        kept = ["summary.json", "intervals.csv", "manifest.json"]
    else:
        code, output = _interrupt(
            ["conform"],
            tmp_path,
            lambda text: text.count(".") >= 8,  # pytest's progress dots
            sigterm=kind == "conform-sigterm",
        )
        kept = ["conformance.json", "junit.xml", "manifest.json"]
    assert code == 130, output[-2000:]
    for name in kept:
        assert (tmp_path / name).is_file(), (name, sorted(p.name for p in tmp_path.iterdir()), output[-1500:])
    assert json.loads((tmp_path / "manifest.json").read_text())["interrupted"] is True
    report = podbench("report", str(tmp_path))
    assert report.returncode == 0, report.stderr
    assert "cut short" in (tmp_path / "report.html").read_text()
