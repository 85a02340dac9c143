"""The token arithmetic of LLM requests (no network): SSE parsing, TTFT/ITL/TPOT, goodput, sizes."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from locustfiles._llm import Sizes, Slo, SseReader, TokenSample, answer_tokens, build_call, draw, prompt_text


def event(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\n".encode()


def test_a_stream_gives_ttft_itl_and_tpot() -> None:
    sample = TokenSample(sent=100.0)
    reader = SseReader(sample)
    for i, at in enumerate((100.3, 100.325, 100.35, 100.375)):
        reader.line(event({"choices": [{"delta": {"content": f" t{i}"}}]}), at)
    reader.line(b"\n", 100.376)
    reader.line(event({"choices": [], "usage": {"completion_tokens": 4, "prompt_tokens": 9}}), 100.38)
    reader.line(b"data: [DONE]\n", 100.38)
    reader.finish(100.4)
    assert sample.ok and sample.tokens == 4 and sample.prompt_tokens == 9
    assert sample.ttft_ms == pytest.approx(300.0)
    assert sample.itl_ms() == pytest.approx([25.0, 25.0, 25.0])
    assert sample.tpot_ms == pytest.approx((400.0 - 300.0) / 3)
    assert sample.e2e_ms == pytest.approx(400.0)


def test_usage_counts_tokens_that_came_several_to_an_event() -> None:
    sample = TokenSample(sent=0.0)
    reader = SseReader(sample)
    reader.line(event({"choices": [{"text": "two words"}]}), 0.1)
    reader.line(event({"choices": [], "usage": {"completion_tokens": 6}}), 0.2)
    reader.line(b"data: [DONE]", 0.2)
    reader.finish(0.2)
    assert sample.tokens == 6 and len(sample.token_times) == 1


@pytest.mark.parametrize(
    "lines",
    [
        [b'data: {"error": {"message": "boom"}}'],
        [b"data: {not json"],
        [event({"choices": [{"delta": {"content": "x"}}]})],  # no [DONE]: the stream broke off
    ],
)
def test_a_broken_or_failed_stream_is_not_ok(lines: list[bytes]) -> None:
    sample = TokenSample(sent=0.0)
    reader = SseReader(sample)
    for line in lines:
        reader.line(line, 0.1)
    reader.finish(0.2)
    assert not sample.ok


def test_goodput_needs_every_threshold_and_a_json_answer_has_no_tpot() -> None:
    slo = Slo(ttft_ms=500, tpot_ms=30, e2e_ms=2000)
    good = TokenSample(sent=0.0, token_times=[0.4, 0.42, 0.44], tokens=3, done=0.45, ok=True)
    slow_tokens = TokenSample(sent=0.0, token_times=[0.4, 0.5, 0.6], tokens=3, done=0.6, ok=True)
    assert slo.met(good) and not slo.met(slow_tokens)
    answer = TokenSample(sent=0.0, token_times=[0.45], tokens=20, done=0.45, ok=True, streamed=False)
    assert answer.tpot_ms is None and answer.ttft_ms == pytest.approx(450.0) and slo.met(answer)
    assert not Slo(ttft_ms=100).met(answer)


def test_sizes_and_bodies() -> None:
    rng = random.Random(1)
    assert draw(7, rng) == 7 and draw(None, rng) is None
    values = [draw({"distribution": "uniform", "min": 10, "max": 20}, rng) or 0 for _ in range(200)]
    assert min(values) >= 10 and max(values) <= 20
    assert len(prompt_text(50, rng)) == 200
    call = build_call("openai_chat_stream", Sizes(max_tokens=5), rng)
    body = json.loads(call.body)
    assert call.path == "/openai/v1/chat/completions" and body["stream"] is True and body["max_tokens"] == 5
    assert body["stream_options"] == {"include_usage": True}
    run = build_call("run_stream_tokens", Sizes(max_tokens=5), rng)
    assert run.path == "/run" and json.loads(run.body)["input"]["max_tokens"] == 5
    assert answer_tokens({"usage": {"completion_tokens": 3, "prompt_tokens": 2}}) == (3, 2)
