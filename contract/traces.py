"""Traces: when jobs arrive, what each one asks for, and how its client follows it.

A trace is replayed in real time by the load suite (`podbench load --trace`) and played on a
manual clock by the what-if simulation (`podbench simulate`); both read it through this module.

File formats (one arrival per row, sorted by time):

- JSONL: `{"t": 0.25, "input": {"sleep": 1.2}, "flow": "run_poll"}` per line;
- CSV: a header naming at least `t`; `input` (JSON text) and `flow` columns are optional.

`t` is seconds from the start (finite, >= 0, never decreasing). `input` is the job's input (absent
or empty: the flow's input from the profile). `flow` is `run_poll` (submit with /run, then poll
/status; the default) or `runsync_fallback` (/runsync, polling when it returns unfinished).
Other keys or columns (a request log's own) are ignored.

Shapes make a trace from a rate instead of a file (seeded, so the same arguments give the same
arrivals). Arrivals are a non-homogeneous Poisson process with rate λ(t), drawn by thinning:

- `poisson`: λ(t) = R.
- `diurnal`: λ(t) = R · (1 − a · cos(2π t / P)), a = (k − 1) / (k + 1), P = 86 400 s. The mean
  over whole days is R, the lowest rate R(1 − a) is at t = 0 (midnight) and the highest R(1 + a)
  at t = P / 2 (noon), so peak / trough = k (`peak_ratio`, default 4).
- `spike`: λ(t) = R, and R · F (`spike_factor`, default 10) for `spike_s` seconds (default a
  tenth of the duration) starting at `spike_start_s` (default: centred in the duration).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

FLOWS = ("run_poll", "runsync_fallback")
DEFAULT_FLOW = "run_poll"
SHAPES = ("poisson", "diurnal", "spike")
DAY_S = 86_400.0


class TraceError(ValueError):
    """A bad trace or shape; the message names the file and line, or the parameter."""


class Arrival(NamedTuple):
    t: float
    input: Any
    """None: the flow's input from the profile."""
    flow: str


@dataclass(frozen=True)
class Trace:
    arrivals: list[Arrival]
    duration_s: float
    """A shape's duration; for a file, the last arrival's time."""
    source: str
    """The file, or the shape with its parameters (for reports)."""

    def flows(self) -> list[str]:
        return sorted({a.flow for a in self.arrivals})


# -- files ----------------------------------------------------------------------------------------
def read_trace(path: Path) -> Trace:
    """Read and check a CSV or JSONL trace; any problem raises `TraceError` naming the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"cannot read trace {path}: {exc}") from None
    rows = _csv_rows(text, path) if path.suffix.lower() == ".csv" else _jsonl_rows(text, path)
    arrivals = list(_checked(rows, path))
    if not arrivals:
        raise TraceError(f"trace {path} has no arrivals")
    return Trace(arrivals, arrivals[-1].t, str(path))


def _jsonl_rows(text: str, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise TraceError(f"{path}:{number}: not JSON ({exc.args[0]})") from None
        if not isinstance(row, dict):
            raise TraceError(f"{path}:{number}: each line must be a JSON object with 't'")
        yield number, row


def _csv_rows(text: str, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "t" not in reader.fieldnames:
        raise TraceError(f"{path}:1: the CSV header must name a 't' column")
    for row in reader:
        number = reader.line_num
        raw = row.get("input")
        parsed: dict[str, Any] = {"t": row.get("t")}
        if raw not in (None, ""):
            try:
                parsed["input"] = json.loads(raw)
            except ValueError:
                raise TraceError(f"{path}:{number}: 'input' must be JSON text, got {raw[:40]!r}") from None
        if row.get("flow"):
            parsed["flow"] = row["flow"]
        yield number, parsed


def _checked(rows: Iterable[tuple[int, dict[str, Any]]], path: Path) -> Iterator[Arrival]:
    previous = 0.0
    for number, row in rows:
        t = _time(row.get("t"))
        if t is None:
            raise TraceError(f"{path}:{number}: 't' must be a finite number of seconds, got {row.get('t')!r}")
        if t < 0:
            raise TraceError(f"{path}:{number}: 't' is negative ({t:g})")
        if t < previous:
            raise TraceError(f"{path}:{number}: times are not sorted ({t:g} after {previous:g})")
        flow = row.get("flow", DEFAULT_FLOW)
        if flow not in FLOWS:
            raise TraceError(f"{path}:{number}: unknown flow {flow!r}; one of {', '.join(FLOWS)}")
        previous = t
        yield Arrival(t, row.get("input"), flow)


def _time(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        t = float(value)
    except (TypeError, ValueError):
        return None
    return t if math.isfinite(t) else None


def write_trace(path: Path, arrivals: Iterable[Arrival]) -> int:
    """Write JSONL atomically (a temporary file, then a rename); returns the rows written."""
    tmp = path.with_name(f".{path.name}.tmp")
    count = 0
    with open(tmp, "w", encoding="utf-8") as out:
        for a in arrivals:
            row: dict[str, Any] = {"t": round(a.t, 6)}
            if a.input is not None:
                row["input"] = a.input
            if a.flow != DEFAULT_FLOW:
                row["flow"] = a.flow
            out.write(json.dumps(row, separators=(",", ":")) + "\n")
            count += 1
    os.replace(tmp, path)
    return count


# -- shapes ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    name: str
    rate: float
    """R: jobs per second (the mean, for diurnal)."""
    duration_s: float
    seed: int = 1
    peak_ratio: float = 4.0
    spike_factor: float = 10.0
    spike_s: float | None = None
    spike_start_s: float | None = None
    flow: str = DEFAULT_FLOW

    def check(self) -> None:
        if self.name not in SHAPES:
            raise TraceError(f"unknown shape {self.name!r}; one of {', '.join(SHAPES)}")
        for what, value in (("rate", self.rate), ("duration", self.duration_s)):
            if not (math.isfinite(value) and value > 0):
                raise TraceError(f"the shape's {what} must be a positive number, got {value!r}")
        if not (math.isfinite(self.peak_ratio) and self.peak_ratio >= 1):
            raise TraceError(f"peak_ratio must be >= 1, got {self.peak_ratio!r}")
        if not (math.isfinite(self.spike_factor) and self.spike_factor > 0):
            raise TraceError(f"spike_factor must be positive, got {self.spike_factor!r}")
        if self.spike_s is not None and not (0 < self.spike_s <= self.duration_s):
            raise TraceError("spike_s must be positive and at most the duration")
        if self.flow not in FLOWS:
            raise TraceError(f"unknown flow {self.flow!r}; one of {', '.join(FLOWS)}")

    def describe(self) -> str:
        extra = {"diurnal": f", peak_ratio {self.peak_ratio:g}", "spike": f", factor {self.spike_factor:g}"}
        return (
            f"{self.name} shape: {self.rate:g} jobs/s for {self.duration_s:g} s"
            f"{extra.get(self.name, '')}, seed {self.seed}"
        )

    def rate_at(self) -> tuple[Callable[[float], float], float]:
        """λ(t) and its maximum."""
        r = self.rate
        if self.name == "diurnal":
            a = (self.peak_ratio - 1) / (self.peak_ratio + 1)
            return (lambda t: r * (1 - a * math.cos(2 * math.pi * t / DAY_S))), r * (1 + a)
        if self.name == "spike":
            length = self.spike_s if self.spike_s is not None else self.duration_s / 10
            start = self.spike_start_s if self.spike_start_s is not None else (self.duration_s - length) / 2
            high = r * self.spike_factor
            return (lambda t: high if start <= t < start + length else r), max(r, high)
        return (lambda t: r), r


def shape_trace(shape: Shape) -> Trace:
    """The shape's arrivals by thinning (Lewis and Shedler): candidates at the peak rate, each kept
    with probability λ(t) / peak."""
    shape.check()
    rate_at, peak = shape.rate_at()
    rng = random.Random(f"podbench-shape:{shape.seed}")
    draw, uniform = rng.expovariate, rng.random
    flow = shape.flow
    arrivals: list[Arrival] = []
    t = 0.0
    end = shape.duration_s
    constant = shape.name == "poisson"
    while True:
        t += draw(peak)
        if t >= end:
            break
        if constant or uniform() * peak < rate_at(t):
            arrivals.append(Arrival(t, None, flow))
    return Trace(arrivals, end, shape.describe())
