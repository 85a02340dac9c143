"""The operations discovery can probe: the request each one sends and what the documentation says.

A probe must be cheap and repeatable, so per-job operations (`status`, `stream`, `cancel`, ...)
address a job id that does not exist: the limiter decides before the job is looked up, so a 404
still spends rate budget and a 429 still means "limited". Operations that create jobs or empty
the queue are destructive; against a real target they need `--allow-destructive`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DOCUMENTED_WINDOW_S = 10.0
PROBE_JOB_ID = "podbench-limits-probe-00000000"


@dataclass(frozen=True)
class Documented:
    """One row of the source document's "Rate limits and quotas" table."""

    limit: int
    window_s: float
    concurrency: int | None

    def as_json(self) -> dict[str, Any]:
        return {"limit": self.limit, "window_s": self.window_s, "concurrency": self.concurrency}


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: str
    """Relative to {base_url}/{endpoint_id}/; `{job}` is replaced by a job id."""
    body: dict[str, Any] | None
    destructive: bool
    documented: Documented | None
    hold: str | None
    """How to keep one request in flight: "runsync", "status_sync", "stream" or None."""

    def url(self, base_url: str, endpoint_id: str, job_id: str = PROBE_JOB_ID) -> str:
        return f"{base_url}/{endpoint_id}/{self.path.format(job=job_id)}"


def _doc(limit: int, concurrency: int | None) -> Documented:
    return Documented(limit, DOCUMENTED_WINDOW_S, concurrency)


_ECHO = {"input": {"podbench": "limits probe"}}
_CHAT = {"model": "podbench-echo", "messages": [{"role": "user", "content": "limits probe"}], "max_tokens": 1}

OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation("run", "POST", "run", _ECHO, True, _doc(1000, 200), None),
        Operation("runsync", "POST", "runsync?wait=1000", _ECHO, True, _doc(2000, 400), "runsync"),
        Operation("status", "GET", "status/{job}", None, False, _doc(2000, 400), "status_sync"),
        Operation(
            "status_sync", "GET", "status-sync/{job}?wait=1000", None, False, _doc(2000, 400), "status_sync"
        ),
        Operation("stream", "GET", "stream/{job}", None, False, _doc(2000, 400), "stream"),
        Operation("cancel", "POST", "cancel/{job}", None, False, _doc(100, 20), None),
        Operation("retry", "POST", "retry/{job}", None, False, None, None),
        Operation("purge_queue", "POST", "purge-queue", None, True, _doc(2, None), None),
        Operation("health", "GET", "health", None, False, None, None),
        Operation("requests", "GET", "requests", None, False, _doc(10, 2), None),
        Operation("openai", "POST", "openai/v1/chat/completions", _CHAT, True, _doc(2000, 400), None),
    )
}


def operation(name: str) -> Operation:
    try:
        return OPERATIONS[name]
    except KeyError:
        known = ", ".join(OPERATIONS)
        raise ValueError(f"unknown operation {name!r}; choose from {known}") from None
