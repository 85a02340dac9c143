"""Worker-seconds from the /health timeline: how much worker time a run used, by state.

Each sample's counts are taken to hold until the next sample (the sampler runs about once a
second), so `running` worker-seconds = sum of running[i] * (t[i+1] - t[i]); the last sample
closes the timeline. `total` = running + idle + initializing (the states a worker is billed in;
`throttled` and `unhealthy` workers are left out). Samples without a reply are skipped: the
counts before them are taken to hold over the gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

STATES = ("running", "idle", "initializing")


def worker_seconds(rows: Sequence[dict[str, Any]]) -> dict[str, float] | None:
    """None when fewer than two samples answered (nothing to integrate)."""
    samples = [r for r in rows if all(isinstance(r.get(s), int | float) for s in STATES)]
    if len(samples) < 2:
        return None
    sums = dict.fromkeys(STATES, 0.0)
    for now, after in zip(samples, samples[1:], strict=False):
        span = float(after["t"]) - float(now["t"])
        for state in STATES:
            sums[state] += float(now[state]) * span
    out = {state: round(value, 3) for state, value in sums.items()}
    return {"total": round(sum(sums.values()), 3), **out}
