"""Each limiter algorithm as a pure function of send times: which requests would it accept?

The analysis fits every candidate to the recorded timeline and keeps the one that explains it;
the mismatch count is the evidence. These are written from the algorithms' definitions (this room
imports nothing of the emulator): sliding window = never more than `limit` accepts in any span of
`window_s`; fixed window = `limit` per window, count reset at boundaries `phase + k * window_s`;
token bucket (GCRA) = `burst` tokens, refilled at `rate` per second, starting full.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace

SLACK = 1e-9


@dataclass(frozen=True)
class Candidate:
    algorithm: str
    limit: int
    window_s: float
    burst: float
    rate_per_s: float
    phase_s: float = 0.0

    def simulate(self, times: Sequence[float]) -> list[bool]:
        if self.algorithm == "fixed_window":
            return fixed_window(times, self.limit, self.window_s, self.phase_s)
        if self.algorithm == "sliding_window":
            return sliding_window(times, self.limit, self.window_s)
        if self.algorithm == "token_bucket":
            return token_bucket(times, self.burst, self.rate_per_s)
        raise ValueError(f"unknown algorithm {self.algorithm!r}")


def sliding_window(times: Sequence[float], limit: int, window_s: float) -> list[bool]:
    recent: deque[float] = deque()
    out: list[bool] = []
    for t in times:
        while recent and recent[0] <= t - window_s + SLACK:
            recent.popleft()
        ok = len(recent) < limit
        if ok:
            recent.append(t)
        out.append(ok)
    return out


def fixed_window(times: Sequence[float], limit: int, window_s: float, phase_s: float) -> list[bool]:
    index, count = None, 0
    out: list[bool] = []
    for t in times:
        current = math.floor((t - phase_s) / window_s + SLACK)
        if current != index:
            index, count = current, 0
        ok = count < limit
        count += ok
        out.append(ok)
    return out


def token_bucket(times: Sequence[float], burst: float, rate_per_s: float) -> list[bool]:
    tokens, last = burst, None
    out: list[bool] = []
    for t in times:
        if last is not None:
            tokens = min(burst, tokens + (t - last) * rate_per_s)
        last = t
        ok = tokens >= 1.0 - 1e-6
        if ok:
            tokens -= 1.0
        out.append(ok)
    return out


def variants(c: Candidate, share: float, shift_s: float) -> list[Candidate]:
    """The candidate and its neighbours: parameters estimated within `share`, a phase within `shift_s`."""
    out = [c]
    out += [replace(c, window_s=c.window_s * k, rate_per_s=c.rate_per_s / k) for k in (1 - share, 1 + share)]
    if c.algorithm == "fixed_window":
        out += [replace(c, phase_s=c.phase_s - shift_s), replace(c, phase_s=c.phase_s + shift_s)]
    return out


def mismatches(
    candidate: Candidate,
    times: Sequence[float],
    observed: Sequence[bool],
    share: float = 0.01,
    shift_s: float = 0.005,
    bin_s: float = 0.05,
) -> int:
    """Accepts the candidate gets wrong, forgiving estimation error and jitter.

    Answer-by-answer comparison would punish a model whose token comes one probe late as much
    as a wrong model, and running totals never forget one early slip. So accepts are counted in
    short time bins, model against observed, and each bin may differ by one; the score is the
    rest, for the best of the candidate's neighbours (parameters within `share`, a fixed
    window's phase within `shift_s`).
    """
    scores = []
    for v in variants(candidate, share, shift_s):
        simulated = v.simulate(times)
        # Coarse bins too: a rate a few percent off never differs by two in a short bin.
        scores.append(max(_binned_difference(times, simulated, observed, b) for b in (bin_s, 20 * bin_s)))
    return min(scores)


def _binned_difference(
    times: Sequence[float], simulated: Sequence[bool], observed: Sequence[bool], bin_s: float
) -> int:
    """Per bin: |model accepts - observed accepts| beyond one, and beyond 2% of the bin's accepts."""
    gaps: dict[int, int] = {}
    accepts: dict[int, int] = {}
    for t, model, seen in zip(times, simulated, observed, strict=True):
        key = math.floor(t / bin_s)
        accepts[key] = accepts.get(key, 0) + seen
        if model != seen:
            gaps[key] = gaps.get(key, 0) + (1 if model else -1)
    return sum(max(0, abs(g) - max(1, math.floor(0.02 * accepts[k]))) for k, g in gaps.items())
