"""A sync generator worker without `return_aggregate_stream`: chunks stream, the final output is empty."""

from collections.abc import Iterator
from typing import Any

import runpod


def handler(job: dict[str, Any]) -> Iterator[str]:
    yield from job["input"]["words"]


runpod.serverless.start({"handler": handler})
