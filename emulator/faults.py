"""Fault injection set through `PUT /_emulator/endpoints/{id}/faults`; draws come from a seeded source."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulator.config import ConfigError

RATES = ("error_rate", "latency_spike_rate", "drop_connection_rate", "worker_crash_rate")
MILLIS = ("added_latency_ms", "latency_spike_ms")


@dataclass(frozen=True)
class Faults:
    error_rate: float = 0.0
    error_status: int = 500
    added_latency_ms: float = 0.0
    latency_spike_rate: float = 0.0
    latency_spike_ms: float = 0.0
    drop_connection_rate: float = 0.0
    worker_crash_rate: float = 0.0

    @property
    def touches_requests(self) -> bool:
        return bool(
            self.error_rate or self.added_latency_ms or self.latency_spike_rate or self.drop_connection_rate
        )

    @classmethod
    def from_body(cls, body: Any) -> Faults:
        """A full replacement (PUT): absent keys go back to 0; unknown keys or bad values raise."""
        if not isinstance(body, Mapping):
            raise ConfigError("faults must be a JSON object")
        values: dict[str, Any] = {}
        for key, value in body.items():
            if key not in cls.__dataclass_fields__:
                raise ConfigError(f"unknown fault {key!r}")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{key!r} must be a number")
            if key in RATES and not 0 <= value <= 1:
                raise ConfigError(f"{key!r} must be between 0 and 1")
            if key in MILLIS and value < 0:
                raise ConfigError(f"{key!r} must be >= 0")
            if key == "error_status" and (not isinstance(value, int) or not 400 <= value <= 599):
                raise ConfigError("'error_status' must be an integer HTTP error status (400-599)")
            values[key] = value
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class FaultDice:
    """The endpoint's faults plus a random source seeded per endpoint, so runs are reproducible."""

    def __init__(self, seed: int, endpoint_id: str) -> None:
        self._faults = Faults()
        self.active = False
        """Whether any fault touches requests; read on every request, so kept as a plain flag."""
        self.rng = random.Random(f"{seed}:{endpoint_id}:faults")

    @property
    def faults(self) -> Faults:
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._faults = faults
        self.active = faults.touches_requests

    def roll(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate

    def request_delay_s(self) -> float:
        f = self.faults
        delay = f.added_latency_ms
        if self.roll(f.latency_spike_rate):
            delay += f.latency_spike_ms
        return delay / 1000.0
