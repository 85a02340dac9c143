"""Worker recommendations, SLO parsing and the step ramp."""

from __future__ import annotations

from pathlib import Path

import pytest

from capacity.errors import BadSettings, BadSlo
from capacity.model import ServiceTime
from capacity.ramp import Ramp, load_ramp, ramp_from_table
from capacity.recommend import predicted_latency_ms, recommend
from capacity.slo import Slo, parse_slo


def test_recommendation_is_the_smallest_count_meeting_the_slo() -> None:
    service = ServiceTime(0.1)
    slo = Slo(95, 400)
    advice = recommend(20.0, service, slo, overhead_ms=10.0)
    assert advice.workers_min == 3  # λ·E[S] = 2 busy: 3 keep ρ < 1
    assert advice.workers_max is not None and advice.workers_max >= advice.workers_min
    assert predicted_latency_ms(20.0, advice.workers_max, service, slo, 10.0) <= 400
    if advice.workers_max > advice.workers_min:
        assert predicted_latency_ms(20.0, advice.workers_max - 1, service, slo, 10.0) > 400


def test_recommendation_scales_with_the_rate() -> None:
    service = ServiceTime(0.5)
    small = recommend(4.0, service, Slo(95, 3000))
    large = recommend(40.0, service, Slo(95, 3000))
    assert large.workers_min == 21
    assert large.workers_max is not None and small.workers_max is not None
    assert large.workers_max > small.workers_max


def test_no_worker_count_meets_an_slo_shorter_than_the_job() -> None:
    advice = recommend(5.0, ServiceTime.from_samples([1.0] * 50), Slo(95, 500))
    assert advice.workers_max is None
    assert "no worker count" in advice.reason
    assert advice.as_json()["workers_max"] is None


@pytest.mark.parametrize(
    ("text", "pct", "ms"),
    [("p95_ms<=500", 95, 500), ("p99.9_ms <= 1200.5", 99.9, 1200.5), ("p50_ms<200", 50, 200)],
)
def test_parse_slo(text: str, pct: float, ms: float) -> None:
    slo = parse_slo(text)
    assert (slo.percentile, slo.limit_ms) == (pct, ms)


@pytest.mark.parametrize("text", ["p95<=500", "p100_ms<=5", "p95_ms<=0", "latency<=500", ""])
def test_bad_slo_is_refused(text: str) -> None:
    with pytest.raises(BadSlo, match="--slo"):
        parse_slo(text)


def test_ramp_rates_additive_and_geometric() -> None:
    assert list(Ramp(start_rps=2, step_rps=2, max_rps=8).rates()) == [2, 4, 6, 8]
    assert list(Ramp(start_rps=2, step_factor=2, max_rps=16).rates()) == [2, 4, 8, 16]
    low, high = Ramp(
        start_rps=2, step_rps=2, max_rps=8, min_hold_s=1, max_hold_s=2, refine_steps=0, saturation_hold_s=0
    ).planned_jobs()
    assert (low, high) == (20, 40)


def test_ramp_from_profile_file(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        '[capacity]\nstart_rps = 5\nmax_rps = 20\nsubmit = "run"\ninput = {sleep = 0.05}\n'
        "[capacity.emulator]\nworkers_max = 2\n[load]\nother = 1\n"
    )
    ramp = load_ramp(path, {"max_hold_s": 5.0})
    assert (ramp.start_rps, ramp.max_rps, ramp.submit, ramp.max_hold_s) == (5.0, 20.0, "run", 5.0)
    assert ramp.input == {"sleep": 0.05}
    assert ramp.emulator == {"workers_max": 2}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"start_rps": -1}, "positive"),
        ({"bogus": 1}, "unknown"),
        ({"submit": "stream"}, "submit"),
        ({"min_hold_s": 10, "max_hold_s": 5}, "min_hold_s"),
        ({"start_rps": "fast"}, "number"),
        ({"input": 3}, "table"),
    ],
)
def test_bad_ramp_is_refused(table: dict[str, object], message: str) -> None:
    with pytest.raises(BadSettings, match=message):
        ramp_from_table(table)


def test_bad_toml(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[capacity\n")
    with pytest.raises(BadSettings, match="not valid TOML"):
        load_ramp(bad)
