"""Endpoint settings to simulate: the profile's `[emulator]` table, and a grid over its keys.

A setting is an `EndpointConfig`, checked by the emulator's own validator (`endpoint_from_table`),
so a key the emulator does not know, or a bad value, is refused with its name. A sweep file (TOML)
lists values per key, e.g. `workers_min = [0, 1, 2]`; every combination is one setting, except
those with `workers_min` above `workers_max`, which no endpoint can have (skipped, and counted).
"""

from __future__ import annotations

import dataclasses
import itertools
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from emulator.config import ConfigError, EndpointConfig, endpoint_from_table

SIMULATED_ID = "simulated"
SHOWN_KEYS = (
    "workers_min",
    "workers_max",
    "cold_start_s",
    "idle_timeout_s",
    "scaler",
    "scaler_value",
    "jobs_per_worker",
    "execution_time",
)
NOT_SIMULATED = {
    "handler": "runs the user's code in real time; the simulation plays the worker contract or execution_time",
    "worker": "starts real worker processes; the simulation plays the worker contract or execution_time",
    "api_keys": "has no meaning without requests",
    "api_key_env": "has no meaning without requests",
    "limits": "rate limits act on requests, which the simulation does not send",
    "id": "is fixed",
}


def _check_keys(table: Mapping[str, Any], where: str) -> None:
    for key in table:
        if key in NOT_SIMULATED:
            raise ConfigError(f"{where}: {key!r} is not a simulated setting ({NOT_SIMULATED[key]})")


def base_setting(table: Mapping[str, Any]) -> EndpointConfig:
    """The profile's `[emulator]` table as an endpoint (emulator defaults for what it leaves out)."""
    _check_keys(table, "[emulator]")
    return endpoint_from_table({**table, "id": SIMULATED_ID})


def read_sweep(path: Path) -> dict[str, list[Any]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read sweep file {path}: {exc}") from None
    if not data:
        raise ConfigError(f"sweep file {path} lists no keys (e.g. workers_max = [2, 4, 8])")
    known = {f.name for f in dataclasses.fields(EndpointConfig)}
    for key, values in data.items():
        if key not in known:
            raise ConfigError(f"sweep file {path}: unknown key {key!r} (not an emulator endpoint setting)")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"sweep file {path}: {key!r} must be a non-empty list of values")
    _check_keys(data, f"sweep file {path}")
    return data


def grid(base: EndpointConfig, sweep: Mapping[str, list[Any]]) -> tuple[list[EndpointConfig], int]:
    """Every combination applied onto `base`, and how many were skipped (min above max)."""
    keys = list(sweep)
    settings: list[EndpointConfig] = []
    skipped = 0
    for values in itertools.product(*(sweep[k] for k in keys)):
        combo = dict(zip(keys, values, strict=True))
        low = combo.get("workers_min", base.workers_min)
        high = combo.get("workers_max", base.workers_max)
        if isinstance(low, int) and isinstance(high, int) and low > high:
            skipped += 1
            continue
        settings.append(endpoint_from_table(combo, base=base))
    if not settings:
        raise ConfigError("the sweep leaves no setting (every combination has workers_min above workers_max)")
    return settings, skipped


def shown(config: EndpointConfig) -> dict[str, Any]:
    """The setting as `simulation.json` shows it."""
    data = {key: getattr(config, key) for key in SHOWN_KEYS}
    data["execution_time"] = dataclasses.asdict(config.execution_time)
    if config.llm is not None:  # generation requests: the model each worker plays
        data["llm"] = config.llm.describe()
    return data
