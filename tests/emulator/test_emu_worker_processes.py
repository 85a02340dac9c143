"""Unmodified RunPod worker files behind `podbench emulate` (real socket, real worker processes
running the SDK's own loop), driven by the official Python SDK as a client."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.emulator.worker_process_support import KEY, ROOT, RunningEmulator, pid_alive

runpod = pytest.importorskip("runpod")
pytestmark = pytest.mark.slow

EXAMPLES = ROOT / "examples" / "workers"
BEHAVIOURS = Path(__file__).with_name("byow_workers") / "behaviours.py"
CONFIG = f"""
[[endpoint]]
id = "text"
worker = "{EXAMPLES / "text_reverse" / "handler.py"}"
workers_min = 1
workers_max = 1

[[endpoint]]
id = "stream"
worker = "{EXAMPLES / "token_stream" / "handler.py"}"
workers_min = 1
workers_max = 1

[[endpoint]]
id = "behave"
worker = "{BEHAVIOURS}"
workers_min = 1
workers_max = 1
worker_timeout_s = 2

[[endpoint]]
id = "syncgen"
worker = "{Path(__file__).with_name("byow_workers") / "sync_stream.py"}"
workers_min = 1
workers_max = 1

[[endpoint]]
id = "cold"
worker = "{BEHAVIOURS}"
workers_min = 0
workers_max = 1
idle_timeout_s = 60
"""


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    tmp = tmp_path_factory.mktemp("byow")
    (tmp / "workers.toml").write_text(CONFIG)
    running = RunningEmulator(["--config", str(tmp / "workers.toml"), "--rate-limits", "off"], tmp)
    pids: set[int] = set()
    try:
        running.wait_for(
            "three worker processes to take jobs",
            lambda: all(running.health(e)["workers"]["idle"] == 1 for e in ("text", "stream", "behave")),
            60,
        )
        yield running
        for endpoint in ("text", "stream", "behave", "syncgen", "cold"):
            pids |= {
                w["pid"] for w in running.control(f"/endpoints/{endpoint}/workers")["workers"] if w["pid"]
            }
    finally:
        code = running.stop()
    assert code == 0, running.log()
    assert pids and not [pid for pid in pids if pid_alive(pid)], "worker processes outlived the emulator"


def endpoint(emu: RunningEmulator, name: str) -> Any:
    runpod.api_key = KEY
    runpod.endpoint_url_base = f"{emu.base}/v2"
    return runpod.Endpoint(name)


def raw(emu: RunningEmulator, method: str, path: str, body: Any = None) -> Any:
    response = requests.request(
        method, f"{emu.base}/v2/{path}", json=body, headers={"Authorization": KEY}, timeout=60
    )
    return response.json()


def wait_status(emu: RunningEmulator, name: str, job_id: str, wanted: set[str], timeout_s: float = 30) -> Any:
    return emu.wait_for(
        f"job {job_id} to be one of {wanted}",
        lambda: (s := raw(emu, "GET", f"{name}/status/{job_id}"))["status"] in wanted and s,
        timeout_s,
    )


def test_text_worker_run_status_output_with_progress_in_status(emu):
    job = endpoint(emu, "text").run({"prompt": "hello", "steps": 6, "step_delay_s": 0.3})
    progress = wait_status(emu, "text", job.job_id, {"IN_PROGRESS"})
    seen = emu.wait_for(
        "a progress update in /status",
        lambda: (s := raw(emu, "GET", f"text/status/{job.job_id}")).get("output") and s,
    )
    assert progress["workerId"] and seen["status"] == "IN_PROGRESS"
    assert seen["output"].startswith("step ") and seen["output"].endswith("/6")
    assert job.output(timeout=30) == {"text": "olleh", "length": 5}
    final = raw(emu, "GET", f"text/status/{job.job_id}")
    assert final["status"] == "COMPLETED" and final["output"] == {"text": "olleh", "length": 5}


def test_runsync_and_bad_input_fails_with_the_workers_error(emu):
    assert endpoint(emu, "text").run_sync({"prompt": "abc", "steps": 1, "step_delay_s": 0}, timeout=30) == {
        "text": "cba",
        "length": 3,
    }
    failed = raw(emu, "POST", "text/runsync", {"input": {"prompt": 7, "colour": "red"}})
    assert failed["status"] == "FAILED"
    assert "prompt should be <class 'str'> type" in failed["error"]
    assert "colour is not a valid input option" in failed["error"]
    assert "output" not in failed


def test_an_exception_is_the_sdks_error_json_string(emu):
    failed = raw(emu, "POST", "behave/runsync", {"input": {"action": "raise", "message": "kaboom"}})
    assert failed["status"] == "FAILED"
    error = json.loads(failed["error"])
    assert error["error_type"] == "<class 'ValueError'>" and error["error_message"] == "kaboom"
    assert error["worker_id"] == failed["workerId"] and error["runpod_version"] == runpod.__version__
    assert "Traceback" in error["error_traceback"]


def test_stream_chunks_and_the_aggregate(emu):
    words = "one two three four".split()
    job = endpoint(emu, "stream").run({"prompt": " ".join(words), "token_delay_s": 0.3})
    chunks = list(job.stream())
    assert chunks == [{"index": i, "token": w} for i, w in enumerate(words)]
    assert job.output(timeout=30) == chunks  # return_aggregate_stream
    failed = raw(emu, "POST", "stream/runsync", {"input": {"prompt": " "}})
    assert failed["status"] == "FAILED" and failed["error"] == "input.prompt must be a non-empty string"


def test_a_sync_generator_streams_and_without_aggregate_outputs_an_empty_list(emu):
    job = endpoint(emu, "syncgen").run({"words": ["x", "y", "z"]})
    assert list(job.stream()) == ["x", "y", "z"]
    final = wait_status(emu, "syncgen", job.job_id, {"COMPLETED"})
    assert final["output"] == []


def test_cancel_stops_just_that_job_through_job_stop(emu):
    before = emu.control("/endpoints/stream/workers")["workers"][0]["pid"]
    job = endpoint(emu, "stream").run({"prompt": "w " * 30, "token_delay_s": 0.5})
    wait_status(emu, "stream", job.job_id, {"IN_PROGRESS"})
    emu.wait_for("a first chunk", lambda: raw(emu, "GET", f"stream/stream/{job.job_id}")["stream"])
    assert job.cancel()["status"] == "CANCELLED"
    logs = emu.wait_for(
        "the worker to stop the job",
        lambda: (
            (w := emu.control(f"/endpoints/stream/workers/{job_worker(emu, job.job_id)}/logs"))
            and any("Job stopped" in line and job.job_id in line for line in w["stdout"] + w["stderr"])
            and w
        ),
    )
    assert logs
    time.sleep(1.0)
    assert raw(emu, "GET", f"stream/status/{job.job_id}")["status"] == "CANCELLED"
    assert endpoint(emu, "stream").run_sync({"prompt": "after cancel", "token_delay_s": 0}, timeout=30)
    assert emu.control("/endpoints/stream/workers")["workers"][0]["pid"] == before


def job_worker(emu: RunningEmulator, job_id: str) -> str:
    worker_id: str = raw(emu, "GET", f"stream/status/{job_id}")["workerId"]
    return worker_id


def test_refresh_worker_replaces_the_process(emu):
    behave = endpoint(emu, "behave")
    first = behave.run_sync({"action": "refresh"}, timeout=30)
    second = behave.run_sync({"action": "pid"}, timeout=60)
    assert first["pid"] != second["pid"]
    worker = emu.control("/endpoints/behave/workers")["workers"][0]
    assert worker["pid"] == second["pid"] and worker["restarts"] >= 1
    assert any(e["pid"] == first["pid"] and e["refresh"] for e in worker["exits"])
    assert len(worker["cold_start_ms"]) >= 2


def test_a_worker_that_dies_mid_job_times_it_out_and_is_restarted(emu):
    behave = endpoint(emu, "behave")
    before = behave.run_sync({"action": "pid"}, timeout=30)["pid"]
    job = behave.run({"action": "crash"})
    lost = wait_status(emu, "behave", job.job_id, {"TIMED_OUT", "FAILED", "COMPLETED"})
    assert lost["status"] == "TIMED_OUT" and lost["error"] == "worker stopped reporting"
    after = behave.run_sync({"action": "pid"}, timeout=60)["pid"]
    assert after != before
    log = emu.wait_for(
        "the crash in the emulator's log", lambda: "crashing on purpose" in emu.log() and emu.log()
    )
    crash_line = next(line for line in log.splitlines() if "exited with code 3" in line)
    assert lost["workerId"] in crash_line and job.job_id in crash_line


def test_cold_start_is_the_process_start_and_shows_as_initializing(emu):
    job = endpoint(emu, "cold").run({"action": "pid"})
    health = emu.wait_for(
        "a worker initializing", lambda: (h := emu.health("cold"))["workers"]["initializing"] and h, 10
    )
    assert health["jobs"]["inQueue"] == 1
    done = wait_status(emu, "cold", job.job_id, {"COMPLETED"})
    cold_ms = emu.control("/endpoints/cold/workers")["workers"][0]["cold_start_ms"][0]
    assert cold_ms > 100 and done["delayTime"] >= cold_ms * 0.9


def test_a_worker_file_that_cannot_import_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "handler.py"
    bad.write_text(
        "import runpod\nimport not_a_module_anywhere\nrunpod.serverless.start({'handler': print})\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "podbench", "emulate", "--port", "0", "--worker", str(bad)],
        capture_output=True,
        text=True,
        timeout=150,
        cwd=ROOT,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0]
    assert "ModuleNotFoundError: No module named 'not_a_module_anywhere'" in lines[0]
