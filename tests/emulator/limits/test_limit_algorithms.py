"""Each algorithm exactly as its definition, driven by explicit clock values."""

from __future__ import annotations

import copy
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.limits.algorithms import (
    FixedWindow,
    SlidingWindow,
    TokenBucket,
    make_algorithm,
    retry_after_seconds,
)

# On a 1/64 s grid, so window boundaries are hit exactly and no float noise sits inside the
# algorithms' 1e-9 s comparison slack (the only inexactness they allow).
arrivals = st.lists(st.integers(0, 64 * 60).map(lambda i: 1000 + i / 64), min_size=1, max_size=200).map(
    sorted
)


class TestSlidingWindow:
    def test_accepts_limit_then_rejects_until_the_oldest_accept_is_a_window_old(self) -> None:
        window = SlidingWindow(3, 10.0)
        assert [window.try_acquire(t) for t in (0.0, 1.0, 2.0)] == [0.0, 0.0, 0.0]
        assert window.try_acquire(3.0) == pytest.approx(7.0)
        assert window.try_acquire(9.999) == pytest.approx(0.001)
        assert window.try_acquire(10.0) == 0.0  # spans are half-open: [0, 10) and [10, 20)
        assert window.try_acquire(10.5) == pytest.approx(0.5)
        assert window.try_acquire(11.0) == 0.0

    def test_rejections_are_not_counted(self) -> None:
        window = SlidingWindow(1, 10.0)
        window.try_acquire(0.0)
        for t in range(1, 10):
            assert window.try_acquire(float(t)) > 0
        assert window.try_acquire(10.0) == 0.0

    def test_burst_of_exactly_limit_at_one_instant(self) -> None:
        window = SlidingWindow(5, 10.0)
        assert sum(window.try_acquire(0.0) == 0.0 for _ in range(8)) == 5

    @settings(max_examples=150, deadline=None)
    @given(arrivals, st.integers(1, 6), st.sampled_from([1.0, 2.5, 10.0]))
    def test_exact_never_more_than_limit_in_any_span_and_never_rejects_needlessly(
        self, times: list[float], limit: int, span: float
    ) -> None:
        window = SlidingWindow(limit, span)
        accepted: list[float] = []
        for t in times:
            in_span = [a for a in accepted if a > t - span]
            if window.try_acquire(t) == 0.0:
                assert len(in_span) < limit
                accepted.append(t)
            else:
                assert len(in_span) == limit
        for i in range(len(accepted) - limit):
            assert accepted[i + limit] - accepted[i] >= span - 1e-9

    @settings(max_examples=100, deadline=None)
    @given(arrivals, st.integers(1, 4))
    def test_retry_after_is_the_earliest_whole_second_of_acceptance(
        self, times: list[float], limit: int
    ) -> None:
        window = SlidingWindow(limit, 10.0)
        for t in times:
            wait = window.try_acquire(t)
            if wait:
                seconds = retry_after_seconds(wait)
                assert copy.deepcopy(window).try_acquire(t + seconds) == 0.0
                if seconds > 1:
                    assert copy.deepcopy(window).try_acquire(t + seconds - 1) > 0

    def test_resize_keeps_history(self) -> None:
        window = SlidingWindow(4, 10.0)
        for t in (0.0, 1.0, 2.0, 3.0):
            window.try_acquire(t)
        window.resize(2, 10.0)
        assert window.try_acquire(4.0) == pytest.approx(8.0)  # the 2nd most recent accept was at 2.0
        window.resize(6, 10.0)  # growing: all four accepts still count
        assert window.try_acquire(4.0) == 0.0
        assert window.try_acquire(4.0) == 0.0
        assert window.try_acquire(4.0) == pytest.approx(6.0)  # 0, 1, 2, 3, 4, 4 fill the 6
        window.resize(3, 10.0)
        assert window.try_acquire(12.5) == pytest.approx(0.5)  # 3rd most recent: 3.0
        assert window.try_acquire(13.0) == 0.0

    @settings(max_examples=100, deadline=None)
    @given(arrivals, st.lists(st.integers(1, 6), min_size=1, max_size=200))
    def test_exact_while_the_limit_changes(self, times: list[float], limits: list[int]) -> None:
        window = SlidingWindow(limits[0], 10.0)
        accepted: list[float] = []
        for t, limit in zip(times, limits * len(times), strict=False):
            window.resize(limit, 10.0)
            in_span = sum(1 for a in accepted if a > t - 10.0)
            if window.try_acquire(t) == 0.0:
                assert in_span < limit
                accepted.append(t)
            else:
                assert in_span >= limit

    def test_state_reports_remaining_and_reset(self) -> None:
        window = SlidingWindow(3, 10.0)
        assert window.state(0.0) == (3, 0.0)
        window.try_acquire(0.0)
        window.try_acquire(4.0)
        assert window.state(5.0) == pytest.approx((1, 9.0))
        assert window.state(10.0) == pytest.approx((2, 4.0))
        assert window.state(14.0) == (3, 0.0)


class TestFixedWindow:
    def test_counts_reset_at_each_aligned_boundary(self) -> None:
        window = FixedWindow(2, 10.0)
        assert window.try_acquire(0.0) == 0.0
        assert window.try_acquire(5.0) == 0.0
        assert window.try_acquire(9.0) == pytest.approx(1.0)
        assert window.try_acquire(10.0) == 0.0
        assert window.try_acquire(10.0) == 0.0
        assert window.try_acquire(10.0) == pytest.approx(10.0)
        assert retry_after_seconds(window.try_acquire(19.5)) == 1

    def test_burst_across_a_boundary_passes_twice_the_limit(self) -> None:
        window = FixedWindow(3, 10.0)
        accepted = [t for t in (9.9, 9.9, 9.9, 9.9, 10.0, 10.0, 10.0, 10.0) if window.try_acquire(t) == 0.0]
        assert accepted == [9.9, 9.9, 9.9, 10.0, 10.0, 10.0]

    @settings(max_examples=100, deadline=None)
    @given(arrivals, st.integers(1, 5))
    def test_matches_definition(self, times: list[float], limit: int) -> None:
        window = FixedWindow(limit, 10.0)
        per_window: dict[int, int] = {}
        for t in times:
            index = math.floor(t / 10.0)
            wait = window.try_acquire(t)
            if per_window.get(index, 0) < limit:
                assert wait == 0.0
                per_window[index] = per_window.get(index, 0) + 1
            else:
                assert wait == pytest.approx((index + 1) * 10.0 - t)

    def test_state(self) -> None:
        window = FixedWindow(2, 10.0)
        assert window.state(3.0) == (2, 0.0)
        window.try_acquire(3.0)
        assert window.state(4.0) == pytest.approx((1, 6.0))


class TestTokenBucket:
    def test_burst_then_one_token_per_interval(self) -> None:
        bucket = TokenBucket(5, 10.0, burst=3)  # one token every 2 s, room for 3
        assert [bucket.try_acquire(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
        assert bucket.try_acquire(0.0) == pytest.approx(2.0)
        assert bucket.try_acquire(1.9) == pytest.approx(0.1)
        assert bucket.try_acquire(2.0) == 0.0
        assert bucket.try_acquire(2.0) == pytest.approx(2.0)

    def test_refill_stops_at_the_burst(self) -> None:
        bucket = TokenBucket(5, 10.0, burst=3)
        bucket.try_acquire(0.0)
        accepted = sum(bucket.try_acquire(1000.0) == 0.0 for _ in range(10))
        assert accepted == 3

    def test_default_burst_is_the_rate(self) -> None:
        bucket = TokenBucket(4, 10.0)
        assert sum(bucket.try_acquire(0.0) == 0.0 for _ in range(9)) == 4

    @settings(max_examples=150, deadline=None)
    @given(arrivals, st.integers(1, 5), st.integers(1, 5))
    def test_matches_a_reference_bucket(self, times: list[float], rate: int, burst: int) -> None:
        bucket = TokenBucket(rate, 10.0, burst=burst)
        tokens, last, interval = float(burst), 0.0, 10.0 / rate
        for t in times:
            tokens = min(float(burst), tokens + (t - last) / interval)
            last = t
            wait = bucket.try_acquire(t)
            if tokens >= 1 - 1e-9:
                assert wait == 0.0
                tokens -= 1
            else:
                assert wait == pytest.approx((1 - tokens) * interval)

    def test_state(self) -> None:
        bucket = TokenBucket(5, 10.0, burst=3)
        bucket.try_acquire(0.0)
        bucket.try_acquire(0.0)
        assert bucket.state(0.0) == pytest.approx((1, 4.0))
        assert bucket.state(2.0) == pytest.approx((2, 2.0))
        assert bucket.state(9.0) == (3, 0.0)


def test_make_algorithm_refuses_unknown_names() -> None:
    with pytest.raises(ValueError, match="leaky_bucket"):
        make_algorithm("leaky_bucket", 1, 1.0)


@pytest.mark.parametrize(
    ("wait", "seconds"), [(0.001, 1), (1.0, 1), (1.0000000001, 1), (1.2, 2), (7.0, 7), (9.99, 10)]
)
def test_retry_after_rounds_up_to_whole_seconds(wait: float, seconds: int) -> None:
    assert retry_after_seconds(wait) == seconds
