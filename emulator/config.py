"""Emulator configuration: frozen dataclasses built once at the edge (TOML file, flags, PATCH).

The keys of an `[[endpoint]]` table are exactly the field names of `EndpointConfig`; the control
API's PATCH takes the same keys, so one validator serves both.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from worker.llm import LlmError, LlmModel, model_from_table

MIB = 1024 * 1024
RUN_BODY_LIMIT = 10 * MIB  # docs/api-behaviour.md §4: 10 MiB, refused with 400
RUNSYNC_BODY_LIMIT = 20 * MIB  # doc: 20 MB
DISTRIBUTIONS = ("fixed", "uniform", "exponential", "lognormal")
SCALERS = ("queue_delay", "request_count")


class ConfigError(ValueError):
    """A bad key or value; the message names it."""


@dataclass(frozen=True)
class ExecutionTime:
    """Simulated run time of a job whose input gives no `sleep` (for load tests)."""

    distribution: str = "fixed"
    mean_s: float = 0.0
    spread_s: float = 0.0
    """uniform: half-width around the mean; lognormal: sigma; ignored otherwise."""


@dataclass(frozen=True)
class EndpointConfig:
    id: str
    api_keys: tuple[str, ...] = ()
    workers_min: int = 1
    workers_max: int = 3
    jobs_per_worker: int = 1
    cold_start_s: float = 2.0
    idle_timeout_s: float = 5.0
    scaler: str = "queue_delay"
    scaler_value: float = 4.0
    execution_time: ExecutionTime = field(default_factory=ExecutionTime)
    handler: str | None = None
    worker: str | None = None
    """An unmodified RunPod worker file, run as one real process per worker (absolute once loaded)."""
    worker_python: str | None = None
    """The interpreter that runs `worker` (the user's own environment); default: the emulator's."""
    execution_timeout_s: float = 600.0
    ttl_s: float = 86_400.0
    retention_run_s: float = 1800.0
    retention_runsync_s: float = 60.0
    worker_timeout_s: float = 30.0
    max_jobs: int = 50_000
    id_suffix: str = "u1"
    webhook_attempts: int = 3
    webhook_retry_delay_s: float = 10.0
    webhook_timeout_s: float = 10.0
    webhook_allow_remote: bool = False
    llm: LlmModel | None = None
    """A language-model worker (continuous batching, token timing); None: the worker contract only."""
    limits: Mapping[str, Any] = field(default_factory=dict)
    """Passed untouched to the rate-limit gate (`emulator.limits`) (the rate-limit room owns its meaning)."""

    def redacted(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["api_keys"] = ["<redacted>"] * len(self.api_keys)
        data["limits"] = dict(self.limits)
        return data


@dataclass(frozen=True)
class EmulatorConfig:
    endpoints: tuple[EndpointConfig, ...]
    seed: int = 0
    admin_key: str = ""


FIXED_WHILE_RUNNING = ("worker", "worker_python")
_NUMBER_MIN: dict[str, float] = {
    "workers_min": 0,
    "workers_max": 0,
    "jobs_per_worker": 1,
    "cold_start_s": 0,
    "idle_timeout_s": 0,
    "scaler_value": 0.001,
    "execution_timeout_s": 5,
    "ttl_s": 10,
    "retention_run_s": 0,
    "retention_runsync_s": 0,
    "worker_timeout_s": 0.001,
    "max_jobs": 1,
    "webhook_attempts": 1,
    "webhook_retry_delay_s": 0,
    "webhook_timeout_s": 0.001,
}


def endpoint_from_table(table: Mapping[str, Any], *, base: EndpointConfig | None = None) -> EndpointConfig:
    """Build (or merge-patch onto `base`) an endpoint config; unknown keys and bad values raise."""
    known = {f.name: f for f in dataclasses.fields(EndpointConfig)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key == "api_key_env":
            values["api_keys"] = _keys_from_env(value)
            continue
        if key not in known:
            raise ConfigError(f"unknown endpoint key {key!r}")
        if base is not None and key == "id" and value != base.id:
            raise ConfigError("'id' cannot be changed")
        if base is not None and key in FIXED_WHILE_RUNNING and value != getattr(base, key):
            raise ConfigError(f"{key!r} cannot be changed while the emulator runs")
        values[key] = _check(key, value, base)
    if base is None:
        if "id" not in values:
            raise ConfigError("an endpoint needs an 'id'")
        config = EndpointConfig(**values)
    else:
        config = dataclasses.replace(base, **values)
    if config.handler and config.worker:
        raise ConfigError("an endpoint names either 'handler' or 'worker', not both")
    if config.worker_python and not config.worker:
        raise ConfigError("'worker_python' needs a 'worker'")
    if config.workers_min > config.workers_max:
        raise ConfigError("'workers_min' must not exceed 'workers_max'")
    if config.llm is not None and config.jobs_per_worker != config.llm.max_concurrency:
        # One number for a worker's slots: an LLM worker's batch is its job slots.
        if "jobs_per_worker" in values:
            raise ConfigError(
                "an endpoint with 'llm' sets its slots with 'llm.max_concurrency', not 'jobs_per_worker'"
            )
        config = dataclasses.replace(config, jobs_per_worker=config.llm.max_concurrency)
    return config


def _check(key: str, value: Any, base: EndpointConfig | None) -> Any:
    if key == "id":
        if not isinstance(value, str) or not value or "/" in value:
            raise ConfigError("'id' must be a non-empty string without '/'")
        return value
    if key == "api_keys":
        if not isinstance(value, list) or not all(isinstance(k, str) and k for k in value):
            raise ConfigError("'api_keys' must be a list of non-empty strings")
        return tuple(value)
    if key in ("handler", "id_suffix", "scaler", "worker", "worker_python"):
        if key in ("handler", "worker", "worker_python") and value is None:
            return None
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{key!r} must be a non-empty string")
        if key == "scaler" and value not in SCALERS:
            raise ConfigError(f"'scaler' must be one of {', '.join(SCALERS)}")
        if key == "handler" and ":" not in value:
            raise ConfigError("'handler' must look like 'module:function'")
        return value
    if key == "webhook_allow_remote":
        if not isinstance(value, bool):
            raise ConfigError("'webhook_allow_remote' must be true or false")
        return value
    if key == "limits":
        if not isinstance(value, Mapping):
            raise ConfigError("'limits' must be a table")
        return merge_patch(base.limits if base is not None else {}, value)
    if key == "execution_time":
        return _execution_time(value, base.execution_time if base is not None else ExecutionTime())
    if key == "llm":
        if value is None:
            return None
        try:
            return model_from_table(value, base.llm if base is not None else None)
        except LlmError as exc:
            raise ConfigError(str(exc)) from None
    minimum = _NUMBER_MIN[key]
    integral = isinstance(EndpointConfig.__dataclass_fields__[key].default, int)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (integral and not isinstance(value, int))
    ):
        raise ConfigError(f"{key!r} must be {'an integer' if integral else 'a number'}")
    if value < minimum:
        raise ConfigError(f"{key!r} must be at least {minimum:g}")
    return value if integral else float(value)


def merge_patch(target: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7396: tables merge key by key, null deletes a key, anything else replaces."""
    merged = dict(target)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_patch(merged[key], value)
        else:
            merged[key] = merge_patch({}, value) if isinstance(value, Mapping) else value
    return merged


def _execution_time(value: Any, base: ExecutionTime) -> ExecutionTime:
    if not isinstance(value, Mapping):
        raise ConfigError("'execution_time' must be a table with distribution, mean_s, spread_s")
    values: dict[str, Any] = {}
    for key, item in value.items():
        if key == "distribution":
            if item not in DISTRIBUTIONS:
                raise ConfigError(f"'execution_time.distribution' must be one of {', '.join(DISTRIBUTIONS)}")
            values[key] = item
        elif key in ("mean_s", "spread_s"):
            if isinstance(item, bool) or not isinstance(item, int | float) or item < 0:
                raise ConfigError(f"'execution_time.{key}' must be a non-negative number")
            values[key] = float(item)
        else:
            raise ConfigError(f"unknown key 'execution_time.{key}'")
    return dataclasses.replace(base, **values)


def _keys_from_env(name: Any) -> tuple[str, ...]:
    if not isinstance(name, str) or not os.environ.get(name):
        raise ConfigError(f"'api_key_env' names an unset environment variable: {name!r}")
    return (os.environ[name],)


def load_config(
    path: Path | None,
    *,
    endpoint_id: str,
    api_key: str,
    admin_key: str,
    worker: str | None = None,
    worker_python: str | None = None,
) -> EmulatorConfig:
    """The file's endpoints (or one endpoint named by the flags); endpoints without keys get `api_key`.

    A `worker` path in the file is relative to the file; `worker` given here (the `--worker` flag,
    relative to the current directory) serves every endpoint that names neither worker nor handler.
    """
    seed = 0
    tables: list[Mapping[str, Any]] = [{"id": endpoint_id}]
    if path is not None:
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config {path}: {exc}") from exc
        unknown = set(data) - {"seed", "endpoint"}
        if unknown:
            raise ConfigError(f"unknown top-level key {sorted(unknown)[0]!r} in {path}")
        seed = data.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError("'seed' must be an integer")
        raw = data.get("endpoint", [])
        if not isinstance(raw, list) or not raw:
            raise ConfigError(f"{path} defines no [[endpoint]] table")
        tables = raw
    endpoints: list[EndpointConfig] = []
    for table in tables:
        config = endpoint_from_table(table)
        if not config.api_keys:
            config = dataclasses.replace(config, api_keys=(api_key,))
        if config.worker:
            python = config.worker_python
            if python and "/" in python:
                python = _absolute(python, path)
            config = dataclasses.replace(config, worker=_absolute(config.worker, path), worker_python=python)
        elif worker and not config.handler:
            config = dataclasses.replace(config, worker=_absolute(worker, None), worker_python=worker_python)
        if any(e.id == config.id for e in endpoints):
            raise ConfigError(f"endpoint id {config.id!r} is defined twice")
        endpoints.append(config)
    return EmulatorConfig(endpoints=tuple(endpoints), seed=seed, admin_key=admin_key)


def _absolute(path: str, config_file: Path | None) -> str:
    """Absolute, symlinks kept: a venv's `bin/python` is a symlink whose target is not the venv."""
    base = os.path.dirname(os.path.abspath(config_file)) if config_file is not None else os.getcwd()
    return os.path.normpath(os.path.join(base, os.path.expanduser(path)))
