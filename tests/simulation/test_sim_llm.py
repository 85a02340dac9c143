"""Generation requests in the simulation: the endpoint's own LlmBackend plays them on the manual
clock (one model), TTFT is recorded beside end to end, the advice is in workers × sequences."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contract.traces import Arrival
from emulator.config import endpoint_from_table
from emulator.simulation.client import ClientModel
from emulator.simulation.engine import simulate
from emulator.simulation.llm import LlmFlow, generation_arrivals, llm_flow
from podbench.cli import main

LLM = {"ttft_s": 0.3, "decode_tokens_per_s": 40, "max_concurrency": 2, "batch_slowdown": 0.1}
STREAM = ClientModel({}, request_s=0.01, streams=True)
FLOW = LlmFlow("openai_chat_stream", {"max_tokens": 5, "prompt_tokens": 8}, True)


def _config(**table: object):
    return endpoint_from_table({"id": "sim", "workers_min": 1, "workers_max": 1, "cold_start_s": 0, **table})


def test_ttft_and_end_to_end_follow_the_model_and_the_batch() -> None:
    arrivals = generation_arrivals([Arrival(0.0, None, "run_poll"), Arrival(0.0, None, "run_poll")], FLOW, 1)
    out = simulate(_config(llm=LLM), arrivals, STREAM, inputs={}, duration_s=1.0)
    assert out.completed == 2
    # the first starts alone (0.3 s to its first token), the second joins a batch of two (0.3 × 1.1);
    # every later token is 1.1 / 40 s after the one before; a round trip (10 ms) is added to each
    assert sorted(out.ttft_s) == pytest.approx([0.31, 0.34])
    # the second's last token is scheduled after the first left: alone again, 1 / 40 s
    assert sorted(out.end_to_end_s) == pytest.approx([0.31 + 4 * 1.1 / 40, 0.34 + 3 * 1.1 / 40 + 1 / 40])


def test_a_full_batch_makes_the_next_request_wait_and_its_ttft_holds_the_wait() -> None:
    arrivals = generation_arrivals([Arrival(0.0, None, "run_poll")] * 3, FLOW, 1)
    out = simulate(_config(llm=LLM), arrivals, STREAM, inputs={}, duration_s=1.0)
    first_done = 0.3 + 4 * 1.1 / 40  # the first request frees its slot then
    assert max(out.ttft_s) == pytest.approx(first_done + 0.33 + 0.01, abs=0.002)


def test_a_json_answer_has_its_ttft_at_the_end_and_a_traces_input_is_the_request() -> None:
    flow = LlmFlow("openai_chat", {}, False)
    arrivals = generation_arrivals([Arrival(0.0, {"prompt": "hi", "max_tokens": 3}, "run_poll")], flow, 1)
    assert arrivals[0].input["openai_input"]["messages"][0]["content"] == "hi"
    assert arrivals[0].input["openai_input"]["max_tokens"] == 3
    out = simulate(_config(llm=LLM), arrivals, STREAM, inputs={}, duration_s=1.0)
    assert out.ttft_s == pytest.approx(out.end_to_end_s)


def test_sizes_come_from_the_profiles_llm_flow() -> None:
    flows = {
        "run_poll": {},
        "openai_chat_stream": {"llm": {"max_tokens": {"distribution": "uniform", "min": 4, "max": 8}}},
    }
    flow = llm_flow(flows)
    drawn = generation_arrivals([Arrival(float(i), None, "run_poll") for i in range(50)], flow, 7)
    limits = {a.input["openai_input"]["max_tokens"] for a in drawn}
    assert limits <= set(range(4, 9)) and len(limits) > 2
    assert drawn == generation_arrivals([Arrival(float(i), None, "run_poll") for i in range(50)], flow, 7)


def test_simulate_reports_ttft_and_states_workers_and_sequences(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep.toml"
    sweep.write_text("workers_max = [1, 2]\n")
    out = tmp_path / "out"
    argv = ["simulate", "--profile", "llm", "--shape", "poisson", "--rate", "2", "--duration", "300s"]
    code = main(
        [*argv, "--sweep", str(sweep), "--slo", "ttft_p95_ms<=5000", "--processes", "1", "--out", str(out)]
    )
    assert code == 0
    document = json.loads((out / "simulation.json").read_text())
    assert document["llm"]["flow"] == "openai_chat_stream"
    one, two = document["settings"]
    assert one["ttft_ms"]["p95"] > two["ttft_ms"]["p95"]  # one worker's 4 sequences queue at 2 req/s
    rec = document["recommendation"]
    assert rec["setting"] == 1 and rec["sequences"] == {"workers": 2, "per_worker": 4, "at_most": 8}
    assert rec["statement"].startswith("2 workers × 4 sequences")


def test_a_ttft_objective_needs_an_llm_endpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "simulate",
        "--profile",
        "capacity-step",
        "--shape",
        "poisson",
        "--rate",
        "1",
        "--duration",
        "10s",
    ]
    assert main([*argv, "--slo", "ttft_p95_ms<=100", "--out", str(tmp_path / "o")]) == 2
    assert "ttft_" in capsys.readouterr().err
