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
        "stages": [{"start_s": 0.0, "duration_s": duration, "scale": 1.0}],
        "flows": flows,
        "trace": {"file": "", "speed": speed, "source": trace.source, "jobs": len(trace.arrivals)},
        "_trace": trace,
    }


def write_replay_trace(plan: dict[str, Any], out: Path) -> Path:
    trace: Trace = plan["_trace"]
    speed = float(plan["trace"]["speed"])
    path = (out / "trace.jsonl").resolve()
    write_trace(path, (Arrival(a.t / speed, a.input, a.flow) for a in trace.arrivals))
    return path
