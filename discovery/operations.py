"""The operations discovery can probe: the request each one sends and what the documentation says.

A probe must be cheap and repeatable, so per-job operations (`status`, `stream`, `cancel`, ...)
address a job id that does not exist: the limiter decides before the job is looked up, so a 404
still spends rate budget and a 429 still means "limited". Operations that create jobs or empty
the queue are destructive; against a real target they need `--allow-destructive`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contract import limits, operations

DOCUMENTED_WINDOW_S = limits.WINDOW_S
PROBE_JOB_ID = "podbench-limits-probe-00000000"


@dataclass(frozen=True)
class Documented:
    """An expected limit: a row of the documentation's "Rate limits and quotas" table, or a hint."""

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
    """Relative to {base_url}/{endpoint_id}/; `{job_id}` is replaced by a job id."""
    body: dict[str, Any] | None
    destructive: bool
    documented: Documented | None
    hold: str | None
    """How to keep one request in flight: "runsync", "status_sync", "stream" or None."""

    def url(self, base_url: str, endpoint_id: str, job_id: str = PROBE_JOB_ID) -> str:
        return f"{base_url}/{endpoint_id}/{self.path.replace(operations.JOB_ID, job_id)}"


_ECHO = {"input": {"podbench": "limits probe"}}
_CHAT = {"model": "podbench-echo", "messages": [{"role": "user", "content": "limits probe"}], "max_tokens": 1}

# What a probe of each operation sends: (query, body, destructive, hold). Routes and documented
# limits are the contract's; `?wait=1000` keeps a held call short.
_PROBES: dict[str, tuple[str, dict[str, Any] | None, bool, str | None]] = {
    "run": ("", _ECHO, True, None),
    "runsync": ("?wait=1000", _ECHO, True, "runsync"),
    "status": ("", None, False, "status_sync"),
    "status_sync": ("?wait=1000", None, False, "status_sync"),
    "stream": ("", None, False, "stream"),
    "cancel": ("", None, False, None),
    "retry": ("", None, False, None),
    "purge_queue": ("", None, True, None),
    "health": ("", None, False, None),
    "requests": ("", None, False, None),
    "openai": ("", _CHAT, True, None),
}


def _documented(name: str) -> Documented | None:
    row = limits.documented(name)
    return None if row is None else Documented(row.rate, row.window_s, row.concurrency)


OPERATIONS: dict[str, Operation] = {
    op.name: Operation(
        op.name,
        op.method,
        op.path + _PROBES[op.name][0],
        _PROBES[op.name][1],
        _PROBES[op.name][2],
        _documented(op.name),
        _PROBES[op.name][3],
    )
    for op in operations.ALL
}


def operation(name: str) -> Operation:
    try:
        return OPERATIONS[name]
    except KeyError:
        known = ", ".join(OPERATIONS)
        raise ValueError(f"unknown operation {name!r}; choose from {known}") from None
