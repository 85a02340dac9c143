"""What the suite may expect of a target: retention windows, limits, workers, patience.

Defaults are the documented values; a target profile (TOML, `--target-profile FILE`) overrides
them, e.g. for an emulator configured with short windows or a real endpoint with few workers.

    [retention]      run_s = 1800, runsync_s = 60
    [limits]         run_body = [10000000, 10485760]      # the limit lies in [10 MB, 10 MiB]
                     runsync_body = [20000000, 20971520]
                     stream_chunk_bytes = 1048576
    [workers]        max = 3                              # workersMax of the endpoint
    [timing]         job_timeout_s = 300                  # how long a job may take to finish (cold starts)
                     webhook_retry_delay_s = 10, webhook_retries = 2, slack_s = 2
    [rate_limits]    tolerance = 0.05, run = {rate = 1000, window_s = 10, concurrency = 200}, ...
                     (conformance/ratelimit_profile.py; default: the documented table)
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from conformance.ratelimit_profile import DEFAULT_TOLERANCE, DOCUMENTED_LIMITS, RateLimit, parse_rate_limits
from conformance.violations import HarnessError


@dataclass(frozen=True, kw_only=True)
class Profile:
    run_retention_s: float = 1800.0
    runsync_retention_s: float = 60.0
    run_body: tuple[int, int] = (10_000_000, 10 * 2**20)
    runsync_body: tuple[int, int] = (20_000_000, 20 * 2**20)
    stream_chunk_bytes: int = 2**20
    workers_max: int = 3
    job_timeout_s: float = 300.0
    webhook_retry_delay_s: float = 10.0
    webhook_retries: int = 2
    slack_s: float = 2.0
    """Tolerance on every time window: a result may vanish up to this late."""
    rate_limits: dict[str, RateLimit] = field(default_factory=lambda: dict(DOCUMENTED_LIMITS))
    rate_tolerance: float = DEFAULT_TOLERANCE
    """A real target's accepted count may differ from a documented rate by this fraction."""

    @classmethod
    def from_toml(cls, path: Path) -> Profile:
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise HarnessError(f"target profile {path}: {exc}") from exc
        return cls.from_mapping(data, origin=f"target profile {path}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, origin: str = "profile") -> Profile:
        table = {
            ("retention", "run_s"): "run_retention_s",
            ("retention", "runsync_s"): "runsync_retention_s",
            ("limits", "run_body"): "run_body",
            ("limits", "runsync_body"): "runsync_body",
            ("limits", "stream_chunk_bytes"): "stream_chunk_bytes",
            ("workers", "max"): "workers_max",
            ("timing", "job_timeout_s"): "job_timeout_s",
            ("timing", "webhook_retry_delay_s"): "webhook_retry_delay_s",
            ("timing", "webhook_retries"): "webhook_retries",
            ("timing", "slack_s"): "slack_s",
        }
        values: dict[str, Any] = {}
        for section, body in data.items():
            if not isinstance(body, Mapping):
                raise HarnessError(f"{origin}: [{section}] must be a table")
            if section == "rate_limits":
                values.update(parse_rate_limits(body, origin))
                continue
            for key, value in body.items():
                name = table.get((section, key))
                if name is None:
                    raise HarnessError(f"{origin}: unknown key {section}.{key}")
                values[name] = _coerce(name, value, origin)
        return cls(**values)


def _coerce(name: str, value: Any, origin: str) -> Any:
    default: Any = {f.name: f.default for f in fields(Profile)}[name]
    if isinstance(default, tuple):
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)):
            raise HarnessError(f"{origin}: {name} must be [lowest, highest] byte counts")
        low, high = value
        if low > high:
            raise HarnessError(f"{origin}: {name} lowest {low} is above highest {high}")
        return (low, high)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise HarnessError(f"{origin}: {name} must be a non-negative number, not {value!r}")
    return int(value) if isinstance(default, int) else float(value)
