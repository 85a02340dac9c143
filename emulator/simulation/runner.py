"""Simulate many settings against one trace, one process per core.

Each setting is independent and CPU-bound, so a sweep is a `multiprocessing` pool map. The
arrivals reach each process once (its initializer), not once per setting; each process sends
back only the summary of a setting (percentiles, worker-seconds, a downsampled timeline).
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from emulator.clock import MonotonicClock
from emulator.config import EndpointConfig
from emulator.simulation.client import ClientModel
from emulator.simulation.engine import Arrival, Outcome, simulate
from emulator.simulation.ledger import TIMELINE_COLUMNS

PERCENTILES = (50.0, 95.0, 99.0)
SAY_EVERY_S = 10.0
"""A long run says how far it got at least this often (wall-clock seconds)."""
Say = Callable[[str], None]


@dataclass(frozen=True)
class Play:
    """Everything but the setting: the same for every setting of a sweep."""

    arrivals: Sequence[Arrival]
    duration_s: float
    client: ClientModel
    inputs: Mapping[str, Any]
    seed: int
    round_up_s: float
    percentiles: tuple[float, ...] = PERCENTILES


@dataclass(frozen=True)
class SettingRun:
    config: EndpointConfig
    outcome: Outcome
    """`end_to_end_s` and `delay_s` are emptied (the percentiles below hold what is needed)."""
    end_to_end_ms: dict[str, float | None]
    delay_ms: dict[str, float | None]
    cpu_s: float
    ttft_ms: dict[str, float | None] | None = None
    """Generation requests only (an `llm` endpoint)."""


def percentile_ms(values: list[float], percentiles: Sequence[float]) -> dict[str, float | None]:
    """Nearest-rank percentiles, in ms, keyed `p50`, `p95`, `p99.9`..."""
    ordered = sorted(values)
    out: dict[str, float | None] = {}
    for p in percentiles:
        key = f"p{p:g}"
        if not ordered:
            out[key] = None
            continue
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        out[key] = round(ordered[rank - 1] * 1000, 3)
    return out


def run_one(
    config: EndpointConfig, play: Play, progress: Callable[[float], None] | None = None
) -> SettingRun:
    started = os.times()
    outcome = simulate(
        config,
        play.arrivals,
        play.client,
        inputs=play.inputs,
        duration_s=play.duration_s,
        seed=play.seed,
        round_s=play.round_up_s,
        progress=progress,
    )
    e2e = percentile_ms(outcome.end_to_end_s, play.percentiles)
    delay = percentile_ms(outcome.delay_s, play.percentiles)
    ttft = percentile_ms(outcome.ttft_s, play.percentiles) if play.client.streams else None
    outcome.end_to_end_s, outcome.delay_s, outcome.ttft_s = [], [], []
    ended = os.times()
    cpu = (ended.user - started.user) + (ended.system - started.system)
    return SettingRun(config, outcome, e2e, delay, round(cpu, 3), ttft)


_PLAY: Play | None = None


def _init(play: Play) -> None:
    global _PLAY
    _PLAY = play


def _run_in_child(config: EndpointConfig) -> SettingRun:
    assert _PLAY is not None
    return run_one(config, _PLAY)


class _Pacer:
    """Calls `say` at most every SAY_EVERY_S seconds of real time (the simulation's own clock is
    the manual one; this paces messages to a person)."""

    def __init__(self, say: Say | None) -> None:
        self.say = say
        self.clock = MonotonicClock()
        self.next_at = self.clock.now() + SAY_EVERY_S

    def __call__(self, text: Callable[[], str]) -> None:
        if self.say is not None and self.clock.now() >= self.next_at:
            self.next_at = self.clock.now() + SAY_EVERY_S
            self.say(text())


def run_all(
    configs: Sequence[EndpointConfig], play: Play, *, processes: int | None = None, say: Say | None = None
) -> list[SettingRun]:
    """All settings, in order; in parallel on every core (or `processes`) when there are several.
    `say` hears how far a long run got, at least every SAY_EVERY_S seconds."""
    workers = min(len(configs), processes or os.cpu_count() or 1)
    pace = _Pacer(say)
    total = len(configs)
    if workers <= 1:
        runs = []
        for i, config in enumerate(configs):

            def progress(t: float, i: int = i) -> None:
                pace(
                    lambda: (
                        f"setting {i + 1} of {total}: {t:,.0f} of {play.duration_s:,.0f} simulated seconds"
                    )
                )

            runs.append(run_one(config, play, progress))
        return runs
    # fork shares the arrivals with the children without pickling them (spawn pickles them once each)
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(workers, initializer=_init, initargs=(play,)) as pool:
        pending = [pool.apply_async(_run_in_child, (c,)) for c in configs]
        while not all(p.ready() for p in pending):
            next(p for p in pending if not p.ready()).wait(1.0)
            pace(lambda: f"{sum(p.ready() for p in pending)} of {total} settings done on {workers} processes")
        return [p.get() for p in pending]


__all__ = ["PERCENTILES", "TIMELINE_COLUMNS", "Play", "SettingRun", "percentile_ms", "run_all", "run_one"]
