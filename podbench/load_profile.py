"""Load profiles: TOML files under profiles/ turned into the JSON plan the Locust users follow.

A profile names its flows (operations and lifecycle scenarios) with rates in requests or jobs
per second, the stages that scale those rates over time, payload sizes and the worker-contract
input each flow sends. Every mistake is a `UsageError` naming the file and the key.

This is the CLI reading its user's input, as it reads argv: `podbench load`, `verify` and
`simulate` check a profile here and hand the load room the plan it reads (`plan.json`,
locustfiles/_plan.py); `podbench capacity` resolves the profile's name here and hands the file
to the capacity room, which reads its `[capacity]` table.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from locustfiles._plan import FLOWS, LLM_FLOWS
from podbench.errors import UsageError

PROFILES_DIR = Path(__file__).resolve().parent.parent / "profiles"

TOP_KEYS = {"profile", "defaults", "stages", "flows", "emulator", "capacity", "pricing", "llm"}
PROFILE_KEYS = {
    "name",
    "description",
    "duration",
    "seed",
    "arrival",
    "late_ms",
    "drop_ms",
    "notes",
    "emulator_args",
    "health_interval",
    "burstiness",
}
FLOW_KEYS = {"rate", "slots", "input", "payload_bytes", "timeout", "poll", "runsync_wait_ms"}
LLM_FLOW_KEYS = {"concurrency", "max_tokens", "prompt_tokens", "prompts_file", "model", "stream"}
LLM_SLO_KEYS = {"ttft_ms", "tpot_ms", "e2e_ms"}
MAX_PROMPTS = 10_000
ARRIVALS = ("uniform", "poisson", "gamma")
POLL_KEYS = {"initial_ms", "max_ms", "factor", "job_timeout"}
DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: object, what: str = "duration") -> float:
    """'90s', '2m', '1.5h', '500ms' or a number of seconds."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        match = DURATION_RE.match(str(text))
        if not match:
            raise UsageError(f"bad {what} {text!r}: expected e.g. 30s, 2m, 1h")
        seconds = float(match.group(1)) * UNITS[match.group(2)]
    if not math.isfinite(seconds) or seconds <= 0:
        raise UsageError(f"bad {what} {text!r}: must be positive")
    return seconds


def resolve_profile(name_or_file: str) -> Path:
    """A profile is a TOML file or a name under profiles/ (mixed → profiles/mixed.toml); for
    `podbench load`, `verify` and `capacity` alike."""
    path = Path(name_or_file)
    if path.suffix == ".toml" or "/" in name_or_file or path.is_file():
        if not path.is_file():
            raise UsageError(f"profile file not found: {name_or_file}")
        return path
    candidate = PROFILES_DIR / f"{name_or_file}.toml"
    if not candidate.is_file():
        known = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.toml")))
        raise UsageError(f"unknown profile {name_or_file!r}; known: {known}")
    return candidate


def _number(value: object, where: str, *, minimum: float = 0.0) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < minimum
    ):
        raise UsageError(f"{where} must be a number >= {minimum:g}, got {value!r}")
    return float(value)


def _check_keys(table: object, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise UsageError(f"{where} must be a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}")
    return table


def _busy_seconds(name: str, spec: dict[str, Any]) -> float:
    """A rough time one send keeps a user busy, to size the default slot count."""
    job_input = spec["input"] if isinstance(spec["input"], dict) else {}
    sleep = float(job_input.get("sleep", 0) or 0)
    chunks = len(job_input.get("stream", []) or [])
    poll_s = spec["poll_initial_ms"] / 1000.0
    busy: dict[str, float] = {
        "runsync": sleep + 0.1,
        "cancel": 0.3,
        "retry": poll_s + 0.3,
        "run_poll": sleep + 4 * poll_s + 0.2,
        "runsync_fallback": sleep + 0.2,
        "stream_consumer": sleep * max(chunks, 1) + 4 * poll_s + 0.3,
        # a generation of a few hundred tokens at tens of tokens per second, queueing included
        **dict.fromkeys(LLM_FLOWS, 10.0),
    }
    return busy.get(name, 0.25)  # a plain call: room for responses up to ~0.75 s before sends go late


def _flow(
    name: str, table: object, defaults: dict[str, Any], max_scale: float, where: str, folder: Path
) -> dict[str, Any]:
    if name not in FLOWS:
        raise UsageError(f"{where}: unknown operation {name!r}; known: {', '.join(FLOWS)}")
    allowed = FLOW_KEYS | LLM_FLOW_KEYS if name in LLM_FLOWS else FLOW_KEYS
    raw = {**defaults, **_check_keys(table, allowed, where)}
    llm = _llm_flow(raw, where, folder) if name in LLM_FLOWS else None
    concurrency = raw.get("concurrency")
    if concurrency is not None:
        if "rate" in raw and raw["rate"]:
            raise UsageError(f"{where}: give 'rate' or 'concurrency', not both")
        concurrency = int(_number(concurrency, f"{where}.concurrency", minimum=1))
        raw = {**raw, "rate": 0, "slots": concurrency}
    if "rate" not in raw:
        raise UsageError(f"{where}: missing 'rate' (requests or jobs per second)")
    poll = _check_keys(raw.get("poll", {}), POLL_KEYS, f"{where}.poll")
    spec: dict[str, Any] = {
        "rate": _number(raw["rate"], f"{where}.rate"),
        "input": raw.get("input", {}),
        "payload_bytes": int(_number(raw.get("payload_bytes", 0), f"{where}.payload_bytes")),
        "timeout_s": parse_duration(raw.get("timeout", 30), f"{where}.timeout"),
        "poll_initial_ms": _number(poll.get("initial_ms", 200), f"{where}.poll.initial_ms", minimum=1),
        "poll_max_ms": _number(poll.get("max_ms", 2000), f"{where}.poll.max_ms", minimum=1),
        "poll_factor": _number(poll.get("factor", 1.5), f"{where}.poll.factor", minimum=1),
        "job_timeout_s": parse_duration(poll.get("job_timeout", 60), f"{where}.poll.job_timeout"),
        "runsync_wait_ms": raw.get("runsync_wait_ms"),
        "concurrency": concurrency,
        "llm": llm,
    }
    if spec["runsync_wait_ms"] is not None:
        spec["runsync_wait_ms"] = int(
            _number(spec["runsync_wait_ms"], f"{where}.runsync_wait_ms", minimum=1000)
        )
    slots = raw.get("slots")
    if slots is None:
        peak = spec["rate"] * max_scale
        slots = max(2, min(2000, math.ceil(peak * _busy_seconds(name, spec) * 3) + 2))
    spec["slots"] = int(_number(slots, f"{where}.slots", minimum=1))
    return spec


def _tokens(value: object, where: str) -> Any:
    """A token count: a whole number, or {distribution = "uniform", min, max} / {"normal", mean, stddev}."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(_number(value, where, minimum=1))
    table = _check_keys(value, {"distribution", "min", "max", "mean", "stddev"}, where)
    kind = table.get("distribution")
    if kind == "uniform":
        low = _number(table.get("min"), f"{where}.min", minimum=1)
        high = _number(table.get("max"), f"{where}.max", minimum=low)
        return {"distribution": "uniform", "min": low, "max": high}
    if kind == "normal":
        mean = _number(table.get("mean"), f"{where}.mean", minimum=1)
        return {
            "distribution": "normal",
            "mean": mean,
            "stddev": _number(table.get("stddev", 0), f"{where}.stddev"),
        }
    raise UsageError(f"{where}: distribution must be 'uniform' (min, max) or 'normal' (mean, stddev)")


def _prompts(value: object, where: str, folder: Path) -> list[str]:
    """A JSONL file (relative to the profile) of prompts: each line a string or {"prompt": "..."}."""
    if not isinstance(value, str) or not value:
        raise UsageError(f"{where}.prompts_file must be a path")
    path = Path(value) if Path(value).is_absolute() else folder / value
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{where}.prompts_file: cannot read {path}: {exc}") from None
    prompts: list[str] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            raise UsageError(
                f'{path}:{number}: not JSON (each line: a string or {{"prompt": ...}})'
            ) from None
        text = item.get("prompt") if isinstance(item, dict) else item
        if not isinstance(text, str) or not text:
            raise UsageError(f"{path}:{number}: needs a non-empty prompt string")
        prompts.append(text)
        if len(prompts) >= MAX_PROMPTS:
            break
    if not prompts:
        raise UsageError(f"{where}.prompts_file: {path} holds no prompt")
    return prompts


def _llm_flow(raw: dict[str, Any], where: str, folder: Path) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "max_tokens": _tokens(raw.get("max_tokens"), f"{where}.max_tokens"),
        "prompt_tokens": _tokens(raw.get("prompt_tokens", 64), f"{where}.prompt_tokens"),
        "model": str(raw.get("model", "podbench-llm")),
        "stream": bool(raw.get("stream", True)),
    }
    if "prompts_file" in raw:
        spec["prompts"] = _prompts(raw["prompts_file"], where, folder)
    return spec


def _slo(table: object, where: str) -> dict[str, float]:
    llm = _check_keys(table, {"slo"}, where)
    slo = _check_keys(llm.get("slo", {}), LLM_SLO_KEYS, f"{where}.slo")
    return {key: _number(value, f"{where}.slo.{key}", minimum=0) for key, value in slo.items()}


def _stages(data: dict[str, Any], duration: float | None, where: str) -> list[dict[str, float]]:
    raw = data.get("stages")
    if raw is None:
        return [{"start_s": 0.0, "duration_s": duration or 60.0, "scale": 1.0}]
    if not isinstance(raw, list) or not raw:
        raise UsageError(f"{where}: [[stages]] must be a non-empty list of tables")
    stages, start = [], 0.0
    for i, stage in enumerate(raw):
        table = _check_keys(stage, {"duration", "scale", "name"}, f"{where}: stages[{i}]")
        length = parse_duration(table.get("duration"), f"stages[{i}].duration")
        scale = _number(table.get("scale", 1.0), f"{where}: stages[{i}].scale")
        stages.append({"start_s": start, "duration_s": length, "scale": scale})
        start += length
    if duration is not None:
        factor = duration / start  # --duration stretches or squeezes every stage alike
        stages = [
            {"start_s": s["start_s"] * factor, "duration_s": s["duration_s"] * factor, "scale": s["scale"]}
            for s in stages
        ]
    return stages


def load_profile(
    name_or_file: str,
    *,
    duration: float | None = None,
    rate_scale: float = 1.0,
    seed: int | None = None,
    extra_flows: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The plan (JSON-able) for a profile, with command-line overrides applied. `extra_flows` (a
    trace's flows) the profile does not list get its `[defaults]`, at rate 0."""
    path = resolve_profile(name_or_file)
    where = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read profile {path}: {exc}") from None
    _check_keys(data, TOP_KEYS, where)
    head = _check_keys(data.get("profile", {}), PROFILE_KEYS, f"{where}: [profile]")
    defaults = _check_keys(data.get("defaults", {}), FLOW_KEYS - {"rate", "slots"}, f"{where}: [defaults]")
    wanted = (
        duration
        if duration is not None
        else (parse_duration(head["duration"]) if "duration" in head and "stages" not in data else None)
    )
    stages = _stages(data, wanted, where)
    max_scale = max(s["scale"] for s in stages) * rate_scale
    flows_table = data.get("flows")
    if extra_flows:
        flows_table = {**(flows_table if isinstance(flows_table, dict) else {})}
        for name in extra_flows:
            flows_table.setdefault(name, {"rate": 0})
    if not isinstance(flows_table, dict) or not flows_table:
        raise UsageError(f"{where}: needs at least one [flows.NAME] table (NAME one of {', '.join(FLOWS)})")
    flows = {
        name: _flow(name, t, defaults, max_scale, f"{where}: [flows.{name}]", path.parent)
        for name, t in flows_table.items()
    }
    for spec in flows.values():
        spec["rate"] *= rate_scale
    arrival = head.get("arrival", "uniform")
    if arrival not in ARRIVALS:
        raise UsageError(f"{where}: arrival must be one of {', '.join(ARRIVALS)}, got {arrival!r}")
    burstiness = _number(head.get("burstiness", 1.0), f"{where}: burstiness", minimum=0.01)
    emulator_args = head.get("emulator_args", [])
    if not isinstance(emulator_args, list) or not all(isinstance(a, str) for a in emulator_args):
        raise UsageError(f"{where}: emulator_args must be a list of strings")
    return {
        "profile": str(head.get("name", path.stem)),
        "description": str(head.get("description", "")),
        "notes": [str(n) for n in head.get("notes", [])],
        "duration_s": sum(s["duration_s"] for s in stages),
        "seed": int(seed if seed is not None else head.get("seed", 1)),
        "arrival": arrival,
        "burstiness": burstiness,
        "llm_slo": _slo(data.get("llm", {}), f"{where}: [llm]"),
        "late_ms": _number(head.get("late_ms", 10), f"{where}: late_ms"),
        "drop_ms": _number(head.get("drop_ms", 1000), f"{where}: drop_ms", minimum=1),
        "health_interval_s": parse_duration(head.get("health_interval", 1), "health_interval"),
        "stages": stages,
        "flows": flows,
        "_emulator_patch": _check_keys(data.get("emulator", {}), set(data.get("emulator", {})), "[emulator]"),
        "_emulator_args": emulator_args,
        "_pricing": _check_keys(data.get("pricing", {}), set(data.get("pricing", {})), "[pricing]"),
        "_has_pricing": "pricing" in data,
    }


DESTRUCTIVE_FLOWS = ("purge_queue",)
"""Flows that change a real endpoint for everyone: /purge-queue removes other people's queued jobs."""


def destructive_flows(plan: dict[str, Any]) -> list[str]:
    """The plan's flows that would empty a real endpoint's queue (rate above zero)."""
    return [name for name in DESTRUCTIVE_FLOWS if float(plan["flows"].get(name, {}).get("rate", 0)) > 0]


def refuse_destructive(plan: dict[str, Any], *, allowed: bool) -> None:
    """A real endpoint's queue holds other people's jobs: purging it needs an explicit flag."""
    flows = destructive_flows(plan)
    if flows and not allowed:
        raise UsageError(
            f"profile {plan['profile']} has a {', '.join(flows)} flow, which empties the real target's queue "
            "(other users' jobs too); pass --allow-destructive, or set its rate to 0"
        )


def load_plan_cost(plan: Mapping[str, Any]) -> tuple[int, float]:
    """Planned sends (requests that start a flow; job flows poll on top) and the run's length."""
    stages = plan.get("stages") or []
    duration = float(plan.get("duration_s") or 0)
    scaled_s = (
        sum(float(s.get("duration_s", 0)) * float(s.get("scale", 1)) for s in stages) if stages else duration
    )
    flows = plan.get("flows") or {}
    sends = sum(float(f.get("rate", 0)) * scaled_s for f in flows.values() if isinstance(f, Mapping))
    return int(round(sends)), duration
