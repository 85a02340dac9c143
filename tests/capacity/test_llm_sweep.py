"""LLM sweeps in `podbench capacity`: each request judged against `[llm] slo`, goodput per step,
the advice in sequences and workers, and one short sweep against the embedded emulator."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from capacity.errors import BadSettings, BadSlo
from capacity.llm_advice import advise
from capacity.ramp import ramp_from_table
from capacity.slo import TokenSlo, token_slo
from capacity.steps import JobRecord, StepWindow, judge, summarize
from reports import build_report

SLO = TokenSlo(ttft_ms=300, tpot_ms=50, e2e_ms=1000)


def _job(
    submitted: float, first: float | None, done: float | None, tokens: int, status: str | None
) -> JobRecord:
    return JobRecord(
        step=0, submitted_t=submitted, first_token_t=first, done_t=done, tokens=tokens, status=status
    )


def test_a_request_is_good_only_when_every_threshold_holds() -> None:
    assert judge(_job(0, 0.1, 0.5, 9, "COMPLETED"), SLO, 9.0) is True  # ttft 100, tpot 50, e2e 500
    assert judge(_job(0, 0.4, 0.5, 2, "COMPLETED"), SLO, 9.0) is False  # ttft 400 ms
    assert judge(_job(0, 0.1, 0.9, 3, "COMPLETED"), SLO, 9.0) is False  # tpot 400 ms
    assert judge(_job(0, 0.1, 0.1, 1, "COMPLETED"), SLO, 9.0) is True  # one token: no TPOT to judge
    assert judge(_job(0, 0.1, 0.2, 2, "FAILED"), SLO, 9.0) is False


def test_an_unfinished_request_is_judged_once_it_is_late() -> None:
    assert judge(_job(0, None, None, 0, None), SLO, 0.2) is None  # 200 ms, no token yet: too soon
    assert judge(_job(0, None, None, 0, None), SLO, 0.4) is False  # past the TTFT limit
    assert judge(_job(0, 0.1, None, 2, None), SLO, 0.5) is False  # TPOT so far 400 ms


def test_goodput_counts_good_completions_and_the_share_decides_the_step() -> None:
    window = StepWindow(0, 10.0, 0.0, end_t=4.0, verdict="stable")
    good = [_job(0.1 * i, 0.1 * i + 0.05, 0.1 * i + 0.2, 5, "COMPLETED") for i in range(19)]
    slow = [_job(2.0, 2.5, 2.6, 2, "COMPLETED")]  # TTFT 500 ms
    slo = token_slo({"ttft_ms": 300, "tpot_ms": 50, "e2e_ms": 1000}, 0.95)
    step = summarize(window, good + slow, [], [], slo, now=4.0)
    assert step.llm is not None
    assert step.llm["good_share"] == pytest.approx(19 / 20)
    assert step.slo_met  # 95 % good meets a 0.95 share
    strict = summarize(window, good + slow, [], [], token_slo(slo.tokens.as_dict(), 0.96), now=4.0)  # type: ignore[union-attr]
    assert not strict.slo_met
    settle = 1.0  # completions in the first second are not counted (the pipeline fills)
    counted = sum(1 for j in good if j.done_t is not None and j.done_t >= settle)
    assert step.llm["goodput_rps"] == pytest.approx(counted / (4.0 - settle))


def test_bad_llm_settings_are_refused() -> None:
    with pytest.raises(BadSlo):
        token_slo({}, 0.95)
    with pytest.raises(BadSlo):
        token_slo({"ttft": 300}, 0.95)
    with pytest.raises(BadSlo):
        token_slo({"ttft_ms": 300}, 1.5)
    with pytest.raises(BadSettings):
        ramp_from_table({"submit": "openai_chat_stream", "llm": {"max_tokens": 0}})
    with pytest.raises(BadSettings):
        ramp_from_table({"goodput_share": 1.2})
    ramp = ramp_from_table(
        {
            "submit": "openai_chat_stream",
            "llm": {"max_tokens": {"distribution": "uniform", "min": 8, "max": 16}},
        }
    )
    assert ramp.is_llm


def _steps_for_advice(decode_ms: float, ttft_ms: float) -> object:
    window = StepWindow(0, 2.0, 0.0, end_t=10.0, verdict="stable")
    jobs = [
        _job(0.5 * i, 0.5 * i + ttft_ms / 1000, 0.5 * i + (ttft_ms + decode_ms) / 1000, 32, "COMPLETED")
        for i in range(16)
    ]
    return summarize(window, jobs, [], [], token_slo({"ttft_ms": 1500}, 0.95), now=20.0)


def test_the_advice_is_the_fewest_sequences_meeting_ttft_and_grows_with_the_rate() -> None:
    step = _steps_for_advice(decode_ms=1600, ttft_ms=300)
    slo = token_slo({"ttft_ms": 1500}, 0.95)
    low = advise(2.0, slo, step, step, 4)  # type: ignore[arg-type]
    high = advise(8.0, slo, step, step, 4)  # type: ignore[arg-type]
    assert low is not None and high is not None
    assert low.sequences_min == math.floor(2.0 * 1.9) + 1  # λ·E[hold] + 1, hold = 0.3 + 1.6 s
    assert low.sequences >= low.sequences_min and low.predicted_ttft_ms <= 1500
    assert low.workers == math.ceil(low.sequences / 4)
    assert high.sequences > low.sequences and high.workers >= low.workers
    assert "workers × 4 sequences" in high.statement or "worker × 4 sequences" in high.statement


PROFILE = """
[llm]
slo = { ttft_ms = 300, e2e_ms = 1000 }
[capacity]
submit = "openai_chat_stream"
start_rps = 6.0
step_rps = 12.0
max_rps = 60.0
min_hold_s = 1.5
max_hold_s = 2.5
refine_steps = 0
saturation_hold_s = 2.0
drain_s = 2.0
target_rps = 8.0
llm = { max_tokens = 8, prompt_tokens = 16 }
[capacity.emulator]
workers_min = 2
workers_max = 2
cold_start_s = 0
llm = { ttft_s = 0.05, decode_tokens_per_s = 100, max_concurrency = 2, batch_slowdown = 0.1 }
"""


@pytest.mark.slow
@pytest.mark.timing
def test_an_llm_sweep_finds_the_goodput_knee_of_the_emulated_model(tmp_path: Path) -> None:
    profile = tmp_path / "llm-sweep.toml"
    profile.write_text(PROFILE)
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "podbench", "capacity", "--profile", str(profile), "--out", str(out)]
    proc = subprocess.run(
        argv + ["--emulator-arg=--rate-limits=off"], capture_output=True, text=True, timeout=90, check=False
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    result = json.loads((out / "capacity.json").read_text())
    # 4 sequence slots, each request holds one for 0.05·1.1 + 7 tokens × 1.1 / 100 s ≈ 0.132 s
    truth = 4 / (0.05 * 1.1 + 7 * 1.1 / 100)
    assert result["saturated"], proc.stderr
    assert result["max_sustainable_rps"] == pytest.approx(truth, rel=0.15), proc.stderr
    llm = result["llm"]
    assert llm["sequences_per_worker"] == 2
    rows = llm["goodput_vs_offered"]
    assert len(rows) == len(result["steps"]) and all(r["goodput_rps"] is not None for r in rows)
    assert result["steps"][0]["llm"]["good_share"] >= 0.9  # light load: nearly every request is good
    assert llm["recommendation"]["workers"] >= 1 and "sequences" in llm["recommendation"]["statement"]
    assert result["slo"]["tokens"] == {"ttft_ms": 300, "e2e_ms": 1000}
    assert result["job_input"] == {"max_tokens": 8, "prompt_tokens": 16}
    html = build_report(out).path.read_text()  # the report draws goodput vs offered rate
    assert 'alt="goodput vs offered rate"' in html and "sequences in flight needed" in html


def test_slo_flag_is_refused_for_an_llm_sweep(tmp_path: Path) -> None:
    profile = tmp_path / "llm-sweep.toml"
    profile.write_text(PROFILE)
    argv = [sys.executable, "-m", "podbench", "capacity", "--profile", str(profile), "--slo", "p95_ms<=500"]
    proc = subprocess.run(
        argv + ["--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
