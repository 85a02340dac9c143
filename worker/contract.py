"""The worker contract: what the default job handler does with a job's `input`.

Imports nothing of podbench, so the same code runs behind the emulator and as a real RunPod worker.

    {"sleep": S}            runs S seconds, then echoes the input back
    {"fail": "msg"}         ends FAILED with error "msg" (after `sleep`, if given)
    {"stream": [c1, ...]}   yields each chunk (S seconds before each when `sleep` is given);
                            the output is the list of chunks
    {"output_bytes": N}     returns a string of exactly N bytes
    {"output": X}           returns X
    {"openai_route": ...}   a small deterministic OpenAI-style answer (docs/api-behaviour.md §4)
    anything else           echoed back as the output

`script(input)` turns an input into a `Script` without doing anything, so the emulator can play it on
its own (possibly manual) clock; `handler(job)` plays it for real with `time.sleep`, in the RunPod
handler style; `stream_handler(job)` is the generator form for streaming deployments.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MODEL_ID = "podbench-echo"


@dataclass(slots=True)  # not frozen: a frozen __init__ costs about 1 us more, once per job
class Script:
    """Chunks to yield (each after `step_delay_s`), then `tail_delay_s`, then output or error."""

    chunks: tuple[Any, ...] = ()
    step_delay_s: float = 0.0
    tail_delay_s: float = 0.0
    output: Any = None
    error: str | None = None
    streams: bool = False
    sse: bool = False
    """For OpenAI streaming answers: chunks are server-sent-event text."""

    @property
    def duration_s(self) -> float:
        return self.step_delay_s * len(self.chunks) + self.tail_delay_s


class ContractError(ValueError):
    """The input asks for something the contract cannot do (e.g. a negative sleep)."""


def script(job_input: Any) -> Script:
    """What the default handler will do for this input (pure: no sleeping, no I/O)."""
    if not isinstance(job_input, dict):
        return Script(output=job_input)
    if "openai_route" in job_input:
        return _openai_script(job_input)
    sleep = _seconds(job_input.get("sleep", 0))
    if "fail" in job_input:
        return Script(tail_delay_s=sleep, error=str(job_input["fail"]))
    if "stream" in job_input:
        chunks = job_input["stream"]
        if not isinstance(chunks, list):
            raise ContractError("'stream' must be a list of chunks")
        return Script(chunks=tuple(chunks), step_delay_s=sleep, output=list(chunks), streams=True)
    if "output_bytes" in job_input:
        size = job_input["output_bytes"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ContractError("'output_bytes' must be a non-negative integer")
        return Script(tail_delay_s=sleep, output="x" * size)
    if "output" in job_input:
        return Script(tail_delay_s=sleep, output=job_input["output"])
    return Script(tail_delay_s=sleep, output=job_input)


def handler(job: dict[str, Any]) -> Any:
    """RunPod-style handler: sleeps for real and returns the output (or `{"error": msg}`)."""
    steps = script(job.get("input"))
    for _ in steps.chunks:
        time.sleep(steps.step_delay_s)
    time.sleep(steps.tail_delay_s)
    if steps.error is not None:
        return {"error": steps.error}
    return steps.output


def stream_handler(job: dict[str, Any]) -> Iterator[Any]:
    """Generator form (for `return_aggregate_stream` deployments): yields chunks as they come."""
    steps = script(job.get("input"))
    for chunk in steps.chunks:
        time.sleep(steps.step_delay_s)
        yield chunk
    time.sleep(steps.tail_delay_s)
    if steps.error is not None:
        yield {"error": steps.error}
    elif not steps.streams:
        yield steps.output


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ContractError("'sleep' must be a non-negative number of seconds")
    return float(value)


def _openai_script(job_input: dict[str, Any]) -> Script:
    route = str(job_input.get("openai_route", ""))
    body = job_input.get("openai_input") or {}
    if route.endswith("/models"):
        return Script(
            output={"object": "list", "data": [{"id": MODEL_ID, "object": "model", "owned_by": "podbench"}]}
        )
    if not isinstance(body, dict):
        return Script(error="openai_input must be an object")
    chat = route.endswith("/chat/completions")
    words = ["Hello", " from", " podbench"]
    model = str(body.get("model") or MODEL_ID)
    created = 1_700_000_000  # fixed, so answers are deterministic
    if body.get("stream"):
        kind = "chat.completion.chunk" if chat else "text_completion"
        events = []
        for i, word in enumerate(words):
            choice: dict[str, Any] = {"index": 0, "finish_reason": "stop" if i == len(words) - 1 else None}
            if chat:
                choice["delta"] = {"content": word}
            else:
                choice["text"] = word
            event = {
                "id": "cmpl-podbench",
                "object": kind,
                "created": created,
                "model": model,
                "choices": [choice],
            }
            events.append(f"data: {json.dumps(event)}\n\n")
        events.append("data: [DONE]\n\n")
        return Script(chunks=tuple(events), output=events, streams=True, sse=True)
    text = "".join(words)
    if chat:
        choices: list[dict[str, Any]] = [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ]
    else:
        choices = [{"index": 0, "text": text, "finish_reason": "stop"}]
    return Script(
        output={
            "id": "cmpl-podbench",
            "object": "chat.completion" if chat else "text_completion",
            "created": created,
            "model": model,
            "choices": choices,
            "usage": {"prompt_tokens": 3, "completion_tokens": len(words), "total_tokens": 3 + len(words)},
        }
    )
