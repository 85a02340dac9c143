"""The endpoint operations: name, routes (method + path) and the rate-limit budget each one spends.

Paths are relative to `{base_url}/{endpoint_id}/` (the base ends in `/v2` for the real API) and
`{job_id}` stands for a job id. The documentation gives `/status`, `/status-sync` and `/stream`
one row with one pair of numbers, so they spend one budget (`status`'s); `/retry` is not in the
table and spends `/cancel`'s (it is the other per-job control call); `/health` is not limited.
Source: https://docs.runpod.io/serverless/endpoints/operations ("Rate limits and quotas").
"""

from __future__ import annotations

from dataclasses import dataclass

JOB_ID = "{job_id}"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    """Relative to `{base_url}/{endpoint_id}/`; may hold `{job_id}`."""


@dataclass(frozen=True)
class Operation:
    name: str
    routes: tuple[Route, ...]
    """Every method and path that is this operation; the first is the one clients use."""
    budget: str | None
    """The operation whose rate-limit budget a request spends; None: not rate limited."""
    per_job: bool
    """The path names a job (`{job_id}`)."""
    creates_jobs: bool

    @property
    def method(self) -> str:
        return self.routes[0].method

    @property
    def path(self) -> str:
        return self.routes[0].path

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.method for r in self.routes))

    def url(self, base_url: str, endpoint_id: str, job_id: str = "") -> str:
        """The URL of the first route; `job_id` fills `{job_id}` for per-job operations."""
        if self.per_job and not job_id:
            raise ValueError(f"operation {self.name!r} needs a job id")
        return f"{base_url.rstrip('/')}/{endpoint_id}/{self.path.replace(JOB_ID, job_id)}"


def _op(
    name: str, routes: tuple[tuple[str, str], ...], budget: str | None, *, creates_jobs: bool = False
) -> Operation:
    return Operation(
        name=name,
        routes=tuple(Route(m, p) for m, p in routes),
        budget=budget,
        per_job=JOB_ID in routes[0][1],
        creates_jobs=creates_jobs,
    )


_J = f"/{JOB_ID}"
ALL: tuple[Operation, ...] = (
    _op("run", (("POST", "run"),), "run", creates_jobs=True),
    _op("runsync", (("POST", "runsync"),), "runsync", creates_jobs=True),
    _op("status", (("GET", f"status{_J}"), ("POST", f"status{_J}")), "status"),
    _op("status_sync", (("GET", f"status-sync{_J}"), ("POST", f"status-sync{_J}")), "status"),
    _op("stream", (("GET", f"stream{_J}"), ("POST", f"stream{_J}")), "status"),
    _op("cancel", (("POST", f"cancel{_J}"),), "cancel"),
    _op("retry", (("POST", f"retry{_J}"),), "cancel"),
    _op("purge_queue", (("POST", "purge-queue"),), "purge_queue"),
    _op("health", (("GET", "health"),), None),
    _op("requests", (("GET", "requests"),), "requests"),
    _op(
        "openai",
        (
            ("POST", "openai/v1/chat/completions"),
            ("POST", "openai/v1/completions"),
            ("GET", "openai/v1/models"),
        ),
        "openai",
        creates_jobs=True,
    ),
)
BY_NAME: dict[str, Operation] = {op.name: op for op in ALL}
NAMES: tuple[str, ...] = tuple(BY_NAME)
"""Every operation's short name, in the documentation's order (`run`, `runsync`, `status`, ...)."""
BUDGET_OF: dict[str, str | None] = {op.name: op.budget for op in ALL}
SHARES_BUDGET_OF: dict[str, str] = {
    op.name: op.budget for op in ALL if op.budget is not None and op.budget != op.name
}
"""Operations that spend another operation's budget: status_sync, stream -> status; retry -> cancel."""
LOAD_OPERATIONS: tuple[str, ...] = (
    "run",
    "runsync",
    "status",
    "stream",
    "cancel",
    "retry",
    "purge_queue",
    "health",
)
"""The operations a load profile can offer a rate of (the others have no load-room sender)."""


def operation(name: str) -> Operation:
    """The operation called `name`; ValueError naming the known ones otherwise."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown operation {name!r}; choose from {', '.join(NAMES)}") from None
