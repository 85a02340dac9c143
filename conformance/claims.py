"""The claims registry: every checkable promise of the endpoint API, with where it is written.

Every `source` is a public URL: the documentation page the quote comes from, an official SDK's source at a
commit, or a public report with captured bodies. The facts behind observed and record-only claims are written
out, with the same URLs, in docs/api-behaviour.md.
Kinds:
- documented: written in the docs, quoted, asserted;
- observed: seen on the real service or read in an official SDK, asserted and reported as such;
- record_only: no public source says; measured and reported, never failed.
Each test names exactly one claim with `@verifies("id")`; see conformance/README.md to add one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

DOCS = "https://docs.runpod.io/serverless/endpoints"
# The "Endpoint operations" page, the text the documented claims quote.
DOC = f"{DOCS}/operations"
SEND_REQUESTS = f"{DOCS}/send-requests"
OPERATION_REFERENCE = f"{DOCS}/operation-reference"
ENDPOINT_SETTINGS = f"{DOCS}/endpoint-configurations"
_PY_SDK = "https://github.com/runpod/runpod-python/blob/07fc6e2b02/runpod"
PY_SDK_RUNNER = f"{_PY_SDK}/endpoint/runner.py"
PY_SDK_HTTP = f"{_PY_SDK}/http_client.py"
GO_SDK_ENDPOINT = "https://github.com/runpod/go-sdk/blob/b8aca7812f/pkg/sdk/endpoint/endpoint.go"
MCP_JOBS = (
    "https://github.com/runpod/runpod-mcp/blob/7af5a0f87190c4f37f4d1784f3115c73073f40eb/src/tools/jobs.ts"
)
FLASH = "https://github.com/runpod/flash"
# A third party's live test of a real endpoint, with captured bodies.
_LIVE = "https://github.com/rockycqu002/qwen-image-edit-4090/blob"
LIVE_PROTOCOL = f"{_LIVE}/00d89145fe681969f68c18d4769dee6794c08ddd/docs/evidence/protocol.csv"
LIVE_CALLER = f"{_LIVE}/2db7315bfe351a59f640d372c0ae5dc5ffa64c94/docs/API_CALLER.md"
WEBHOOK_PAYLOAD_ISSUE = "https://github.com/runpod/runpod-python/issues/409"
WEBHOOK_FAILED_ISSUE = "https://github.com/runpod/runpod-python/issues/410"
STREAM_END_PR = "https://github.com/runpod/runpod-python/pull/404"


class Kind(enum.StrEnum):
    DOCUMENTED = "documented"
    OBSERVED = "observed"
    RECORD_ONLY = "record_only"


@dataclass(frozen=True)
class Claim:
    kind: Kind
    source: str
    quote: str
    owner: str = "conformance"
    """Which part of the suite covers it: `ratelimit` claims are checked by the 429 tests."""


DOCUMENTED, OBSERVED, RECORD_ONLY = Kind.DOCUMENTED, Kind.OBSERVED, Kind.RECORD_ONLY

CLAIMS: dict[str, Claim] = {
    # /run
    "run.accepted": Claim(
        DOCUMENTED,
        DOC,
        "This approach returns immediately with a job ID and then processes the job in the background.",
    ),
    "run.schema": Claim(
        DOCUMENTED, DOC, '{"id": "eaebd6e7-6a92-4bb8-a911-f996ac5ea99d", "status": "IN_QUEUE"}'
    ),
    "run.payload_limit": Claim(DOCUMENTED, DOC, "Asynchronous jobs (/run) ... Payload limit: 10 MB"),
    "run.payload_refusal": Claim(
        OBSERVED,
        LIVE_PROTOCOL,
        "A /run body over 10 MiB (11.18 MB) was refused with HTTP 400, not 413, and this body: "
        '{"status":400,"title":"Bad Request","detail":"bad request: body: exceeded max body size of 10MiB"}',
    ),
    "run.retention": Claim(
        DOCUMENTED, DOC, "Job availability: Results are available for 30 minutes after completion"
    ),
    # /runsync
    "runsync.result": Claim(
        DOCUMENTED,
        DOC,
        "Synchronous jobs waits for job completion before returning the complete result in a single response.",
    ),
    "runsync.schema": Claim(
        DOCUMENTED,
        DOC,
        '{"delayTime": 824, "executionTime": 3391, "id": "sync-79164ff4-...", "output": [...], "status": "COMPLETED"}',
    ),
    "runsync.sync_prefix": Claim(OBSERVED, OPERATION_REFERENCE, "Jobs made by /runsync carry a sync- prefix"),
    "runsync.payload_limit": Claim(DOCUMENTED, DOC, "Synchronous jobs (/runsync) ... Payload limit: 20 MB"),
    "runsync.payload_refusal": Claim(
        RECORD_ONLY,
        SEND_REQUESTS,
        "A /runsync body over 20 MB is refused; the status and body of that refusal are not published",
    ),
    "runsync.retention": Claim(
        DOCUMENTED, DOC, "Job availability: Results are available for 60 seconds after completion"
    ),
    "runsync.wait_expiry": Claim(
        OBSERVED,
        MCP_JOBS,
        "A runsync whose job outlives the wait is answered HTTP 200 with the job's id and its non-final "
        'state, e.g. {"id":"sync-…","status":"IN_QUEUE"}; the job goes on running.',
    ),
    "runsync.failed_reply": Claim(
        RECORD_ONLY,
        OPERATION_REFERENCE,
        "The HTTP status of a runsync whose job FAILED is not published: recorded, not judged.",
    ),
    # /status
    "status.lifecycle": Claim(
        DOCUMENTED, DOC, "Current job state (IN_QUEUE, IN_PROGRESS, COMPLETED, FAILED, etc.)."
    ),
    "status.timing": Claim(DOCUMENTED, DOC, "Execution statistics (queue delay, processing time)."),
    "status.output": Claim(DOCUMENTED, DOC, "Job output (if completed)."),
    "status.schema": Claim(
        DOCUMENTED,
        DOC,
        '{"delayTime": 31618, "executionTime": 1437, "id": "60902e6c-...-u1", "output": {...}, "status": "COMPLETED"}',
    ),
    "status.post_method": Claim(
        OBSERVED,
        GO_SDK_ENDPOINT,
        "/status, /status-sync and /stream accept POST as well as GET: the official Go SDK sends POST",
    ),
    "status.ttl": Claim(
        DOCUMENTED,
        DOC,
        "https://api.runpod.ai/v2/{endpoint_id}/status/{job_id}?ttl=6000 sets the TTL for the job to 6 seconds. "
        "Use this when you want to tell the system to remove a job result sooner than the default retention time.",
    ),
    "status.ttl_meaning": Claim(
        RECORD_ONLY,
        DOC,
        "What the ?ttl= of /status counts from (the job, the kept result, or from now) is not published.",
    ),
    # policy
    "policy.ttl": Claim(
        DOCUMENTED,
        ENDPOINT_SETTINGS,
        "When TTL expires, the job is deleted regardless of state ... status checks return 404",
    ),
    "policy.out_of_range_reply": Claim(
        RECORD_ONLY,
        SEND_REQUESTS,
        "Whether out-of-range policy values are refused or clamped is not published.",
    ),
    "policy.execution_timeout": Claim(
        OBSERVED,
        LIVE_PROTOCOL,
        'A job past its executionTimeout ends FAILED with "error":"executionTimeout exceeded", not TIMED_OUT',
    ),
    # /stream
    "stream.partial": Claim(
        DOCUMENTED, DOC, "use the stream endpoint to receive partial results as they become available"
    ),
    "stream.chunk_size": Claim(
        DOCUMENTED,
        DOC,
        "The maximum size for a single streamed payload chunk is 1 MB. Larger outputs will be split across multiple chunks.",
    ),
    "stream.schema": Claim(
        OBSERVED, PY_SDK_RUNNER, '{"status": "IN_PROGRESS", "stream": [{"output": ...}, ...]}'
    ),
    "stream.drained": Claim(
        OBSERVED,
        MCP_JOBS,
        "Chunks are drained on read: each call returns only the chunks produced since the previous call",
    ),
    "stream.end": Claim(
        OBSERVED,
        STREAM_END_PR,
        'A stream ends with {"status":"COMPLETED","stream":[…last chunks…]} and then {"status":"COMPLETED","stream":[]}',
    ),
    # /cancel
    "cancel.queued": Claim(
        DOCUMENTED,
        DOC,
        "removes jobs from the queue if they are not yet started, and returns immediately with the job's canceled status.",
    ),
    "cancel.in_progress": Claim(DOCUMENTED, DOC, "This operation stops jobs that are in progress"),
    "cancel.schema": Claim(
        DOCUMENTED, DOC, '{"id": "724907fe-7bcc-4e42-998d-52cb93e1421f-u1", "status": "CANCELLED"}'
    ),
    "cancel.final_reply": Claim(
        RECORD_ONLY, OPERATION_REFERENCE, "What cancel of a job that already ended answers is not published."
    ),
    # /retry
    "retry.requeues": Claim(
        DOCUMENTED,
        DOC,
        "This operation maintains the same job ID for tracking and requeues the job with the original input "
        "parameters, removing the previous output (if any).",
    ),
    "retry.schema": Claim(
        DOCUMENTED, DOC, '{"id": "60902e6c-08a1-426e-9cb9-9eaec90f5e2b-u1", "status": "IN_QUEUE"}'
    ),
    "retry.only_failed": Claim(
        DOCUMENTED, DOC, "It can only be used for jobs with a FAILED or TIMED_OUT status."
    ),
    "retry.non_failed_reply": Claim(
        RECORD_ONLY,
        OPERATION_REFERENCE,
        "What retry of a COMPLETED, IN_PROGRESS or CANCELLED job answers is not published.",
    ),
    "retry.expired": Claim(DOCUMENTED, DOC, "Once expired, jobs cannot be retried."),
    # /purge-queue
    "purge.queued_only": Claim(
        DOCUMENTED,
        DOC,
        "The purge-queue operation only affects jobs waiting in the queue. Jobs already in progress will continue to run.",
    ),
    "purge.schema": Claim(DOCUMENTED, DOC, '{"removed": 2, "status": "completed"}'),
    "purge.purged_job_reply": Claim(
        RECORD_ONLY, DOC, "What a purged job then reports (CANCELLED, or 404) is not published."
    ),
    # /health
    "health.schema": Claim(
        OBSERVED,
        LIVE_PROTOCOL,
        'Real replies carry six worker counters: {"jobs": {completed, failed, inProgress, inQueue, retried}, '
        '"workers": {idle, initializing, ready, running, throttled, unhealthy}}',
    ),
    "health.counts": Claim(
        DOCUMENTED,
        DOC,
        "Monitor the operational status of your endpoint, including worker and job statistics.",
    ),
    # webhooks
    "webhook.delivery": Claim(
        DOCUMENTED,
        SEND_REQUESTS,
        "When your job completes, Runpod will send a POST request to your webhook URL containing the same "
        "information as the /status/JOB_ID endpoint",
    ),
    "webhook.retries": Claim(
        DOCUMENTED,
        SEND_REQUESTS,
        "Your webhook should return a 200 status code. If the call fails, Runpod retries up to 2 more times "
        "with a 10-second delay.",
    ),
    "webhook.payload": Claim(
        OBSERVED,
        WEBHOOK_PAYLOAD_ISSUE,
        "The cloud's webhook payload is the status object plus the job's input and webhook",
    ),
    "webhook.failed_jobs": Claim(
        OBSERVED, WEBHOOK_FAILED_ISSUE, 'Webhooks also fire for FAILED jobs, with "status":"FAILED"'
    ),
    # auth and bad input
    "errors.auth": Claim(DOCUMENTED, SEND_REQUESTS, "A missing or wrong API key is answered 401"),
    "errors.bare_key": Claim(
        OBSERVED,
        OPERATION_REFERENCE,
        "The docs' examples send both authorization: Bearer <key> and the bare form authorization: <key>, "
        "so both are accepted",
    ),
    "errors.auth_reply": Claim(
        RECORD_ONLY, SEND_REQUESTS, "The body and headers of a 401 are not published."
    ),
    "errors.unknown_endpoint": Claim(
        DOCUMENTED, SEND_REQUESTS, 'An unknown endpoint id is answered 404 ("Check your endpoint ID")'
    ),
    "errors.unknown_job": Claim(
        DOCUMENTED, ENDPOINT_SETTINGS, "An unknown, expired or TTL-deleted job id is answered 404"
    ),
    "errors.not_found_reply": Claim(
        RECORD_ONLY, ENDPOINT_SETTINGS, "The body of a 404 for an unknown job is not published."
    ),
    "errors.bad_input": Claim(
        DOCUMENTED, SEND_REQUESTS, "A malformed request or bad parameters are answered 400"
    ),
    "errors.input_type_reply": Claim(
        RECORD_ONLY,
        SEND_REQUESTS,
        "Whether a non-object input (string, list, number) is accepted is not published.",
    ),
    # rate limits and 429s: the 429 tests cover these
    "ratelimit.table": Claim(
        DOCUMENTED,
        DOC,
        "These limits apply per endpoint and operation: /run POST 1000 requests per 10 seconds, 200 concurrent; "
        "/runsync 2000 per 10 s, 400 concurrent; /status, /status-sync, /stream 2000 per 10 s, 400 concurrent; "
        "/cancel 100 per 10 s, 20 concurrent; /purge-queue 2 per 10 s; /openai/* 2000 per 10 s, 400 concurrent; "
        "/requests 10 per 10 s, 2 concurrent",
        owner="ratelimit",
    ),
    "ratelimit.queue_rule": Claim(
        DOCUMENTED,
        DOC,
        "Requests will receive a 429 (Too Many Requests) status if: Queue size exceeds 50 jobs AND "
        "Queue size exceeds endpoint.WorkersMax * 500",
        owner="ratelimit",
    ),
    "ratelimit.concurrency": Claim(
        DOCUMENTED,
        DOC,
        "Operation | Method | Rate Limit | Concurrent Limit | /run | POST | ... | 200 concurrent | "
        "/runsync | POST | ... | 400 concurrent | /status , /status-sync , /stream | GET/POST | ... | 400 concurrent | "
        "/cancel | POST | ... | 20 concurrent |",
        owner="ratelimit",
    ),
    # the SDK waits as told, so a Retry-After that is sent must say when a request is accepted again
    "ratelimit.retry_after": Claim(
        OBSERVED,
        PY_SDK_HTTP,
        "The official Python SDK retries GET calls (status, stream, health) that get 429 or 408 up to 5 "
        "times, honouring Retry-After",
        owner="ratelimit",
    ),
    # a refusal, like every error reply, is a JSON object saying why; a refused submit creates no job
    "ratelimit.refusal": Claim(
        DOCUMENTED,
        DOC,
        "Exceeding these limits will result in HTTP 429 (Too Many Requests) responses.",
        owner="ratelimit",
    ),
    "ratelimit.headers": Claim(
        RECORD_ONLY,
        SEND_REQUESTS,
        "A 429's body and its Retry-After and RateLimit headers are not published for this service.",
        owner="ratelimit",
    ),
}


def claim(claim_id: str) -> Claim:
    try:
        return CLAIMS[claim_id]
    except KeyError:
        raise KeyError(f"unknown claim {claim_id!r}: add it to conformance/claims.py") from None
