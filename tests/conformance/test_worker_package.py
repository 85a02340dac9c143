"""The deployable worker runs the contract handler under the SDK's local mode (`--test_input`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conformance_harness import ROOT

from worker.contract import handler, stream_handler
from worker.main import start_config


def _local(job: dict[str, object], mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PODBENCH_WORKER_MODE": mode}
    for name in ("RUNPOD_WEBHOOK_GET_JOB", "RUNPOD_AI_API_KEY", "RUNPOD_POD_ID", "RUNPOD_WEBHOOK_PING"):
        env.pop(name, None)  # local mode only: never reach for a real job queue
    return subprocess.Popen(
        [sys.executable, "-m", "worker.main", "--test_input", json.dumps(job)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_the_sdk_local_mode_runs_the_contract_in_both_modes():
    plain = _local({"input": {"output": {"answer": 42}, "sleep": 0.05}}, "plain")
    streaming = _local({"input": {"stream": ["a", "b"]}}, "stream")
    plain_out, _ = plain.communicate(timeout=60)
    stream_out, _ = streaming.communicate(timeout=60)
    assert plain.returncode == 0 and "Job result: {'output': {'answer': 42}}" in plain_out, plain_out
    # the SDK's local mode does not drain generators (it prints the generator object); the chunks
    # themselves are what a deployed stream worker posts to /stream
    assert streaming.returncode == 0 and "generator object stream_handler" in stream_out, stream_out
    assert list(stream_handler({"id": "t", "input": {"stream": ["a", "b"]}})) == ["a", "b"]


def test_the_mode_picks_the_handler_and_a_bad_mode_is_refused():
    assert start_config({})["handler"] is handler
    assert start_config({"PODBENCH_WORKER_MODE": "stream"}) == {
        "handler": stream_handler,
        "return_aggregate_stream": True,
    }
    with pytest.raises(SystemExit, match="PODBENCH_WORKER_MODE"):
        start_config({"PODBENCH_WORKER_MODE": "turbo"})


def test_the_packaged_test_input_is_a_valid_job():
    job = json.loads((ROOT / "worker" / "test_input.json").read_text())
    assert handler({"id": "t", **job}) == job["input"]["output"]
