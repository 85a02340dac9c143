"""Environment variable names the official SDK and an unmodified worker read.

Client side (https://github.com/runpod/runpod-python/blob/07fc6e2b02/runpod/__init__.py):
`runpod.endpoint_url_base` defaults to $RUNPOD_ENDPOINT_BASE_URL; podbench also reads the key from
$RUNPOD_API_KEY and the endpoint id from $RUNPOD_ENDPOINT_ID (the names RunPod's examples use).

Worker side (https://github.com/runpod/runpod-python/tree/07fc6e2b02/runpod/serverless/modules:
rp_job.py, rp_http.py, rp_system_fitness.py, rp_ping.py): the SDK's production loop takes jobs from $RUNPOD_WEBHOOK_GET_JOB (it must
contain `/job-take/` and a `?`), posts results to $RUNPOD_WEBHOOK_POST_OUTPUT and stream chunks
to $RUNPOD_WEBHOOK_POST_STREAM, names itself $RUNPOD_POD_ID, skips its outbound system checks
with $RUNPOD_SKIP_AUTO_SYSTEM_CHECKS=true (offline they would make it exit) and its GPU check
with $RUNPOD_SKIP_GPU_CHECK=true, and sends heartbeats only when $RUNPOD_AI_API_KEY is set.
Without $RUNPOD_WEBHOOK_GET_JOB it runs one local test job from ./test_input.json and exits.
"""

from __future__ import annotations

# Client side
ENDPOINT_BASE_URL = "RUNPOD_ENDPOINT_BASE_URL"
ENDPOINT_ID = "RUNPOD_ENDPOINT_ID"
API_KEY = "RUNPOD_API_KEY"

# Worker side
WEBHOOK_GET_JOB = "RUNPOD_WEBHOOK_GET_JOB"
WEBHOOK_POST_OUTPUT = "RUNPOD_WEBHOOK_POST_OUTPUT"
WEBHOOK_POST_STREAM = "RUNPOD_WEBHOOK_POST_STREAM"
POD_ID = "RUNPOD_POD_ID"
SKIP_AUTO_SYSTEM_CHECKS = "RUNPOD_SKIP_AUTO_SYSTEM_CHECKS"
SKIP_GPU_CHECK = "RUNPOD_SKIP_GPU_CHECK"
AI_API_KEY = "RUNPOD_AI_API_KEY"
"""Leave unset for a local worker: with it the SDK sends heartbeats to RunPod."""

CLIENT: tuple[str, ...] = (ENDPOINT_BASE_URL, ENDPOINT_ID, API_KEY)
WORKER: tuple[str, ...] = (
    WEBHOOK_GET_JOB,
    WEBHOOK_POST_OUTPUT,
    WEBHOOK_POST_STREAM,
    POD_ID,
    SKIP_AUTO_SYSTEM_CHECKS,
    SKIP_GPU_CHECK,
    AI_API_KEY,
    ENDPOINT_ID,
)
"""What a worker runtime reads ($RUNPOD_ENDPOINT_ID switches the SDK's logs to JSON)."""
