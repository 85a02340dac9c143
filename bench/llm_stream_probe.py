"""Loaded beside the load suite's locustfiles by bench/llm_streams.py (never on its own): records
when the load generator time-stamped each token event, keyed by job id and token index, so the
bench can set them against the emulator's schedule; and the process's CPU over the run.

It wraps `SseReader.line`, the very call that time-stamps tokens in the LLM users, and adds only
a byte search per token event. Writes $LLM_PROBE_OUT at quit.
"""

from __future__ import annotations

import gc
import json
import os
import time
from typing import Any

import psutil
from locust import events

from locustfiles._llm import SseReader

ID_MARK = b'"id": "cmpl-'
RECEIVED: list[tuple[str, int, float, float]] = []
"""(job id, token index, the generator's stamp, the clock when the line was read): the stamp is the
kernel's receive time; the read time is what the generator used before, kept to compare."""
STATE: dict[str, float] = {}
_original_line = SseReader.line
GC_PAUSES: list[float] = []
"""Each garbage collection's length (s): a pause in a process that time-stamps tokens shows in the tail."""
_gc_started: list[float] = []


def _gc(phase: str, _info: dict[str, Any]) -> None:
    if phase == "start":
        _gc_started[:] = [time.perf_counter()]
    elif _gc_started:
        GC_PAUSES.append(time.perf_counter() - _gc_started[0])


gc.callbacks.append(_gc)


def _line(self: SseReader, raw: bytes, at: float) -> None:
    read_at = time.time()
    before = len(self.sample.token_times)
    _original_line(self, raw, at)
    if len(self.sample.token_times) > before:
        start = raw.find(ID_MARK) + len(ID_MARK)
        RECEIVED.append((raw[start : raw.find(b'"', start)].decode(), before, at, read_at))


SseReader.line = _line  # type: ignore[method-assign]


def _cpu() -> float:
    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


@events.test_start.add_listener  # type: ignore[untyped-decorator]
def _start(**_: Any) -> None:
    STATE["cpu_start"], STATE["wall_start"] = _cpu(), time.time()


@events.quitting.add_listener  # type: ignore[untyped-decorator]
def _write(**_: Any) -> None:
    path = os.environ.get("LLM_PROBE_OUT")
    if not path:
        return
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(
            {
                "cpu_s": _cpu() - STATE.get("cpu_start", 0.0),
                "wall_s": time.time() - STATE.get("wall_start", time.time()),
                "received": RECEIVED,
                "gc_pauses_s": GC_PAUSES,
            },
            fh,
        )
