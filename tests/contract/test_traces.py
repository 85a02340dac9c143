"""Trace files and shapes: what is accepted, what is refused (with the line), and the shapes' rates."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from contract.traces import Arrival, Shape, TraceError, read_trace, shape_trace, write_trace


def test_jsonl_rows_with_input_and_flow(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"t": 0}\n\n{"t": 0.5, "input": {"sleep": 1}, "flow": "runsync_fallback", "user": "x"}\n'
    )
    trace = read_trace(path)
    assert trace.arrivals == [Arrival(0.0, None, "run_poll"), Arrival(0.5, {"sleep": 1}, "runsync_fallback")]
    assert trace.duration_s == 0.5
    assert trace.flows() == ["run_poll", "runsync_fallback"]


def test_csv_rows_with_json_input(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('t,input,flow,extra\n0.25,"{""sleep"": 2}",,a\n1,,run_poll,b\n')
    trace = read_trace(path)
    assert trace.arrivals == [Arrival(0.25, {"sleep": 2}, "run_poll"), Arrival(1.0, None, "run_poll")]


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("unsorted.jsonl", '{"t": 2}\n{"t": 1}\n', "t.jsonl:2: times are not sorted"),
        ("negative.jsonl", '{"t": -1}\n', "is negative"),
        ("nan.jsonl", '{"t": "NaN"}\n', "finite number"),
        ("missing.jsonl", '{"input": {}}\n', "finite number"),
        ("flow.jsonl", '{"t": 1, "flow": "teleport"}\n', "unknown flow 'teleport'"),
        ("notjson.jsonl", "t=1\n", "not JSON"),
        ("empty.jsonl", "\n", "no arrivals"),
        ("noheader.csv", "time\n1\n", "must name a 't' column"),
        ("badinput.csv", "t,input\n1,{oops\n", "'input' must be JSON text"),
    ],
)
def test_bad_traces_name_the_line(tmp_path: Path, name: str, text: str, says: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(TraceError) as caught:
        read_trace(path)
    assert says.replace("t.jsonl", name) in str(caught.value)


def test_write_then_read_is_the_same(tmp_path: Path) -> None:
    arrivals = [Arrival(0.0, None, "run_poll"), Arrival(1.25, {"sleep": 0.1}, "runsync_fallback")]
    path = tmp_path / "out.jsonl"
    assert write_trace(path, arrivals) == 2
    assert read_trace(path).arrivals == arrivals
    assert not list(tmp_path.glob(".*.tmp"))


def test_shapes_are_seeded() -> None:
    one = shape_trace(Shape("poisson", 5.0, 100.0, seed=3)).arrivals
    assert one == shape_trace(Shape("poisson", 5.0, 100.0, seed=3)).arrivals
    assert one != shape_trace(Shape("poisson", 5.0, 100.0, seed=4)).arrivals


def test_poisson_holds_its_rate() -> None:
    arrivals = shape_trace(Shape("poisson", 20.0, 1000.0)).arrivals
    assert len(arrivals) == pytest.approx(20_000, rel=0.03)


def test_diurnal_mean_and_peak_to_trough() -> None:
    trace = shape_trace(Shape("diurnal", 2.0, 86_400.0, peak_ratio=4.0))
    times = [a.t for a in trace.arrivals]
    assert len(times) == pytest.approx(2.0 * 86_400, rel=0.02)  # the mean over a day is R
    hour = 3600.0
    trough = sum(1 for t in times if t < hour / 2 or t > 86_400 - hour / 2)
    peak = sum(1 for t in times if abs(t - 43_200) < hour / 2)
    assert peak / trough == pytest.approx(4.0, rel=0.1)  # λ(noon) / λ(midnight) = k
    a = 3 / 5
    assert peak == pytest.approx(2.0 * (1 + a) * hour, rel=0.05)


def test_spike_is_factor_times_the_rate_for_its_length() -> None:
    trace = shape_trace(Shape("spike", 1.0, 1000.0, spike_factor=10.0, spike_s=100.0))
    inside = sum(1 for a in trace.arrivals if 450 <= a.t < 550)
    assert inside == pytest.approx(1000, rel=0.1)
    assert len(trace.arrivals) - inside == pytest.approx(900, rel=0.12)


@pytest.mark.parametrize(
    "shape",
    [
        Shape("sawtooth", 1.0, 10.0),
        Shape("poisson", 0.0, 10.0),
        Shape("poisson", 1.0, -1.0),
        Shape("poisson", 1.0, math.inf),
        Shape("diurnal", 1.0, 10.0, peak_ratio=0.5),
        Shape("spike", 1.0, 10.0, spike_s=20.0),
        Shape("poisson", 1.0, 10.0, flow="run"),
    ],
)
def test_bad_shapes_are_refused(shape: Shape) -> None:
    with pytest.raises(TraceError):
        shape_trace(shape)
