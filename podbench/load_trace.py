"""`podbench load --trace`: turn a profile's plan into a replay of a trace's arrivals.

The plan keeps the profile's defaults, timeouts, polling and `[emulator]` settings; its flows
become the trace's flows (nothing else is sent), its length the trace's (divided by
`--trace-speed`), and each flow gets enough slots for the busiest minute of the trace. The trace
is written into the result folder with its times already divided (`trace.jsonl`), so the folder
says exactly what was replayed.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from pathlib import Path
from typing import Any

from contract.traces import Arrival, Trace, TraceError, read_trace, write_trace
from podbench.errors import UsageError

SLOT_WINDOW_S = 60.0
"""Slots per flow: the most arrivals in any window this long (a job followed longer than this
while arrivals keep coming makes later sends late, and they are counted)."""
MAX_SLOTS = 2000
MAX_STAGES = 600
"""The trace's arrival counts become stages (1 s each for replays up to 10 minutes, wider ones
past that), so the offered rate per interval follows the trace, not its average."""


def read_replay_trace(path: Path, speed: float) -> Trace:
    if not (math.isfinite(speed) and speed > 0):
        raise UsageError(f"--trace-speed must be a positive number, got {speed!r}")
    if not path.is_file():
        raise UsageError(f"trace file not found: {path}")
    try:
        return read_trace(path)
    except TraceError as exc:
        raise UsageError(str(exc)) from None


def _busiest(times: list[float], window: float) -> int:
    return max((bisect_left(times, t + window) - i for i, t in enumerate(times)), default=0)


def apply_trace(plan: dict[str, Any], trace: Trace, speed: float) -> dict[str, Any]:
    duration = max(trace.duration_s / speed, 1e-3)
    flows = {}
    for name in trace.flows():
        times = [a.t / speed for a in trace.arrivals if a.flow == name]
        spec = dict(plan["flows"][name])
        window = min(SLOT_WINDOW_S, spec["job_timeout_s"])
        spec["rate"] = len(times) / duration
        spec["slots"] = max(int(spec["slots"]), min(MAX_SLOTS, _busiest(times, window) + 2))
        flows[name] = spec
    return {
        **plan,
        "duration_s": duration,
        "stages": _stages(trace, speed, duration),
        "flows": flows,
        "trace": {"file": "", "speed": speed, "source": trace.source, "jobs": len(trace.arrivals)},
        "_trace": trace,
    }


def _stages(trace: Trace, speed: float, duration: float) -> list[dict[str, float]]:
    """Stages whose scale is each bin's arrivals over the average rate (every flow alike); bins
    are whole seconds (the intervals' own) up to MAX_STAGES of them."""
    width = 1.0 if duration <= MAX_STAGES else duration / MAX_STAGES
    bins = max(1, math.ceil(duration / width - 1e-9))
    counts = [0] * bins
    for a in trace.arrivals:
        counts[min(bins - 1, int(a.t / speed / width))] += 1
    rate = len(trace.arrivals) / duration
    stages = []
    for i, count in enumerate(counts):
        start = i * width
        length = min(width, duration - start)
        stages.append({"start_s": start, "duration_s": length, "scale": count / (length * rate)})
    return stages


def write_replay_trace(plan: dict[str, Any], out: Path) -> Path:
    trace: Trace = plan["_trace"]
    speed = float(plan["trace"]["speed"])
    path = (out / "trace.jsonl").resolve()
    write_trace(path, (Arrival(a.t / speed, a.input, a.flow) for a in trace.arrivals))
    return path
