"""The documented rate limits: one row per line of the documentation's table, with its source.

"RunPod enforces rate limits to ensure fair platform usage. These limits apply per endpoint and
operation" -- every window is 10 seconds. A row may name several operations: `/status`,
`/status-sync` and `/stream` are one row with one pair of numbers (one budget). `/retry` and
`/health` have no row. The queue rule (429 once the queue holds more than 50 jobs AND more than
workersMax x 500) is stated on the same page.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE = "https://docs.runpod.io/serverless/endpoints/operations"
"""The "Endpoint operations" page, section "Rate limits and quotas"."""
WINDOW_S = 10.0


@dataclass(frozen=True)
class DocumentedLimit:
    operations: tuple[str, ...]
    """The operations this row names; the first is the budget they share."""
    method: str
    """As the table gives it (`POST`, `GET`, `GET/POST`)."""
    rate: int
    """Requests accepted per window."""
    concurrency: int | None
    """Requests in flight at once; None where the table says N/A."""
    window_s: float = WINDOW_S
    source: str = SOURCE

    @property
    def budget(self) -> str:
        return self.operations[0]


@dataclass(frozen=True)
class QueueRule:
    """429 when the queue holds more than `min_jobs` AND more than workersMax x `jobs_per_worker`."""

    min_jobs: int = 50
    jobs_per_worker: int = 500
    operations: tuple[str, ...] = ("run", "runsync")
    source: str = SOURCE


ROWS: tuple[DocumentedLimit, ...] = (
    DocumentedLimit(("run",), "POST", 1000, 200),
    DocumentedLimit(("runsync",), "POST", 2000, 400),
    DocumentedLimit(("status", "status_sync", "stream"), "GET/POST", 2000, 400),
    DocumentedLimit(("cancel",), "POST", 100, 20),
    DocumentedLimit(("purge_queue",), "POST", 2, None),
    DocumentedLimit(("openai",), "POST", 2000, 400),
    DocumentedLimit(("requests",), "GET", 10, 2),
)
BY_BUDGET: dict[str, DocumentedLimit] = {row.budget: row for row in ROWS}
"""The rows by the budget they set: run, runsync, status, cancel, purge_queue, openai, requests."""
DOCUMENTED_FOR: dict[str, DocumentedLimit] = {op: row for row in ROWS for op in row.operations}
"""Each operation the table names -> its row (status_sync and stream -> the status row)."""
QUEUE_RULE = QueueRule()


def documented(operation: str) -> DocumentedLimit | None:
    """The row that names `operation`; None for operations the table leaves out (retry, health)."""
    return DOCUMENTED_FOR.get(operation)
