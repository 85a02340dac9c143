"""`podbench load` with LLM flows on the embedded emulator's `llm` model: the measured token timing
matches the configured model at concurrency 1, and queueing shows in TTFT (and the report says why)
at twice the batch a worker holds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reports import build_report

pytestmark = [pytest.mark.slow, pytest.mark.timing]
MODEL = "{ ttft_s = 0.3, decode_tokens_per_s = 40, max_concurrency = 4, batch_slowdown = 0.1 }"


def profile(tmp: Path, concurrency: int, seconds: int, max_tokens: int) -> Path:
    path = tmp / f"llm-c{concurrency}.toml"
    path.write_text(
        f"""
[profile]
name = "llm-c{concurrency}"
duration = "{seconds}s"
[llm]
slo = {{ ttft_ms = 450, tpot_ms = 40 }}
[emulator]
workers_min = 1
workers_max = 1
cold_start_s = 0
llm = {MODEL}
[flows.openai_chat_stream]
concurrency = {concurrency}
max_tokens = {max_tokens}
prompt_tokens = 32
"""
    )
    return path


def run_load(tmp: Path, concurrency: int, seconds: int, max_tokens: int) -> tuple[dict[str, Any], Path]:
    out = tmp / f"out-c{concurrency}"
    cmd = [
        sys.executable,
        "-m",
        "podbench",
        "load",
        "--profile",
        str(profile(tmp, concurrency, seconds, max_tokens)),
    ]
    proc = subprocess.run([*cmd, "--out", str(out)], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads((out / "summary.json").read_text())["llm"], out


def test_at_concurrency_one_ttft_and_tpot_match_the_model(tmp_path: Path) -> None:
    # 10 tokens: 0.3 + 9 x 0.025 s a request, so 5 s give the 8 requests asserted with room to spare
    llm, _ = run_load(tmp_path, 1, 5, max_tokens=10)
    flow = llm["flows"]["openai_chat_stream"]
    assert flow["concurrency"] == 1 and flow["failed"] == 0 and flow["completed"] >= 8
    # batch of one: the first token after ttft_s, then one every 1 / decode_tokens_per_s
    assert flow["ttft_ms"]["p50"] == pytest.approx(300.0, rel=0.05)
    assert flow["tpot_ms"]["p50"] == pytest.approx(25.0, rel=0.05)
    assert flow["output_tokens"] == 10 * flow["completed"]
    assert llm["goodput_rps"] == pytest.approx(llm["requests_per_s"], rel=0.2)


def test_at_twice_the_batch_the_queue_shows_in_ttft_and_the_report_says_why(tmp_path: Path) -> None:
    # a full batch of 4 takes ~1 s a request, so 4 s finish ~16 of them, half after waiting for a slot
    llm, out = run_load(tmp_path, 8, 4, max_tokens=20)
    flow = llm["flows"]["openai_chat_stream"]
    assert flow["failed"] == 0 and flow["completed"] >= 8
    # half the requests wait for a sequence slot: their first token waits for a whole generation
    assert flow["ttft_ms"]["p90"] > 2 * 300.0 * 1.3
    assert flow["tpot_ms"]["p50"] == pytest.approx(25.0 * 1.3, rel=0.1)  # a full batch of 4: 1 + 0.1 x 3
    assert llm["goodput_rps"] < llm["requests_per_s"]
    batches = (out / "batches.csv").read_text().splitlines()
    assert batches[0] == "t,worker,batch,max_concurrency" and any(
        line.split(",")[2] == "4" for line in batches[1:]
    )
    # built in this process (`podbench report` itself is tested with tests/reports): no second start-up
    report = build_report(out).path.read_text()
    assert "Why TTFT grew" in report and "every worker&#39;s batch was full" in report
