"""Generation requests in a simulation: an endpoint with `llm` plays them through its own
`LlmBackend` (one continuous batch per worker, tokens due on the manual clock), so the arrivals
become generation requests and the client follows them as a stream.

Each arrival without an input is one request of the profile's LLM flow, its sizes drawn (seeded)
as the load suite draws them: `max_tokens` and `prompt_tokens`, a number or `{distribution =
"uniform", min, max}` / `{distribution = "normal", mean, stddev}`. A trace's own input is taken as
the request body (`messages` or `prompt`, `max_tokens`). A streamed request's TTFT is its first
token's time on the server plus one round trip (the submit's way in and the token's way out);
its end to end, the last token's likewise; a request answered in one JSON body has TTFT = end to end.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from contract.traces import Arrival

CHARS_PER_TOKEN = 4
"""The emulator counts a prompt's tokens as its characters / 4 (worker/llm.py)."""
LLM_FLOWS = {
    "openai_chat_stream": ("/v1/chat/completions", True),
    "openai_chat": ("/v1/chat/completions", False),
    "openai_completions": ("/v1/completions", True),
    "run_stream_tokens": (None, True),
}
"""The load suite's LLM flows: the OpenAI route they call (None: /run + /stream), and whether streamed."""


@dataclass(frozen=True)
class LlmFlow:
    """How the simulated clients ask: the flow, its sizes, whether the answer streams."""

    name: str
    sizes: Mapping[str, Any]
    stream: bool

    def describe(self) -> dict[str, Any]:
        return {
            "flow": self.name,
            "stream": self.stream,
            **{k: v for k, v in self.sizes.items() if k != "stream"},
        }


def llm_flow(flows: Mapping[str, Mapping[str, Any]]) -> LlmFlow:
    """The profile's first LLM flow (sizes from its `llm` table), else streamed chat with the
    model's own output length."""
    for name in LLM_FLOWS:
        spec = flows.get(name)
        if spec is not None:
            sizes = dict(spec.get("llm") or {})
            stream = LLM_FLOWS[name][1] and bool(sizes.get("stream", True))
            return LlmFlow(name, sizes, stream)
    return LlmFlow("openai_chat_stream", {}, True)


def generation_arrivals(arrivals: Iterable[Arrival], flow: LlmFlow, seed: int) -> list[Arrival]:
    """The arrivals with a generation request each (drawn, or the trace's own body wrapped)."""
    rng = random.Random(f"{seed}:llm")
    route = LLM_FLOWS.get(flow.name, (None, True))[0]
    prompts: dict[int, str] = {}  # one string per length: a long trace holds no copies
    out = []
    for arrival in arrivals:
        body = arrival.input if isinstance(arrival.input, dict) else _drawn(flow.sizes, rng, prompts)
        out.append(Arrival(arrival.t, _wrapped(body, route, flow.stream), arrival.flow))
    return out


def _drawn(sizes: Mapping[str, Any], rng: random.Random, prompts: dict[int, str]) -> dict[str, Any]:
    tokens = _draw(sizes.get("prompt_tokens", 16), rng) or 16
    text = prompts.setdefault(tokens, "x" * (tokens * CHARS_PER_TOKEN))
    body: dict[str, Any] = {"messages": [{"role": "user", "content": text}]}
    limit = _draw(sizes.get("max_tokens"), rng)
    if limit is not None:
        body["max_tokens"] = limit
    return body


def _wrapped(body: Mapping[str, Any], route: str | None, stream: bool) -> dict[str, Any]:
    if route is None:  # /run: the worker contract's generation input
        prompt = body.get("prompt") or " ".join(str(m.get("content", "")) for m in body.get("messages") or ())
        return {"prompt": prompt, **({"max_tokens": body["max_tokens"]} if "max_tokens" in body else {})}
    request = dict(body)
    if route.endswith("/completions") and not route.endswith("/chat/completions") and "prompt" not in request:
        request = {k: v for k, v in request.items() if k != "messages"}
        request["prompt"] = " ".join(str(m.get("content", "")) for m in body.get("messages") or ())
    if route.endswith("/chat/completions") and "messages" not in request:
        request["messages"] = [{"role": "user", "content": str(request.pop("prompt", ""))}]
    request["stream"] = stream
    return {"openai_route": route, "openai_input": request}


def _draw(spec: Any, rng: random.Random) -> int | None:
    if spec is None:
        return None
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        return max(1, round(spec))
    if isinstance(spec, Mapping):
        if spec.get("distribution") == "uniform":
            return max(1, round(rng.uniform(float(spec["min"]), float(spec["max"]))))
        if spec.get("distribution") == "normal":
            return max(1, round(rng.gauss(float(spec["mean"]), float(spec.get("stddev", 0.0)))))
        if "mean" in spec:
            return max(1, round(float(spec["mean"])))
    return None
