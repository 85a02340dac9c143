"""The fields of a `/health` reply, in the order the emulator writes them.

    {"jobs": {"completed": 1, "failed": 0, "inProgress": 0, "inQueue": 2, "retried": 0},
     "workers": {"idle": 1, "initializing": 0, "ready": 1, "running": 0, "throttled": 0, "unhealthy": 0}}

Source: https://docs.runpod.io/serverless/endpoints/operations ("/health").
"""

from __future__ import annotations

SOURCE = "https://docs.runpod.io/serverless/endpoints/operations"
JOB_FIELDS: tuple[str, ...] = ("completed", "failed", "inProgress", "inQueue", "retried")
WORKER_FIELDS: tuple[str, ...] = ("idle", "initializing", "ready", "running", "throttled", "unhealthy")


def csv_column(field: str) -> str:
    """The health.csv column of a reply field: `inQueue` -> `in_queue`."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in field)
