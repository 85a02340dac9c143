"""The step ramp of a capacity run: the `[capacity]` table of a profile, checked at the edge."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from capacity.errors import BadSettings

SUBMIT_MODES = ("runsync", "run", "openai_chat_stream")
LLM_SUBMIT = "openai_chat_stream"
"""One streamed chat completion on the OpenAI route per job, judged by goodput (capacity/README.md)."""
ARRIVALS = ("poisson", "uniform")


@dataclass(frozen=True)
class Ramp:
    start_rps: float = 2.0
    step_rps: float = 2.0
    step_factor: float = 1.0
    """> 1 makes the steps geometric (rate × factor) instead of additive (rate + step_rps)."""
    max_rps: float = 100.0
    min_hold_s: float = 3.0
    max_hold_s: float = 12.0
    refine_steps: int = 2
    saturation_factor: float = 1.5
    """After the ramp, offer this × the first failing rate ..."""
    saturation_hold_s: float = 4.0
    """... for this long (0: skip), to measure the throughput of always-busy workers."""
    arrivals: str = "poisson"
    """poisson (M/M/c's assumption) or uniform (evenly spaced sends: less noise in short steps)."""
    submit: str = "runsync"
    poll_interval_s: float = 0.1
    input: Mapping[str, Any] = field(default_factory=lambda: {"sleep": 0.2})
    target_rps: float | None = None
    max_in_flight: int = 2000
    drain_s: float = 10.0
    health_interval_s: float = 0.25
    emulator: Mapping[str, Any] = field(default_factory=dict)
    """Endpoint settings PATCHed onto the embedded emulator before the run."""
    seed: int = 12345
    llm: Mapping[str, Any] = field(default_factory=lambda: {"max_tokens": 64, "prompt_tokens": 128})
    """openai_chat_stream: each request's `max_tokens`, `prompt_tokens` (numbers or
    `{distribution = "uniform", min, max}`) and `model`."""
    goodput_share: float = 0.95
    """openai_chat_stream: a step passes when this share of its requests meets `[llm] slo`."""
    sequences_per_worker: int | None = None
    """openai_chat_stream: sequences one worker runs at once; None: measured (in progress per worker)."""

    @property
    def is_llm(self) -> bool:
        return self.submit == LLM_SUBMIT

    def rates(self) -> Iterator[float]:
        """The ramp's offered rates, up to max_rps."""
        rate = self.start_rps
        while rate <= self.max_rps + 1e-9:
            yield round(rate, 6)
            rate = rate * self.step_factor if self.step_factor > 1 else rate + self.step_rps

    def planned_jobs(self) -> tuple[int, int]:
        """Jobs the ramp may submit: (if every step is held the minimum, at most)."""
        rates = list(self.rates())
        low = sum(r * self.min_hold_s for r in rates)
        top = max(rates, default=0.0)
        high = sum(r * self.max_hold_s for r in rates) + self.refine_steps * top * self.max_hold_s
        high += self.saturation_factor * top * self.saturation_hold_s
        return int(low), int(high)


_POSITIVE = (
    "saturation_factor",
    "start_rps",
    "max_rps",
    "min_hold_s",
    "max_hold_s",
    "poll_interval_s",
    "health_interval_s",
    "sequences_per_worker",
)


def load_ramp(path: Path, overrides: Mapping[str, Any] | None = None) -> Ramp:
    """The `[capacity]` table of a profile (missing keys take defaults), then CLI overrides."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise BadSettings(f"cannot read profile {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise BadSettings(f"profile {path} is not valid TOML: {exc}") from exc
    table = data.get("capacity", {})
    if not isinstance(table, dict):
        raise BadSettings(f"profile {path}: [capacity] must be a table")
    return ramp_from_table({**table, **(overrides or {})}, source=str(path))


def ramp_from_table(table: Mapping[str, Any], source: str = "profile") -> Ramp:
    known = {f.name: f for f in fields(Ramp)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise BadSettings(f"{source}: unknown [capacity] key {key!r} (known: {', '.join(sorted(known))})")
        values[key] = _check(key, value, source)
    ramp = replace(Ramp(), **values)
    if ramp.min_hold_s > ramp.max_hold_s:
        raise BadSettings(f"{source}: min_hold_s must not exceed max_hold_s")
    if ramp.start_rps > ramp.max_rps:
        raise BadSettings(f"{source}: start_rps must not exceed max_rps")
    if ramp.step_factor <= 1 and ramp.step_rps <= 0:
        raise BadSettings(f"{source}: step_rps must be positive (or step_factor > 1)")
    return ramp


def _check(key: str, value: Any, source: str) -> Any:
    if key == "sequences_per_worker" and value is None:
        return None
    if key == "goodput_share" and not (isinstance(value, int | float) and 0 < value < 1):
        raise BadSettings(f"{source}: capacity.goodput_share must be between 0 and 1 (e.g. 0.95)")
    if key == "llm":
        return _check_sizes(value, source)
    if key in ("input", "emulator"):
        if not isinstance(value, dict):
            raise BadSettings(f"{source}: capacity.{key} must be a table")
        return value
    if key in ("submit", "arrivals"):
        choices = SUBMIT_MODES if key == "submit" else ARRIVALS
        if value not in choices:
            raise BadSettings(f"{source}: capacity.{key} must be one of {', '.join(choices)}")
        return value
    if key == "target_rps" and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadSettings(f"{source}: capacity.{key} must be a number")
    if key in _POSITIVE and value <= 0:
        raise BadSettings(f"{source}: capacity.{key} must be positive")
    if value < 0:
        raise BadSettings(f"{source}: capacity.{key} must not be negative")
    if key in ("refine_steps", "max_in_flight", "seed", "sequences_per_worker"):
        if not isinstance(value, int):
            raise BadSettings(f"{source}: capacity.{key} must be an integer")
        return value
    return float(value)


def _check_sizes(value: Any, source: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise BadSettings(f"{source}: capacity.llm must be a table")
    for key, spec in value.items():
        if key == "model":
            if not isinstance(spec, str):
                raise BadSettings(f"{source}: capacity.llm.model must be a string")
        elif key in ("max_tokens", "prompt_tokens"):
            fixed = isinstance(spec, int) and not isinstance(spec, bool) and spec > 0
            uniform = isinstance(spec, dict) and spec.get("distribution") == "uniform"
            if uniform and not all(isinstance(spec.get(k), int) and spec[k] > 0 for k in ("min", "max")):
                uniform = False
            if not (fixed or uniform):
                raise BadSettings(
                    f"{source}: capacity.llm.{key} must be a positive integer or "
                    '{ distribution = "uniform", min = N, max = M }'
                )
        else:
            raise BadSettings(
                f"{source}: unknown capacity.llm key {key!r} (known: max_tokens, model, prompt_tokens)"
            )
    return value
