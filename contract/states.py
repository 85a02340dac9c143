"""Job states, the moves between them, and which states are final.

Source: https://docs.runpod.io/serverless/endpoints/job-states. A job enters IN_QUEUE, a worker
takes it (IN_PROGRESS) and it ends COMPLETED, FAILED, CANCELLED or TIMED_OUT. `/cancel` ends a
queued or running job; `/retry` puts a FAILED or TIMED_OUT job back in the queue
(https://docs.runpod.io/serverless/endpoints/operations). TIMED_OUT from IN_QUEUE is a job that
expired before a worker took it; from IN_PROGRESS, a worker that did not report back in time.
"""

from __future__ import annotations

from enum import StrEnum

SOURCE = "https://docs.runpod.io/serverless/endpoints/job-states"


class JobStatus(StrEnum):
    IN_QUEUE = "IN_QUEUE"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"


_Q, _P = JobStatus.IN_QUEUE, JobStatus.IN_PROGRESS
_DONE, _FAIL = JobStatus.COMPLETED, JobStatus.FAILED
_CANCEL, _TIMEOUT = JobStatus.CANCELLED, JobStatus.TIMED_OUT

TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    _Q: frozenset({_P, _CANCEL, _TIMEOUT}),
    _P: frozenset({_DONE, _FAIL, _CANCEL, _TIMEOUT}),
    _DONE: frozenset(),
    _FAIL: frozenset({_Q}),  # /retry
    _CANCEL: frozenset(),
    _TIMEOUT: frozenset({_Q}),  # /retry
}
FINAL: frozenset[JobStatus] = frozenset({_DONE, _FAIL, _CANCEL, _TIMEOUT})
"""A job in one of these states will not change unless retried: polling may stop."""
RETRYABLE: frozenset[JobStatus] = frozenset(s for s, moves in TRANSITIONS.items() if _Q in moves)
STATUS_NAMES: tuple[str, ...] = tuple(s.value for s in JobStatus)
FINAL_NAMES: frozenset[str] = frozenset(s.value for s in FINAL)
"""FINAL as plain strings, for code that reads the `status` field of a JSON reply."""
RETRYABLE_NAMES: frozenset[str] = frozenset(s.value for s in RETRYABLE)
FINAL_COUNT_KEYS: dict[str, str] = {s.value: s.value.lower() for s in JobStatus if s in FINAL}
"""Each final state -> the key that counts it in result files (`COMPLETED` -> `completed`, ...)."""


def is_final(status: str | None) -> bool:
    """True for a final state's name; False for a live state, None or anything unknown."""
    return status in FINAL_NAMES


def is_legal(src: JobStatus, dst: JobStatus) -> bool:
    return dst in TRANSITIONS[src]
