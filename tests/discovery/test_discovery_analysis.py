"""The pure parts: the algorithm models, the fit, and the Retry-After parsing (no network)."""

from __future__ import annotations

from discovery_targets import Bucket, Fixed, Sliding

from discovery.analysis import classify, recoveries, sustained_rate
from discovery.models import Candidate, fixed_window, mismatches, sliding_window, token_bucket
from discovery.pacer import Sample
from discovery.probes import parse_retry_after

N, W = 10, 1.0


def burst(start: float, count: int, rate: float = 1000.0) -> list[float]:
    return [start + i / rate for i in range(count)]


def test_fixed_window_passes_twice_the_limit_across_a_boundary() -> None:
    times = burst(0.95, 2 * N, rate=200)  # 50 ms before and 50 ms after the boundary at 1.0
    assert sum(fixed_window(times, N, W, phase_s=0.0)) == 2 * N
    assert sum(sliding_window(times, N, W)) == N
    assert sum(token_bucket(times, N, N / W)) == N  # 95 ms of refill at 10/s is not a whole token


def test_sliding_window_recovers_one_window_after_each_accept() -> None:
    times = [*burst(0.0, N), 0.999, 1.0005, 1.0095]
    accepted = sliding_window(times, N, W)
    assert accepted[:N] == [True] * N and accepted[N:] == [False, True, True]


def test_token_bucket_refills_at_its_rate() -> None:
    times = burst(0.0, N + 5) + [0.02 + i * 0.01 for i in range(100)]
    accepted = token_bucket(times, N, N / W)
    assert sum(accepted[: N + 5]) == N
    assert sum(accepted[N + 5 :]) in (9, 10)  # one second of probes at 100/s, one token per 0.1 s


def _samples(limiter: Sliding | Fixed | Bucket, plan: list[tuple[str, float]]) -> list[Sample]:
    out = []
    for seq, (phase, t) in enumerate(plan):
        status = 200 if limiter.wait(t) == 0 else 429
        out.append(Sample(seq, "status", phase, t, t, status=status, latency_ms=0.0))
    return out


def _probe_plan() -> list[tuple[str, float]]:
    """A cold burst, then 3 s of probes at 200/s: what the watch phase would send."""
    return [("cold", t) for t in burst(0.0, 3 * N)] + [("watch", 0.05 + i / 200) for i in range(600)]


def test_classify_a_bucket_from_its_steady_refill() -> None:
    fit = classify(_samples(Bucket(N, W, N), _probe_plan()), watch_interval_s=0.005)
    assert fit.algorithm == "token_bucket"
    assert fit.burst == N and fit.rate_per_s is not None and abs(fit.rate_per_s - N / W) < 0.02 * N / W


def test_classify_a_window_and_its_length() -> None:
    fit = classify(_samples(Sliding(N, W), _probe_plan()), watch_interval_s=0.005)
    assert fit.algorithm == "sliding_window" and fit.limit == N
    assert fit.window_s is not None and abs(fit.window_s - W) < 0.01


def test_a_fixed_window_is_told_from_a_sliding_one() -> None:
    # The boundary (phase 0.6) is unrelated to the burst: the first recovery comes early.
    fit = classify(_samples(Fixed(N, W, phase_s=0.6), _probe_plan()), watch_interval_s=0.005)
    assert fit.algorithm == "fixed_window" and fit.limit == N
    assert fit.window_s is not None and abs(fit.window_s - W) < 0.01
    assert fit.evidence["mismatches"]["fixed_window"] < fit.evidence["mismatches"]["sliding_window"]


def test_no_refusal_means_no_limit() -> None:
    samples = [Sample(i, "status", "cold", t, t, status=200) for i, t in enumerate(burst(0, 50))]
    assert classify(samples, 0.005).algorithm == "none"


def test_recoveries_and_sustained_rate() -> None:
    samples = _samples(Sliding(N, W), _probe_plan())
    found = recoveries(samples, max_gap_s=0.0125)
    assert [round(r.t) for r in found[:2]] == [1, 2]
    rate = sustained_rate(samples, 0.005)
    assert rate is not None and abs(rate - N / W) <= 0.06 * N / W  # one accept either side of a span


def test_mismatches_forgive_small_estimation_errors() -> None:
    times = burst(0.0, 3 * N) + [0.05 + i / 200 for i in range(600)]
    observed = token_bucket(times, N, 10.0)
    assert mismatches(Candidate("token_bucket", N, 1.0, N, 10.05), times, observed) <= 2
    assert mismatches(Candidate("token_bucket", N, 1.0, N, 13.0), times, observed) >= 5


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == (3.0, 1.0)
    assert parse_retry_after("0.5") == (0.5, 0.025)
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
