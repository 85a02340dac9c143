"""From a recorded timeline to a limit: estimate each algorithm's parameters, fit, pick the best.

Pure code (no I/O), so it is tested on synthetic timelines. The timeline of one operation is its
samples in the order they really left (a request that waited for a connection leaves late), tagged by phase: `cold` (a fast burst from a rested limiter), `watch`
(probing after exhaustion: slow while refused, fast while accepted, so each recovery is timed
to a probe interval and then used up at once), `straddle` (a fast burst centred on a supposed
fixed-window boundary) and `retry_before` / `retry_after` (the two `Retry-After` probes).

What tells the classes apart:
- token bucket: after exhaustion single accepts arrive steadily at the refill rate;
- windows: after exhaustion nothing is accepted until a recovery, then a whole window's worth;
- fixed vs sliding: the straddle burst gets about 2N through a fixed window (N before the
  boundary, N after) but only N through a sliding one; and a sliding window recovers exactly
  one window after the cold burst began, a fixed one at a boundary unrelated to it.
Every candidate is then simulated on the real send times; the one with fewest mismatches wins.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from discovery.models import Candidate, mismatches
from discovery.pacer import Sample

RATE_PHASES = ("cold", "watch", "straddle", "retry_before", "retry_after", "exhaust")
RESOLVED_WITHIN = 6
"""A recovery is timed when its refused and accepted sends are at most this many probe intervals
apart (a client stall right at the turn still times it within 30 ms at 200 probes/s)."""
UNKNOWN_ABOVE = 0.15
"""A best fit that still gets more than this share of the accepts wrong is reported as "unknown"."""


@dataclass(frozen=True)
class Recovery:
    t: float
    """Midpoint of the last refused and the first accepted send: the moment the limit let go."""
    resolution_s: float
    run_accepted: int
    """Accepted from this recovery until the next refusal ended it."""
    silence_s: float
    """Time since the previous accepted request: long for a window, one refill for a bucket."""


@dataclass
class Fit:
    algorithm: str
    limit: int | None
    window_s: float | None
    burst: int | None
    rate_per_s: float | None
    evidence: dict[str, Any] = field(default_factory=dict)


def usable(samples: Sequence[Sample]) -> list[Sample]:
    """Answers that say something about the limiter (no transport errors, no 5xx)."""
    return [s for s in samples if s.phase in RATE_PHASES and (s.accepted or s.limited)]


def recoveries(samples: Sequence[Sample], max_gap_s: float) -> list[Recovery]:
    """Refused-then-accepted turns whose two sends are at most `max_gap_s` apart (resolved)."""
    found: list[Recovery] = []
    last_refused: Sample | None = None
    last_accepted: Sample | None = None
    for i, s in enumerate(samples):
        if s.limited:
            last_refused = s
            continue
        previous_accept, last_accepted = last_accepted, s
        if (
            previous_accept is not None
            and last_refused is not None
            and samples[i - 1].limited
            and s.t_server - last_refused.t_server <= max_gap_s
        ):
            run = 0
            for later in samples[i:]:
                if later.limited:
                    break
                run += 1
            t = (s.t_server + last_refused.t_server) / 2
            found.append(
                Recovery(t, s.t_server - last_refused.t_server, run, s.t_server - previous_accept.t_server)
            )
    return found


def major(found: Sequence[Recovery]) -> list[Recovery]:
    """Recoveries after a long silence (a window's turn), not a brief stall inside a run."""
    if not found:
        return []
    longest = max(r.silence_s for r in found)
    return [r for r in found if r.silence_s >= 0.3 * longest]


def clustered_share(samples: Sequence[Sample]) -> float | None:
    """Share of the watch's accept gaps under a fifth of the mean gap.

    A window hands out its recovered budget in clusters (many tiny gaps, a few long ones); a
    bucket hands out tokens evenly (no tiny gaps). This breaks ties between the two when the
    limit is so small (2 per 10 s) that both models explain every answer.
    """
    accepted = [s.t_server for s in samples if s.phase == "watch" and s.accepted]
    gaps = [b - a for a, b in zip(accepted, accepted[1:], strict=False)]
    if len(gaps) < 2:
        return None
    mean = statistics.fmean(gaps)
    return sum(g < 0.2 * mean for g in gaps) / len(gaps)


def _slope(times: Sequence[float]) -> float:
    """Accepts per second: least-squares slope of the accept count against accept time."""
    t_mean, n_mean = statistics.fmean(times), (len(times) - 1) / 2
    cov = sum((t - t_mean) * (i - n_mean) for i, t in enumerate(times))
    var = sum((t - t_mean) ** 2 for t in times)
    return cov / var


def _lattice_fit(times: Sequence[float], guess: float) -> tuple[float, float]:
    """Least-squares `t = phase + n * window` with integer n counted from the first time."""
    ns = [round((t - times[0]) / guess) for t in times]
    if len(set(ns)) < 2:
        return guess, times[-1]
    n_mean, t_mean = statistics.fmean(ns), statistics.fmean(times)
    cov = sum((n - n_mean) * (t - t_mean) for n, t in zip(ns, times, strict=True))
    var = sum((n - n_mean) ** 2 for n in ns)
    window = cov / var
    return window, t_mean - window * n_mean


def estimate(samples: Sequence[Sample], watch_interval_s: float) -> dict[str, Candidate]:
    """One candidate per algorithm, parameters taken from the parts of the timeline that show them."""
    cold = [s for s in samples if s.phase == "cold"]
    cold_ok = [s for s in cold if s.accepted]
    watch = [s for s in samples if s.phase == "watch"]
    if not cold_ok:
        return {}
    burst_cold = len(cold_ok)
    t0 = cold_ok[0].t_server
    found = major(recoveries(samples, max_gap_s=RESOLVED_WITHIN * watch_interval_s))
    candidates: dict[str, Candidate] = {}

    watch_ok = [s.t_server for s in watch if s.accepted]
    if len(watch_ok) >= 3 and watch_ok[-1] > watch_ok[0]:
        # Least squares of accept number on time: each accept's jitter averages out.
        rate = _slope(watch_ok)
        # A full bucket passes `burst` at once, then one more per whole token refilled meanwhile;
        # counting only up to the first refusal keeps that refill (and its timing error) small.
        first_refusal = next((s.t_server for s in cold if s.limited), cold_ok[-1].t_server)
        before_refusal = sum(s.t_server < first_refusal for s in cold_ok)
        refilled = math.floor(rate * max(0.0, first_refusal - t0))
        burst = float(max(1, before_refusal - refilled))
        candidates["token_bucket"] = Candidate("token_bucket", int(burst), burst / rate, burst, rate)

    if found:
        # A sliding window lets go exactly one window after the first accept of the cold burst;
        # later spans (run start to next recovery) confirm it when they agree within 20%.
        first_after_cold = found[0].t - t0
        spans = [first_after_cold] + [b.t - a.t for a, b in zip(found, found[1:], strict=False)]
        sliding_window = statistics.median(
            [x for x in spans if abs(x - first_after_cold) <= 0.2 * first_after_cold]
        )
        candidates["sliding_window"] = Candidate(
            "sliding_window", burst_cold, sliding_window, burst_cold, burst_cold / sliding_window
        )
        # A fixed window's recoveries sit on its boundaries: a lattice whose step is the window.
        lattice = [r.t for r in found]
        gaps = [b - a for a, b in zip(lattice, lattice[1:], strict=False)]
        wide = [g for g in gaps if gaps and g > 0.5 * statistics.median(gaps)]
        guess = min(wide) if wide else sliding_window
        window, phase = _lattice_fit(lattice, guess)
        runs = [r.run_accepted for r in found if r.run_accepted > 1] or [burst_cold]
        limit = int(statistics.median_high(runs))
        candidates["fixed_window"] = Candidate(
            "fixed_window", limit, window, limit, limit / window, phase % window
        )
    return candidates


def classify(samples: Sequence[Sample], watch_interval_s: float) -> Fit:
    ordered = usable(sorted(samples, key=lambda s: s.t_send))
    if not ordered:
        return Fit("unknown", None, None, None, None, {"reason": "no usable answers"})
    if not any(s.limited for s in ordered):
        return Fit("none", None, None, None, None, {"reason": f"no 429 in {len(ordered)} requests"})
    candidates = estimate(ordered, watch_interval_s)
    if not candidates:
        return Fit("unknown", None, None, None, None, {"reason": "the cold burst was refused from the start"})
    times = [s.t_server for s in ordered]
    observed = [s.accepted for s in ordered]
    shift = 2 * watch_interval_s
    # Slow answers blur when the target decided: bins at least twice the typical round trip.
    bin_s = max(0.05, 2 * statistics.median(s.latency_ms for s in ordered) / 1000.0)
    scores = {
        name: mismatches(c, times, observed, shift_s=shift, bin_s=bin_s) for name, c in candidates.items()
    }
    clustered = clustered_share(ordered)
    windowish = clustered is not None and clustered >= 0.25
    best_name = min(
        scores, key=lambda n: (scores[n], (n == "token_bucket") == windowish, n != "sliding_window")
    )
    best = candidates[best_name]
    share = scores[best_name] / max(1, sum(observed))
    evidence: dict[str, Any] = {
        "answers_fitted": len(ordered),
        "mismatch_meaning": "accepts the model puts in the wrong 50 ms bin, beyond one per bin",
        "best_fit": best_name,
        "watch_clustered_share": None if clustered is None else round(clustered, 3),
        "mismatches": scores,
        "candidates": {n: _candidate_json(c) for n, c in candidates.items()},
        "cold_burst_accepted": sum(s.accepted for s in ordered if s.phase == "cold"),
    }
    evidence.update(straddle_evidence(ordered, best))
    algorithm = best_name if share <= UNKNOWN_ABOVE else "unknown"
    return Fit(
        algorithm,
        best.limit,
        round(best.window_s, 4),
        best.limit if best_name != "token_bucket" else int(best.burst),
        round(best.rate_per_s, 4),
        evidence,
    )


def straddle_evidence(samples: Sequence[Sample], best: Candidate) -> dict[str, Any]:
    straddle = [s for s in samples if s.phase == "straddle"]
    if not straddle:
        return {}
    accepted = sum(s.accepted for s in straddle)
    return {
        "straddle": {
            "sent": len(straddle),
            "accepted": accepted,
            "accepted_per_limit": round(accepted / best.limit, 3) if best.limit else None,
            "span_s": round(straddle[-1].t_server - straddle[0].t_server, 4),
            "reading": "about 2x the limit passes a fixed-window boundary; a sliding window lets only 1x through",
        }
    }


def _candidate_json(c: Candidate) -> dict[str, Any]:
    return {
        "limit": c.limit,
        "window_s": round(c.window_s, 4),
        "burst": round(c.burst, 2),
        "rate_per_s": round(c.rate_per_s, 4),
        "phase_s": round(c.phase_s, 4),
    }


def recovery_curve(samples: Sequence[Sample], points: int = 200) -> list[list[float]]:
    """Accepted so far against seconds since the cold burst was first refused."""
    ordered = sorted(samples, key=lambda s: s.t_send)
    first_refusal = next((s.t_server for s in ordered if s.phase == "cold" and s.limited), None)
    if first_refusal is None:
        return []
    curve: list[list[float]] = []
    count = 0
    for s in ordered:
        if s.phase == "watch" and s.accepted:
            count += 1
            curve.append([round(s.t_server - first_refusal, 4), count])
    step = max(1, len(curve) // points)
    return curve[::step] if curve[-1:] == curve[::step][-1:] else curve[::step] + curve[-1:]


def sustained_rate(samples: Sequence[Sample], watch_interval_s: float) -> float | None:
    """Accepted per second across whole windows: from the first recovery after exhaustion to the last."""
    ordered = sorted(
        (s for s in samples if s.phase in ("cold", "watch") and (s.accepted or s.limited)),
        key=lambda s: s.t_send,
    )
    found = major(recoveries(ordered, max_gap_s=RESOLVED_WITHIN * watch_interval_s))
    if len(found) >= 2 and found[-1].t > found[0].t:
        inside = sum(s.accepted for s in ordered if found[0].t <= s.t_server < found[-1].t)
        return round(inside / (found[-1].t - found[0].t), 4)
    return None
