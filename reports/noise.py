"""How much a metric moves by chance, estimated from a run's own 1-second intervals.

The spread of a metric across intervals (per-interval p95, per-interval error rate, requests per
second) says how noisy the machine and target were. For a change between two runs the noise is
the half-width of a 95% interval on the difference of the two means (Welch):
`1.96 * sqrt(var_base / n_base + var_candidate / n_candidate)`. A change smaller than that is
not flagged, whatever the threshold says.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from reports.folder import RunFolder

Z_95 = 1.96
LATENCY_COLUMNS = {"p50_ms", "p90_ms", "p95_ms", "p99_ms"}
"""max_ms and p99.9 have no noise estimate: one slow request sets them, intervals cannot say how likely that was."""
RATIO_NUMERATORS = {
    "error_rate": ("failures", "-rate_limited"),
    "failure_rate": ("failures",),
    "rate_limited_share": ("rate_limited",),
    "timeout_rate": ("timeouts",),
}


def interval_series(run: RunFolder, scope: str, metric: str) -> pd.Series | None:
    """The per-interval values of `scope.metric`, or None when intervals cannot tell."""
    frame = run.intervals
    if frame is None or not len(frame):
        return None
    rows = frame if scope == "all" else frame[frame["op"] == scope]
    if not len(rows):
        return None
    by_t = rows.groupby("t", sort=True)
    if metric in LATENCY_COLUMNS:
        if scope != "all":
            return rows.set_index("t")[metric].dropna()
        weighted = (rows[metric] * rows["requests"]).groupby(rows["t"]).sum()
        weights = rows["requests"].where(rows[metric].notna(), 0).groupby(rows["t"]).sum()
        return (weighted / weights.replace(0, np.nan)).dropna()
    if metric in ("achieved_rps", "requests"):
        return by_t["requests"].sum().astype(float)
    if metric == "offered_rps":
        return by_t["offered"].sum().astype(float).dropna()
    if metric == "connection_error_rate":  # no HTTP status and no timeout: status_other - timeouts
        sums = by_t[["requests", "status_other", "timeouts"]].sum()
        errors = (sums["status_other"] - sums["timeouts"]).clip(lower=0).astype(float)
        return (errors / sums["requests"].replace(0, np.nan)).dropna()
    if metric in RATIO_NUMERATORS:
        sums = by_t[["requests", "failures", "rate_limited", "timeouts"]].sum()
        numerator = sums[RATIO_NUMERATORS[metric][0]].astype(float)
        if len(RATIO_NUMERATORS[metric]) > 1:
            numerator = (numerator - sums["rate_limited"]).clip(lower=0)
        requests = sums["requests"].replace(0, np.nan)
        return (numerator / requests).dropna()
    return None


def change_noise(base: pd.Series | None, candidate: pd.Series | None) -> float | None:
    """Half-width of the 95% interval of the difference of means; None if either side is too short."""
    if base is None or candidate is None or len(base) < 2 or len(candidate) < 2:
        return None
    spread = float(base.var(ddof=1)) / len(base) + float(candidate.var(ddof=1)) / len(candidate)
    return Z_95 * math.sqrt(spread) if math.isfinite(spread) else None
