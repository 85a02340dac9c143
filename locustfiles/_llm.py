"""Token-level measurement of LLM requests: what a request asks for, what its stream says, what it cost.

No locust or gevent import: the users in `llm.py` feed it bytes and timestamps, and tests call it
directly. Definitions (docs/llm-endpoints.md; the same as vLLM's serving benchmark where both have them):
- TTFT: from the send to the first token;
- ITL: every gap between two consecutive token events;
- TPOT: (end-to-end - TTFT) / (output tokens - 1), for requests with at least two tokens;
- end-to-end: from the send to the last byte;
- goodput: completed requests per second that meet every SLO given (TTFT, TPOT, end-to-end).
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

LLM_FLOWS = ("openai_chat_stream", "openai_chat", "openai_completions", "run_stream_tokens")
LLM_SUBMIT_OP = {
    "openai_chat_stream": "openai",
    "openai_chat": "openai",
    "openai_completions": "openai",
    "run_stream_tokens": "run",
}
LLM_METRICS = ("llm_ttft", "llm_itl", "llm_tpot", "llm_e2e")
"""Histogram names, recorded in the flow's own row (`llm_row`)."""
LLM_COUNTERS = ("llm_requests", "llm_completed", "llm_failed", "llm_good", "llm_tokens", "llm_prompt_tokens")
LLM_ROW = "llm:"


def llm_row(flow: str) -> str:
    """The row an LLM flow's token measurements go to (beside its operation's request row)."""
    return LLM_ROW + flow


def is_llm_row(row: str) -> bool:
    return row.startswith(LLM_ROW)


CHARS_PER_TOKEN = 4
WORDS = "podbench measures tokens the way language model teams do".split()


@dataclass(frozen=True)
class Slo:
    """Thresholds a request must meet to count in goodput; None: not part of the SLO."""

    ttft_ms: float | None = None
    tpot_ms: float | None = None
    e2e_ms: float | None = None

    def met(self, sample: TokenSample) -> bool:
        """Every threshold the request can be judged on holds. A request that did not stream has
        no TPOT (its tokens all came at once), so a TPOT threshold does not apply to it."""
        checks = (
            (self.ttft_ms, sample.ttft_ms),
            (self.tpot_ms, sample.tpot_ms if sample.streamed else 0.0),
            (self.e2e_ms, sample.e2e_ms),
        )
        return all(limit is None or (value is not None and value <= limit) for limit, value in checks)

    def as_dict(self) -> dict[str, float]:
        return {k: v for k, v in vars(self).items() if v is not None}


def slo_from(data: Mapping[str, Any] | None) -> Slo:
    data = data or {}
    return Slo(data.get("ttft_ms"), data.get("tpot_ms"), data.get("e2e_ms"))


@dataclass(frozen=True)
class Sizes:
    """How long the prompts and the answers of a flow are: a number, or a distribution."""

    max_tokens: Mapping[str, Any] | int | None = None
    prompt_tokens: Mapping[str, Any] | int | None = None
    prompts: Sequence[str] = ()
    model: str = "podbench-llm"


def draw(spec: Mapping[str, Any] | int | None, rng: random.Random) -> int | None:
    """A whole number of tokens from `n` or `{distribution = uniform|normal, ...}`; at least 1."""
    if spec is None:
        return None
    if isinstance(spec, int | float):
        return max(1, round(spec))
    kind = spec.get("distribution", "fixed")
    if kind == "uniform":
        value = rng.uniform(float(spec["min"]), float(spec["max"]))
    elif kind == "normal":
        value = rng.gauss(float(spec["mean"]), float(spec.get("stddev", 0.0)))
    else:
        value = float(spec["mean"])
    return max(1, round(value))


def prompt_text(tokens: int, rng: random.Random) -> str:
    """About `tokens` tokens of text at 4 characters a token (the emulator estimates the same way)."""
    words: list[str] = []
    length = 0
    while length < tokens * CHARS_PER_TOKEN:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[: tokens * CHARS_PER_TOKEN]


@dataclass(frozen=True)
class LlmCall:
    """One request to send: its path, body and the numbers it asked for."""

    path: str
    body: bytes
    stream: bool
    max_tokens: int | None


def build_call(flow: str, sizes: Sizes, rng: random.Random, *, stream: bool = True) -> LlmCall:
    max_tokens = draw(sizes.max_tokens, rng)
    if sizes.prompts:
        prompt = rng.choice(list(sizes.prompts))
    else:
        prompt = prompt_text(draw(sizes.prompt_tokens, rng) or 16, rng)
    if flow == "run_stream_tokens":
        job: dict[str, Any] = {"prompt": prompt}
        if max_tokens is not None:
            job["max_tokens"] = max_tokens
        return LlmCall("/run", json.dumps({"input": job}).encode(), True, max_tokens)
    body: dict[str, Any] = {"model": sizes.model}
    if flow == "openai_completions":
        path = "/openai/v1/completions"
        body["prompt"] = prompt
    else:
        path = "/openai/v1/chat/completions"
        body["messages"] = [{"role": "user", "content": prompt}]
        stream = flow == "openai_chat_stream"
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return LlmCall(path, json.dumps(body).encode(), stream, max_tokens)


@dataclass
class TokenSample:
    """What one request measured, in milliseconds since its send."""

    sent: float
    token_times: list[float] = field(default_factory=list)
    """Arrival time (epoch seconds) of every event that carried output tokens."""
    tokens: int = 0
    prompt_tokens: int | None = None
    done: float | None = None
    ok: bool = False
    streamed: bool = True
    """False for a JSON answer: its TTFT is its end to end (as vLLM's benchmark counts it), it has
    no ITL and no TPOT."""

    def add_tokens(self, at: float, count: int = 1) -> None:
        if count > 0:
            self.token_times.append(at)
            self.tokens += count

    @property
    def ttft_ms(self) -> float | None:
        return (self.token_times[0] - self.sent) * 1000.0 if self.token_times else None

    @property
    def e2e_ms(self) -> float | None:
        return None if self.done is None else (self.done - self.sent) * 1000.0

    @property
    def tpot_ms(self) -> float | None:
        ttft, e2e = self.ttft_ms, self.e2e_ms
        if not self.streamed or ttft is None or e2e is None or self.tokens < 2:
            return None
        return (e2e - ttft) / (self.tokens - 1)

    def itl_ms(self) -> list[float]:
        times = self.token_times
        return [(b - a) * 1000.0 for a, b in zip(times, times[1:], strict=False)]


class SseReader:
    """Turns an OpenAI event stream, line by line, into token events and the final usage."""

    def __init__(self, sample: TokenSample) -> None:
        self.sample = sample
        self.done = False
        self.error: str | None = None
        self.usage_tokens: int | None = None

    def line(self, raw: bytes, at: float) -> None:
        text = raw.strip()
        if not text.startswith(b"data:"):
            return
        data = text[5:].strip()
        if data == b"[DONE]":
            self.done = True
            return
        try:
            event = json.loads(data)
        except ValueError:
            self.error = "an event is not JSON"
            return
        if not isinstance(event, dict):
            return
        if "error" in event:
            self.error = str(event["error"])[:200]
            return
        usage = event.get("usage")
        if isinstance(usage, dict):
            self.usage_tokens = _int(usage.get("completion_tokens"))
            self.sample.prompt_tokens = _int(usage.get("prompt_tokens"))
        for choice in event.get("choices") or ():
            if isinstance(choice, dict) and _choice_text(choice):
                self.sample.add_tokens(at)

    def finish(self, at: float) -> None:
        """The stream ended: usage (when sent) says how many tokens there were, events may hold several."""
        self.sample.done = at
        if self.usage_tokens is not None and self.usage_tokens >= len(self.sample.token_times):
            self.sample.tokens = self.usage_tokens
        self.sample.ok = self.done and self.error is None and self.sample.tokens > 0


def _choice_text(choice: Mapping[str, Any]) -> str:
    delta = choice.get("delta")
    if isinstance(delta, dict) and isinstance(delta.get("content"), str):
        return str(delta["content"])
    return str(choice.get("text") or "")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def answer_tokens(body: Any) -> tuple[int, int | None]:
    """A non-streaming answer's (completion tokens, prompt tokens), from usage or its text."""
    if not isinstance(body, dict):
        return 0, None
    usage = body.get("usage")
    if isinstance(usage, dict) and _int(usage.get("completion_tokens")) is not None:
        return int(usage["completion_tokens"]), _int(usage.get("prompt_tokens"))
    text = "".join(
        str((c.get("message") or {}).get("content") or c.get("text") or "")
        for c in body.get("choices") or ()
        if isinstance(c, dict)
    )
    return (max(1, len(text) // CHARS_PER_TOKEN) if text else 0), None


def stream_chunk_tokens(chunks: Sequence[Any]) -> int:
    """Tokens in a /stream reply's chunks: one per chunk (the emulator's and the llm worker's shape)."""
    return sum(1 for chunk in chunks if isinstance(chunk, dict))
