"""The 429 the emulator sends when a limit is hit: its body names the limit.

    {"error": "Too many requests: /run rate limit of 1000 requests per 10 s; retry after 3 s",
     "status": 429,
     "limit": {"kind": "rate", "operation": "run", "budget": "run", "limit": 1000, "window_s": 10.0},
     "retry_after": 3}

`kind` is `rate`, `concurrency` or `queue`; `budget` differs from `operation` when the operation
shares another's budget (`stream` and `status_sync` use `status`'s, `retry` uses `cancel`'s).
"""

from __future__ import annotations

from emulator.errors import RateLimited
from emulator.limits.admission import Rejection


class LimitHit(RateLimited):
    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.message, retry_after=rejection.retry_after, headers=rejection.headers)
        self.rejection = rejection

    def body(self) -> dict[str, object]:
        return {"error": self.message, "status": self.status, **self.rejection.body()}
