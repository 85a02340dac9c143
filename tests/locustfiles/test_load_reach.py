"""When a run decides its target went away: connection errors only, spanning 3 s, in every process."""

from __future__ import annotations

from locustfiles._reach import Reachability, unreachable_since


def _seen(*events: tuple[float, bool]) -> Reachability:
    reach = Reachability()
    for t, replied in events:
        reach.observe(t, replied)
    return reach


def test_three_seconds_of_connection_errors_mean_the_target_is_gone() -> None:
    reach = _seen((1.0, True), (2.0, False), (4.0, False))
    assert unreachable_since([reach.state()]) is None  # 2 s of errors: not yet
    reach.observe(5.0, False)
    assert unreachable_since([reach.state()]) == 2.0


def test_a_reply_resets_the_count() -> None:
    reach = _seen((1.0, False), (3.5, True), (4.0, False), (6.0, False))
    assert unreachable_since([reach.state()]) is None
    reach.observe(7.0, False)
    assert unreachable_since([reach.state()]) == 4.0


def test_one_failed_request_and_silence_is_not_enough() -> None:
    assert unreachable_since([_seen((1.0, True), (2.0, False)).state()]) is None
    assert unreachable_since([Reachability().state()]) is None  # nothing sent yet


def test_every_process_must_have_lost_the_target() -> None:
    failing = _seen((1.0, True), (2.0, False), (6.0, False))
    answered = _seen((1.0, True), (5.5, True))
    assert unreachable_since([failing.state(), answered.state()]) is None  # 0.5 s since its reply
    failing.observe(9.0, False)
    assert unreachable_since([failing.state(), answered.state()]) == 5.5
