"""The deployable LLM worker (`PODBENCH_WORKER_MODE=llm`): the emulator's language-model timing, for real.

An async generator handler with `concurrency_modifier` = `max_concurrency`, so the SDK runs up to that
many sequences at once on one worker, and each token's delay follows the batch it is made in, as the
emulator's `llm` endpoints do (`worker.llm`). Settings come from `PODBENCH_LLM` (a JSON object with the
keys of an endpoint's `llm` table). Inputs that are not generation requests follow the worker contract.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Mapping
from typing import Any

from worker.contract import handler as contract_handler
from worker.llm import (
    LlmError,
    LlmModel,
    final_output,
    model_from_table,
    models_answer,
    output_length,
    parse_request,
    stream_chunk,
    stream_end,
    token_text,
)


def model_from_environment(environ: Mapping[str, str]) -> LlmModel:
    raw = environ.get("PODBENCH_LLM", "").strip()
    if not raw:
        return LlmModel()
    try:
        table = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"PODBENCH_LLM is not JSON: {exc}") from None
    try:
        return model_from_table(table)
    except LlmError as exc:
        raise SystemExit(f"PODBENCH_LLM: {exc}") from None


class LlmWorker:
    def __init__(self, model: LlmModel, seed: int | None = None) -> None:
        self.model = model
        self.active = 0
        self.rng = random.Random(seed)

    def concurrency(self, _current: int) -> int:
        return self.model.max_concurrency

    async def handler(self, job: dict[str, Any]) -> AsyncIterator[Any]:
        job_input = job.get("input")
        try:
            request = parse_request(job_input, self.model.model)
        except LlmError as exc:
            yield {"error": str(exc)}
            return
        if request is None:
            if isinstance(job_input, dict) and str(job_input.get("openai_route", "")).endswith("/models"):
                yield models_answer(self.model.model)
            else:
                yield await asyncio.to_thread(contract_handler, job)
            return
        job_id = str(job.get("id", "local"))
        length = output_length(request, self.model, self.rng)
        texts: list[str] = []
        self.active += 1
        try:
            await asyncio.sleep(self.model.first_token_s(self.active, request.prompt_tokens))
            for index in range(length):
                if index:
                    await asyncio.sleep(self.model.token_interval_s(self.active))
                texts.append(token_text(job_id, index))
                if request.stream:
                    yield stream_chunk(request, job_id, index, texts[-1], index == length - 1)
        finally:
            self.active -= 1
        if request.stream:
            for event in stream_end(request, job_id, length):
                yield event
        else:
            yield final_output(request, job_id, texts)
