"""What a setting costs, from its simulated worker-seconds and the user's per-second prices.

The rules (docs/billing.md has each with its public source):
- active workers (`workers_min`) run around the clock and are billed every second at the active
  price, busy or not;
- a flex worker (any worker above `workers_min`) is billed at the flex price from when it starts
  (its cold start included) until it stops (its idle timeout included);
- each flex worker's billed time is rounded up to whole `round_up_s` seconds (the docs: "rounded
  up to the nearest second"; whether per worker or per bill is not documented, so it is a setting,
  0 turns it off).
No price is invented: a setting that has active workers needs `active_per_s`, one that can scale
above `workers_min` needs `flex_per_s`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulator.config import ConfigError, EndpointConfig

PRICING_KEYS = ("flex_per_s", "active_per_s", "round_up_s")
DAY_S = 86_400.0


@dataclass(frozen=True)
class Pricing:
    flex_per_s: float | None = None
    active_per_s: float | None = None
    round_up_s: float = 1.0

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> Pricing:
        values: dict[str, float] = {}
        for key, value in table.items():
            if key not in PRICING_KEYS:
                raise ConfigError(f"unknown [pricing] key {key!r}; known: {', '.join(PRICING_KEYS)}")
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ConfigError(f"[pricing] {key} must be a number")
            if value < 0:
                raise ConfigError(f"[pricing] {key} must not be negative")
            values[key] = float(value)
        return cls(**values)

    def check(self, config: EndpointConfig) -> None:
        """A price the setting needs and the user did not give: say which and why."""
        if config.workers_min > 0 and self.active_per_s is None:
            raise ConfigError(
                f"[pricing] active_per_s is missing: a setting has {config.workers_min} active workers "
                "(workers_min), and no price is assumed"
            )
        if config.workers_max > config.workers_min and self.flex_per_s is None:
            raise ConfigError(
                "[pricing] flex_per_s is missing: a setting can scale above workers_min "
                f"(workers_max {config.workers_max}), and no price is assumed"
            )

    def describe(self) -> dict[str, Any]:
        return {
            "flex_per_s": self.flex_per_s,
            "active_per_s": self.active_per_s,
            "round_up_s": self.round_up_s,
        }


def cost(
    pricing: Pricing, config: EndpointConfig, *, window_s: float, flex_s: float, jobs: int
) -> dict[str, float | None]:
    """`flex_s`: billed flex worker-seconds (rounding included); active workers bill the window."""
    active = config.workers_min * window_s * (pricing.active_per_s or 0.0)
    flex = flex_s * (pricing.flex_per_s or 0.0)
    total = active + flex
    return {
        "total": round(total, 6),
        "per_1k_jobs": round(total / jobs * 1000, 6) if jobs else None,
        "per_day": round(total * DAY_S / window_s, 6) if window_s > 0 else None,
        "active": round(active, 6),
        "flex": round(flex, 6),
    }
