"""A text worker in the style of RunPod worker repositories: validate, report progress, answer.

Input: {"prompt": str, "steps": int (1-20, default 3), "step_delay_s": float (0-5, default 0.05)}.
Output: {"text": the prompt reversed, "length": its length}. A bad input ends the job FAILED
with the validator's messages as its `error`.

Run it as RunPod would: `python handler.py` (reads ./test_input.json when not deployed), or
behind the emulator: `podbench emulate --worker examples/workers/text_reverse/handler.py`.
"""

from __future__ import annotations

import time
from typing import Any

import runpod
from runpod.serverless.utils.rp_validator import validate

INPUT_SCHEMA: dict[str, dict[str, Any]] = {
    "prompt": {"type": str, "required": True},
    "steps": {"type": int, "required": False, "default": 3, "constraints": lambda n: 1 <= n <= 20},
    "step_delay_s": {
        "type": float,
        "required": False,
        "default": 0.05,
        "constraints": lambda s: 0 <= s <= 5,
    },
}


def handler(job: dict[str, Any]) -> dict[str, Any]:
    checked = validate(job["input"], INPUT_SCHEMA)
    if "errors" in checked:
        return {"error": "; ".join(str(e) for e in checked["errors"])}
    job_input = checked["validated_input"]
    steps = job_input["steps"]
    for step in range(1, steps + 1):
        time.sleep(job_input["step_delay_s"])
        runpod.serverless.progress_update(job, f"step {step}/{steps}")
    text = job_input["prompt"]
    return {"text": text[::-1], "length": len(text)}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
