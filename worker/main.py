"""The deployable worker: the contract handler behind `runpod.serverless.start`.

The same `worker.contract` code runs behind the emulator, so a suite input means the same thing on
both targets. RunPod decides at start whether a handler streams (a generator) or not, so one
deployment is one mode: `PODBENCH_WORKER_MODE=plain` (default; outputs exactly as the emulator),
`stream` (a generator with `return_aggregate_stream`, for the /stream claims) or `llm` (the emulator's
language-model timing, settings in `PODBENCH_LLM`, see `worker/llm_worker.py`). Local test:
`python -m worker.main --test_input '{"input": {"output": "hi"}}'` (or worker/test_input.json).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from worker.contract import handler, stream_handler
from worker.llm_worker import LlmWorker, model_from_environment

MODES = ("plain", "stream", "llm")


def start_config(environ: Mapping[str, str]) -> dict[str, Any]:
    """What `runpod.serverless.start` gets for the mode named in the environment."""
    mode = environ.get("PODBENCH_WORKER_MODE", "plain")
    if mode not in MODES:
        raise SystemExit(f"PODBENCH_WORKER_MODE must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "stream":
        return {"handler": stream_handler, "return_aggregate_stream": True}
    if mode == "llm":
        llm = LlmWorker(model_from_environment(environ))
        return {
            "handler": llm.handler,
            "concurrency_modifier": llm.concurrency,
            "return_aggregate_stream": True,
        }
    return {"handler": handler}


def main() -> None:
    import runpod  # imported here: the contract stays importable without the SDK

    runpod.serverless.start(start_config(os.environ))


if __name__ == "__main__":
    main()
