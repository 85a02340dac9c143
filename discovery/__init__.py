"""Rate-limit discovery: measure an endpoint's real limits from outside, over HTTP only.

`podbench limits` drives this room. Per operation it measures the cold burst, the window, the
sustained accepted rate, the recovery curve after exhaustion, the concurrency limit and the
algorithm class (fixed window, sliding window, token bucket), and checks `Retry-After`.

Layout (one concern per module):
- `operations`: what each operation's request looks like and what the documentation promises;
- `pacer`: the precise asyncio/aiohttp sender that records intended against actual send times;
- `calibrate`: how fast this client can send at all (the run refuses what it cannot measure);
- `probes`: the probe sequence for one operation (cold burst, watch, straddle, Retry-After);
- `concurrency`: holding requests in flight to find the concurrency limit;
- `models` and `analysis`: pure code that fits each algorithm to the recorded timeline;
- `runner`: the whole run and the `limits.json` document.

The front door (what `podbench limits` uses; the modules above are the room's own business):
`Settings` and `Discovery(settings, say).run()` (or `discover(settings, say)`) for a run,
`Discovery.so_far(reason)` for what a cut-short run measured, `planned_requests(settings)`,
`client_capacity()` (this client's send rate, measured on loopback), `ClientTooSlow`,
`OPERATIONS`, `operation(name)` and `Documented` (an expected limit).
"""

from __future__ import annotations

from discovery.calibrate import client_capacity
from discovery.operations import OPERATIONS, Documented, operation
from discovery.runner import ClientTooSlow, Discovery, Settings, discover, planned_requests

__all__ = [
    "OPERATIONS",
    "ClientTooSlow",
    "Discovery",
    "Documented",
    "Settings",
    "client_capacity",
    "discover",
    "operation",
    "planned_requests",
]
