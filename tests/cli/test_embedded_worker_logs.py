"""A run on the embedded emulator with a worker file keeps each worker process's output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from podbench.embedded import embedded_emulator, save_worker_logs

ROOT = Path(__file__).resolve().parents[2]
WORKER = ROOT / "examples" / "workers" / "text_reverse" / "handler.py"


@pytest.mark.slow
def test_worker_logs_land_in_the_result_folder(tmp_path):
    with embedded_emulator(extra_args=["--worker", str(WORKER)], log_path=tmp_path / "emulator.log") as emu:
        reply = requests.post(
            f"{emu.target.base_url}/{emu.target.endpoint_id}/runsync",
            json={"input": {"prompt": "abc", "steps": 1, "step_delay_s": 0}},
            headers={"Authorization": emu.api_key},
            timeout=60,
        ).json()
        assert reply["status"] == "COMPLETED"
        assert save_worker_logs(emu, tmp_path / "now") == tmp_path / "now" / "workers"
    folder = tmp_path / "workers"  # written again as the block ends, with the whole run
    listing = json.loads((folder / "workers.json").read_text())
    assert listing["backend"] == "process" and listing["runpod_version"]
    worker_id = reply["workerId"]
    stdout = (folder / f"{worker_id}.stdout.log").read_text()
    assert "Starting Serverless Worker" in stdout + (folder / f"{worker_id}.stderr.log").read_text()
    assert reply["id"] in stdout


def test_no_worker_processes_no_folder(tmp_path):
    with embedded_emulator() as emu:
        assert save_worker_logs(emu, tmp_path) is None
    assert not (tmp_path / "workers").exists()
