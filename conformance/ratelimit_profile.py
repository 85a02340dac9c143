"""The rate limits a target is expected to keep: the documented table, or a profile's `[rate_limits]`.

    [rate_limits]
    tolerance = 0.05                                       # a real target may accept 5 % more or fewer
    run = {rate = 1000, window_s = 10, concurrency = 200}  # any operation left out keeps the documented row
    purge_queue = {rate = 2, window_s = 10}                # no concurrency key: no concurrency limit

Operations: run, runsync, status, stream, cancel, purge_queue (the rows of the source document the
suite can drive; `/status-sync` shares the `/status` row, `/openai/*` and `/requests` need a worker
that serves them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.violations import HarnessError
from contract.limits import DOCUMENTED_FOR


@dataclass(frozen=True)
class RateLimit:
    rate: int
    """Requests accepted per window."""
    window_s: float = 10.0
    concurrency: int | None = None
    """Requests in flight at once; None: not limited."""


SUITE_OPERATIONS = ("run", "runsync", "status", "stream", "cancel", "purge_queue")
"""The documented rows the suite can drive (see the module's docstring)."""


def _documented(name: str) -> RateLimit:
    row = DOCUMENTED_FOR[name]
    return RateLimit(row.rate, row.window_s, row.concurrency)


# The documented table (docs/api-behaviour.md §6; contract.limits holds it with its source URL).
DOCUMENTED_LIMITS: dict[str, RateLimit] = {name: _documented(name) for name in SUITE_OPERATIONS}
DEFAULT_TOLERANCE = 0.05


def parse_rate_limits(body: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """The `[rate_limits]` table as Profile fields: `rate_limits` and `rate_tolerance`."""
    limits = dict(DOCUMENTED_LIMITS)
    values: dict[str, Any] = {}
    for key, value in body.items():
        where = f"{origin}: rate_limits.{key}"
        if key == "tolerance":
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
                raise HarnessError(f"{where} must be a fraction in [0, 1), not {value!r}")
            values["rate_tolerance"] = float(value)
        elif key in DOCUMENTED_LIMITS:
            limits[key] = _limit(value, where)
        else:
            raise HarnessError(
                f"{where}: unknown operation (known: tolerance, {', '.join(DOCUMENTED_LIMITS)})"
            )
    values["rate_limits"] = limits
    return values


def _limit(value: Any, where: str) -> RateLimit:
    if not isinstance(value, Mapping):
        raise HarnessError(f"{where} must be a table {{rate = N, window_s = S, concurrency = C}}")
    unknown = set(value) - {"rate", "window_s", "concurrency"}
    if unknown:
        raise HarnessError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    rate, window_s, concurrency = value.get("rate"), value.get("window_s", 10.0), value.get("concurrency")
    if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1:
        raise HarnessError(f"{where}.rate must be a whole number, 1 or more, not {rate!r}")
    if isinstance(window_s, bool) or not isinstance(window_s, int | float) or window_s <= 0:
        raise HarnessError(f"{where}.window_s must be a number of seconds above 0, not {window_s!r}")
    if concurrency is not None and (
        isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1
    ):
        raise HarnessError(f"{where}.concurrency must be a whole number, 1 or more, not {concurrency!r}")
    return RateLimit(rate, float(window_s), concurrency)
