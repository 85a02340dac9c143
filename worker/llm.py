"""A language-model worker's timing as continuous batching serves it, and its answers on the wire.

Imports nothing of podbench: the emulator plays this model on its clock, and the deployable worker
(`worker.main`, `PODBENCH_WORKER_MODE=llm`) plays the same model for real on a RunPod endpoint.

The model (docs/llm-endpoints.md has the reasoning and the metric definitions):
- a worker runs up to `max_concurrency` sequences at once;
- with `b` sequences in its batch, each one decodes at
  `decode_tokens_per_s / (1 + batch_slowdown * (b - 1))` tokens per second;
- a new sequence's first token comes `ttft_s * (1 + batch_slowdown * (b - 1))` after it starts, plus
  `prompt_tokens / prefill_tokens_per_s` when `prefill_tokens_per_s` is set;
- a request makes `max_tokens` tokens, or a draw from `output_tokens` when it names none;
- prompt tokens are estimated as ceil(characters / 4), OpenAI's rule of thumb for English text, since
  no tokenizer can be loaded offline.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

MODEL_ID = "podbench-llm"
CHARS_PER_TOKEN = 4
OUTPUT_DISTRIBUTIONS = ("fixed", "uniform", "normal")
# Words of the generated text; deterministic per job so answers can be compared.
VOCABULARY = (
    "the queue holds each job until a worker is free and then the tokens arrive one by one "
    "as the batch decodes every sequence it holds so latency grows with the batch"
).split()


class LlmError(ValueError):
    """A bad model setting or a bad request; the message names the key."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class OutputTokens:
    """How many tokens a request that names no `max_tokens` gets."""

    distribution: str = "fixed"
    mean: float = 128.0
    spread: float = 0.0
    """uniform: half-width around the mean; normal: standard deviation."""

    def draw(self, rng: random.Random) -> int:
        if self.distribution == "uniform":
            value = rng.uniform(self.mean - self.spread, self.mean + self.spread)
        elif self.distribution == "normal":
            value = rng.gauss(self.mean, self.spread)
        else:
            value = self.mean
        return max(1, round(value))


@dataclass(frozen=True)
class LlmModel:
    ttft_s: float = 0.3
    decode_tokens_per_s: float = 40.0
    max_concurrency: int = 8
    batch_slowdown: float = 0.1
    prefill_tokens_per_s: float = 0.0
    """0: the prompt adds nothing to the time to first token."""
    output_tokens: OutputTokens = field(default_factory=OutputTokens)
    model: str = MODEL_ID

    def slowdown(self, batch: int) -> float:
        return 1.0 + self.batch_slowdown * (max(1, batch) - 1)

    def first_token_s(self, batch: int, prompt_tokens: int) -> float:
        prefill = prompt_tokens / self.prefill_tokens_per_s if self.prefill_tokens_per_s > 0 else 0.0
        return self.ttft_s * self.slowdown(batch) + prefill

    def token_interval_s(self, batch: int) -> float:
        return self.slowdown(batch) / self.decode_tokens_per_s

    def describe(self) -> dict[str, Any]:
        return {
            "ttft_s": self.ttft_s,
            "decode_tokens_per_s": self.decode_tokens_per_s,
            "max_concurrency": self.max_concurrency,
            "batch_slowdown": self.batch_slowdown,
            "prefill_tokens_per_s": self.prefill_tokens_per_s,
            "output_tokens": {
                "distribution": self.output_tokens.distribution,
                "mean": self.output_tokens.mean,
                "spread": self.output_tokens.spread,
            },
            "model": self.model,
        }


_NUMBERS = {
    "ttft_s": 0.0,
    "decode_tokens_per_s": 1e-3,
    "batch_slowdown": 0.0,
    "prefill_tokens_per_s": 0.0,
}


def model_from_table(table: Mapping[str, Any], base: LlmModel | None = None) -> LlmModel:
    """An `llm = {...}` table (TOML, the control API, or the worker's environment); bad keys raise."""
    if not isinstance(table, Mapping):
        raise LlmError("'llm' must be a table")
    base = base or LlmModel()
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key in _NUMBERS:
            values[key] = _number(f"llm.{key}", value, _NUMBERS[key])
        elif key == "max_concurrency":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise LlmError("'llm.max_concurrency' must be a whole number of at least 1")
            values[key] = value
        elif key == "model":
            if not isinstance(value, str) or not value:
                raise LlmError("'llm.model' must be a non-empty string")
            values[key] = value
        elif key == "output_tokens":
            values[key] = _output_tokens(value, base.output_tokens)
        else:
            raise LlmError(f"unknown key 'llm.{key}'")
    return replace(base, **values)


def _number(name: str, value: Any, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise LlmError(f"{name!r} must be a number")
    if value < minimum:
        raise LlmError(f"{name!r} must be at least {minimum:g}")
    return float(value)


def _output_tokens(value: Any, base: OutputTokens) -> OutputTokens:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return OutputTokens("fixed", _number("llm.output_tokens", value, 1), 0.0)
    if not isinstance(value, Mapping):
        raise LlmError("'llm.output_tokens' must be a number or a table {distribution, mean, spread}")
    values: dict[str, Any] = {}
    for key, item in value.items():
        if key == "distribution":
            if item not in OUTPUT_DISTRIBUTIONS:
                raise LlmError(
                    f"'llm.output_tokens.distribution' must be one of {', '.join(OUTPUT_DISTRIBUTIONS)}"
                )
            values[key] = item
        elif key in ("mean", "spread"):
            values[key] = _number(f"llm.output_tokens.{key}", item, 1.0 if key == "mean" else 0.0)
        else:
            raise LlmError(f"unknown key 'llm.output_tokens.{key}'")
    return replace(base, **values)


@dataclass(frozen=True)
class LlmRequest:
    """One generation: where it came from, its size, and how its answer is shaped."""

    route: str
    """'chat' (/v1/chat/completions), 'completions' (/v1/completions) or 'run' (a /run job's input)."""
    prompt_tokens: int
    max_tokens: int | None
    stream: bool
    include_usage: bool
    model: str


def estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))


def parse_request(job_input: Any, default_model: str = MODEL_ID) -> LlmRequest | None:
    """The generation a job's input asks for; None when the input is not a generation request."""
    if not isinstance(job_input, Mapping):
        return None
    if "openai_route" in job_input:
        route = str(job_input["openai_route"])
        if route.endswith("/models"):
            return None
        kind = "chat" if route.endswith("/chat/completions") else "completions"
        return _openai_request(kind, job_input.get("openai_input"), default_model)
    if "messages" in job_input or "prompt" in job_input:
        params = job_input.get("sampling_params")
        limit = job_input.get("max_tokens")
        if limit is None and isinstance(params, Mapping):
            limit = params.get("max_tokens")
        return LlmRequest(
            route="run",
            prompt_tokens=_prompt_tokens(job_input),
            max_tokens=_max_tokens(limit),
            stream=True,
            include_usage=True,
            model=default_model,
        )
    return None


def _openai_request(kind: str, body: Any, default_model: str) -> LlmRequest:
    if not isinstance(body, Mapping):
        raise LlmError("the request body must be a JSON object")
    if kind == "chat":
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise LlmError("'messages' must be a non-empty list", param="messages")
    elif "prompt" not in body:
        raise LlmError("'prompt' is required", param="prompt")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise LlmError("'stream' must be true or false", param="stream")
    options = body.get("stream_options") or {}
    if not isinstance(options, Mapping):
        raise LlmError("'stream_options' must be an object", param="stream_options")
    model = body.get("model", default_model)
    if not isinstance(model, str) or not model:
        raise LlmError("'model' must be a non-empty string", param="model")
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    return LlmRequest(
        route=kind,
        prompt_tokens=_prompt_tokens(body),
        max_tokens=_max_tokens(limit),
        stream=stream,
        include_usage=bool(options.get("include_usage", False)),
        model=model,
    )


def _max_tokens(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LlmError("'max_tokens' must be a whole number of at least 1", param="max_tokens")
    return value


def _prompt_tokens(body: Mapping[str, Any]) -> int:
    messages = body.get("messages")
    if isinstance(messages, list):
        text = "".join(_content_text(m.get("content")) for m in messages if isinstance(m, Mapping))
        return estimate_tokens(text)
    prompt = body.get("prompt", "")
    if isinstance(prompt, list):
        return estimate_tokens("".join(str(p) for p in prompt))
    return estimate_tokens(str(prompt))


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return ""


def token_text(seed: str, index: int) -> str:
    start = sum(seed.encode()) % len(VOCABULARY)
    return " " + VOCABULARY[(start + index) % len(VOCABULARY)]


def output_length(request: LlmRequest, model: LlmModel, rng: random.Random) -> int:
    return request.max_tokens if request.max_tokens is not None else model.output_tokens.draw(rng)


CREATED = 1_700_000_000  # fixed, so answers are deterministic


def usage(request: LlmRequest, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": request.prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": request.prompt_tokens + completion_tokens,
    }


def finish_reason(request: LlmRequest) -> str:
    """'length' when the request's max_tokens ended it; 'stop' when the model ended on its own."""
    return "length" if request.max_tokens is not None else "stop"


def stream_chunk(request: LlmRequest, job_id: str, index: int, text: str, last: bool) -> Any:
    """What one token is on the wire: an SSE event (OpenAI routes) or a stream chunk (/run)."""
    if request.route == "run":
        return {"text": text, "index": index}
    choice: dict[str, Any] = {"index": 0, "finish_reason": finish_reason(request) if last else None}
    if request.route == "chat":
        choice["delta"] = {"role": "assistant", "content": text} if index == 0 else {"content": text}
    else:
        choice["text"] = text
    event = {
        "id": f"cmpl-{job_id}",
        "object": "chat.completion.chunk" if request.route == "chat" else "text_completion",
        "created": CREATED,
        "model": request.model,
        "choices": [choice],
    }
    return f"data: {json.dumps(event)}\n\n"


def stream_end(request: LlmRequest, job_id: str, completion_tokens: int) -> list[str]:
    """The SSE events after the last token: usage when asked for, then [DONE]."""
    if request.route == "run":
        return []
    events = []
    if request.include_usage:
        event: dict[str, Any] = {
            "id": f"cmpl-{job_id}",
            "object": "chat.completion.chunk" if request.route == "chat" else "text_completion",
            "created": CREATED,
            "model": request.model,
            "choices": [],
            "usage": usage(request, completion_tokens),
        }
        events.append(f"data: {json.dumps(event)}\n\n")
    events.append("data: [DONE]\n\n")
    return events


def final_output(request: LlmRequest, job_id: str, texts: list[str]) -> Any:
    """The job's output once every token is made (the JSON answer of a non-streaming request)."""
    text = "".join(texts)
    if request.route == "run":
        # What `return_aggregate_stream` makes of the chunks on the real platform: their list.
        return [stream_chunk(request, job_id, i, t, i == len(texts) - 1) for i, t in enumerate(texts)]
    if request.stream:
        return None  # the answer was the event stream itself
    choice: dict[str, Any] = {"index": 0, "finish_reason": finish_reason(request)}
    if request.route == "chat":
        choice["message"] = {"role": "assistant", "content": text}
    else:
        choice["text"] = text
    return {
        "id": f"cmpl-{job_id}",
        "object": "chat.completion" if request.route == "chat" else "text_completion",
        "created": CREATED,
        "model": request.model,
        "choices": [choice],
        "usage": usage(request, len(texts)),
    }


def models_answer(model: str) -> dict[str, Any]:
    """GET /openai/v1/models: the one model this worker serves."""
    return {
        "object": "list",
        "data": [{"id": model, "object": "model", "created": CREATED, "owned_by": "podbench"}],
    }
