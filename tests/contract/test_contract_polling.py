"""The polling rules of contract.polling."""

from __future__ import annotations

from itertools import islice

from contract.polling import Verdict, age_paced, backoff, verdict


def test_verdicts() -> None:
    assert verdict(200, {"status": "COMPLETED"}) is Verdict.REACHED
    assert verdict(200, {"status": "IN_PROGRESS"}) is Verdict.AGAIN
    assert verdict(404, None) is Verdict.GONE
    assert verdict(429, {"status": "COMPLETED"}) is Verdict.AGAIN
    assert verdict(503, None) is Verdict.AGAIN and verdict(0, None) is Verdict.AGAIN
    assert verdict(200, ["COMPLETED"]) is Verdict.AGAIN
    assert verdict(200, {"status": "IN_PROGRESS"}, until={"IN_PROGRESS"}) is Verdict.REACHED


def test_backoff_grows_and_caps() -> None:
    assert list(islice(backoff(0.1, 2.0, 0.5), 5)) == [0.1, 0.2, 0.4, 0.5, 0.5]


def test_age_paced() -> None:
    assert age_paced(0.0, floor_s=0.1, ceiling_s=1.0) == 0.1
    assert age_paced(5.0, floor_s=0.1, ceiling_s=1.0) == 0.5
    assert age_paced(60.0, floor_s=0.1, ceiling_s=1.0) == 1.0
