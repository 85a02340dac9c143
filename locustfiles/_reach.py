"""Is the target still there? Connection errors with no reply in between, per process and merged.

A run whose target went away (killed, network gone) would otherwise run to its end sending
nothing but connection errors, and say it completed. When every request of every process has
failed without a reply (a refused or dropped connection, not a timeout: a slow target is a
result, not an absence) over `UNREACHABLE_AFTER_S`, the run stops itself and says why.
No locust or gevent import: tested directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

UNREACHABLE_AFTER_S = 3.0


@dataclass
class Reachability:
    """What one process saw: its last reply and the span of connection errors since."""

    last_reply: float | None = None
    first_unreplied: float | None = None
    """The first connection error after `last_reply` (None once a reply arrives)."""
    last_unreplied: float | None = None

    def observe(self, t: float, replied: bool) -> None:
        if replied:
            if self.last_reply is None or t > self.last_reply:
                self.last_reply = t
            self.first_unreplied = None
            return
        if self.first_unreplied is None:
            self.first_unreplied = t
        if self.last_unreplied is None or t > self.last_unreplied:
            self.last_unreplied = t

    def state(self) -> dict[str, float | None]:
        return asdict(self)


def unreachable_since(
    states: Iterable[Mapping[str, Any]], after_s: float = UNREACHABLE_AFTER_S
) -> float | None:
    """When the target stopped answering every process, if connection errors have spanned `after_s`.

    `states` are `Reachability.state()` of every process (the master merges its workers').
    """
    states = list(states)
    replies = [s["last_reply"] for s in states if s.get("last_reply") is not None]
    firsts = [s["first_unreplied"] for s in states if s.get("first_unreplied") is not None]
    lasts = [s["last_unreplied"] for s in states if s.get("last_unreplied") is not None]
    if not firsts or not lasts:
        return None
    last_reply = max(replies, default=None)
    after = [t for t in firsts if last_reply is None or t > last_reply]
    # A process failing since before another's last reply: count from that reply.
    since = min(after) if after else last_reply
    assert since is not None
    return since if max(lasts) - since >= after_s else None
