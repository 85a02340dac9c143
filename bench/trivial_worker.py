"""The trivial RunPod worker of bench/worker_process.py: echoes its input. Run unmodified as a worker
process, and imported as `trivial_worker:handler` by the in-process side of the same bench."""

from __future__ import annotations

from typing import Any

import runpod


def handler(job: dict[str, Any]) -> Any:
    return {"echo": job["input"]}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
