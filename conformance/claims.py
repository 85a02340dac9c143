"""The claims registry: every checkable promise of the endpoint API, with where it is written.

`DOC` is the source document (`shared/spec/endpoint-operations.md` beside the repository, the captured
"Endpoint operations" page); `FACTS` is the research file `runpod-api-facts.md`, cited by section.
Kinds:
- documented: written in the docs, asserted;
- observed: seen on the real service (facts file, [OBS]/[SDK]), asserted and reported as such;
- record_only: the facts file says unknown; measured and reported, never failed.
Each test names exactly one claim with `@verifies("id")`; see conformance/README.md to add one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

DOC = "endpoint-operations.md"


def facts(section: str) -> str:
    return f"runpod-api-facts.md §{section}"


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
    """Which issue's tests cover it: rate-limit claims belong to the 429 suite (issue 5)."""


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
        facts("1.1"),
        "an 11.18 MB one was refused with HTTP 400 (not 413) and this body: "
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
    "runsync.sync_prefix": Claim(OBSERVED, facts("1"), "Jobs made by /runsync carry a sync- prefix"),
    "runsync.payload_limit": Claim(DOCUMENTED, DOC, "Synchronous jobs (/runsync) ... Payload limit: 20 MB"),
    "runsync.payload_refusal": Claim(
        RECORD_ONLY, facts("4"), "body over the limit on /runsync (20 MB) | presumably 400 with 20MiB | [UNK]"
    ),
    "runsync.retention": Claim(
        DOCUMENTED, DOC, "Job availability: Results are available for 60 seconds after completion"
    ),
    "runsync.wait_expiry": Claim(
        OBSERVED,
        facts("1.2"),
        "When the job does not finish within wait: the response is the job's current state "
        'with its id, e.g. {"id":"sync-…","status":"IN_QUEUE"} ..., HTTP 200.',
    ),
    "runsync.failed_reply": Claim(
        RECORD_ONLY,
        facts("1.2"),
        "HTTP status of a runsync whose job FAILED: ... [UNK] — the conformance suite should record it.",
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
        OBSERVED, facts("10"), "/status, /status-sync, /stream must accept GET and POST (Go SDK uses POST)"
    ),
    "status.ttl": Claim(
        DOCUMENTED,
        DOC,
        "https://api.runpod.ai/v2/{endpoint_id}/status/{job_id}?ttl=6000 sets the TTL for the job to 6 seconds. "
        "Use this when you want to tell the system to remove a job result sooner than the default retention time.",
    ),
    "status.ttl_meaning": Claim(
        RECORD_ONLY,
        facts("1.3"),
        "What that TTL governs (the job? the retained result? reset from now?) is [UNK].",
    ),
    # policy
    "policy.ttl": Claim(
        DOCUMENTED,
        facts("2"),
        "When TTL expires, the job is deleted regardless of state ... status checks return 404",
    ),
    "policy.out_of_range_reply": Claim(
        RECORD_ONLY, facts("2"), "Out-of-range values: error or clamp is [UNK]"
    ),
    "policy.execution_timeout": Claim(
        OBSERVED,
        facts("3"),
        'executionTimeout exceeded → FAILED with "error":"executionTimeout exceeded", not TIMED_OUT',
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
        OBSERVED, facts("1.5"), '{"status": "IN_PROGRESS", "stream": [{"output": ...}, ...]}'
    ),
    "stream.drained": Claim(
        OBSERVED,
        facts("1.5"),
        "Chunks are drained on read: each call returns only the chunks produced since the previous call",
    ),
    "stream.end": Claim(
        OBSERVED,
        facts("1.5"),
        'the final poll(s) return {"status":"COMPLETED","stream":[…last chunks…]} and then {"status":"COMPLETED","stream":[]}',
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
    "cancel.final_reply": Claim(RECORD_ONLY, facts("1.6"), "Cancel of an already-final job: [UNK]."),
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
        facts("1.7"),
        "Status code/body when retrying a COMPLETED/IN_PROGRESS/CANCELLED job: [UNK].",
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
        RECORD_ONLY, facts("1.8"), "What status the purged jobs then report (CANCELLED? 404?) is [UNK]."
    ),
    # /health
    "health.schema": Claim(
        OBSERVED,
        facts("1.9"),
        'Real responses carry six worker counters: {"jobs": {completed, failed, inProgress, inQueue, retried}, '
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
        facts("2"),
        "When your job completes, Runpod will send a POST request to your webhook URL containing the same "
        "information as the /status/JOB_ID endpoint",
    ),
    "webhook.retries": Claim(
        DOCUMENTED,
        facts("2"),
        "Your webhook should return a 200 status code. If the call fails, Runpod retries up to 2 more times "
        "with a 10-second delay.",
    ),
    "webhook.payload": Claim(
        OBSERVED, facts("2"), "Captured cloud payload ... note it also carries input and webhook"
    ),
    "webhook.failed_jobs": Claim(
        OBSERVED, facts("2"), 'Webhooks also fire for FAILED jobs with "status":"FAILED"'
    ),
    # auth and bad input
    "errors.auth": Claim(DOCUMENTED, facts("4"), "missing or wrong API key | 401"),
    "errors.bare_key": Claim(
        OBSERVED,
        facts("1"),
        "The docs show both authorization: Bearer <key> and the bare form "
        "authorization: <key> ... so the gateway evidently accepts both",
    ),
    "errors.auth_reply": Claim(
        RECORD_ONLY, facts("4"), "missing or wrong API key | 401 | [UNK] (body and headers)"
    ),
    "errors.unknown_endpoint": Claim(
        DOCUMENTED, facts("4"), 'unknown endpoint id | 404 ("Check your endpoint ID")'
    ),
    "errors.unknown_job": Claim(DOCUMENTED, facts("4"), "unknown / expired / TTL-deleted job id | 404"),
    "errors.not_found_reply": Claim(
        RECORD_ONLY, facts("4"), "unknown / expired / TTL-deleted job id | 404 | [UNK] (body)"
    ),
    "errors.bad_input": Claim(DOCUMENTED, facts("4"), "malformed request / bad parameters | 400"),
    "errors.input_type_reply": Claim(
        RECORD_ONLY, facts("2"), "Whether a non-object input (string, list, number) is accepted ... [UNK]"
    ),
    # rate limits and 429s: the 429 conformance suite (issue 5) covers these
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
        facts("6.2"),
        "GET calls (status, stream, health) that get 429/408 are retried up to 5 "
        "times, honouring `Retry-After`",
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
        facts("4"),
        "rate limited | 429 | [UNK]; Retry-After / RateLimit headers [UNK] for this host",
        owner="ratelimit",
    ),
}


def claim(claim_id: str) -> Claim:
    try:
        return CLAIMS[claim_id]
    except KeyError:
        raise KeyError(f"unknown claim {claim_id!r}: add it to conformance/claims.py") from None
