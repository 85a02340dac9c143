"""`podbench capacity`: find the knee of an endpoint and recommend workersMin / workersMax."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from capacity import (
    CapacityError,
    Ramp,
    RunData,
    Slo,
    StepRunner,
    build_capacity,
    load_ramp,
    parse_slo,
    summarize_run,
    token_slo,
    update_manifest,
    write_json,
)
from podbench import __version__
from podbench.embedded import embedded_emulator
from podbench.errors import TargetUnreachable, UsageError
from podbench.load_profile import resolve_profile
from podbench.target import Target, add_target_arguments, real_target_from_args

DEFAULT_SLO = "p95_ms<=500"
HELP = "find the highest job rate that meets a latency SLO, and the workers a target rate needs"
OVERRIDES = {
    "start_rps": float,
    "step_rps": float,
    "max_rps": float,
    "min_hold_s": float,
    "max_hold_s": float,
    "refine_steps": int,
    "drain_s": float,
    "seed": int,
}


def configure(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument(
        "--profile",
        default="capacity-step",
        help="profile NAME under profiles/ or a TOML FILE; "
        "its [capacity] table gives the steps (default capacity-step)",
    )
    parser.add_argument(
        "--slo",
        help="end-to-end job latency objective, e.g. 'p95_ms<=500' (the default); an LLM sweep "
        '([capacity] submit = "openai_chat_stream") takes its objective from the profile\'s [llm] slo',
    )
    parser.add_argument(
        "--target-rps", type=float, help="job rate to recommend workers for (default: the knee)"
    )
    parser.add_argument(
        "--out", required=True, type=Path, help="result folder (capacity.json, manifest.json)"
    )
    parser.add_argument(
        "--submit", choices=("runsync", "run"), help="how each job is sent (default from the profile)"
    )
    for key, kind in OVERRIDES.items():
        parser.add_argument(
            f"--{key.replace('_', '-')}", dest=key, type=kind, help=f"override [capacity] {key}"
        )
    group = parser.add_argument_group("embedded emulator")
    group.add_argument("--emulator-config", type=Path, help="emulator config TOML for the embedded emulator")
    group.add_argument(
        "--emulator-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for the embedded emulator, e.g. --emulator-arg=--rate-limits=off",
    )


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except CapacityError as exc:  # the room's refusals are bad usage here: one line, exit 2
        raise UsageError(str(exc)) from exc


def _run(args: argparse.Namespace) -> int:
    if args.target_rps is not None and args.target_rps <= 0:
        raise UsageError("--target-rps must be positive")
    overrides: dict[str, Any] = {k: getattr(args, k) for k in OVERRIDES if getattr(args, k) is not None}
    if args.submit:
        overrides["submit"] = args.submit
    profile_path = resolve_profile(args.profile)
    ramp = load_ramp(profile_path, overrides)
    slo = _objective(args.slo, ramp, profile_path)
    if args.emulator_config is not None and not args.emulator_config.is_file():
        raise UsageError(f"emulator config {str(args.emulator_config)!r} not found")
    _prepare_out(args.out)
    target_rps = args.target_rps if args.target_rps is not None else ramp.target_rps
    real = real_target_from_args(args, os.environ)
    if real is not None:
        _announce_cost(ramp, real)
        return _measure(real, real.api_key(), ramp, slo, args, profile_path.stem, target_rps)
    with embedded_emulator(
        config=args.emulator_config, extra_args=args.emulator_arg, api_key_env=args.api_key_env
    ) as emulator:
        if ramp.emulator:
            _patch_emulator(emulator.target, emulator.admin_key, ramp.emulator)
        return _measure(emulator.target, emulator.api_key, ramp, slo, args, profile_path.stem, target_rps)


def _objective(text: str | None, ramp: Ramp, profile: Path) -> Slo:
    """The end-to-end SLO of --slo, or for an LLM sweep the profile's [llm] slo judged by goodput."""
    if not ramp.is_llm:
        return parse_slo(text or DEFAULT_SLO)
    if text is not None:
        raise UsageError("an LLM sweep is judged by the profile's [llm] slo and goodput_share, not --slo")
    table = tomllib.loads(profile.read_text()).get("llm", {})
    return token_slo(table.get("slo") if isinstance(table, dict) else None, ramp.goodput_share, str(profile))


def _prepare_out(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create --out {str(out)!r}: {exc.strerror}") from exc


def _announce_cost(ramp: Ramp, target: Target) -> None:
    low, high = ramp.planned_jobs()
    print(
        f"podbench capacity: against {target.base_url} (endpoint {target.endpoint_id}) this run submits "
        f"{low}–{high} jobs ({ramp.submit}), each running your worker; stop with Ctrl-C",
        file=sys.stderr,
    )


def _patch_emulator(target: Target, admin_key: str, patch: dict[str, Any] | Any) -> None:
    """Apply the profile's [capacity.emulator] settings (workers, execution time) to the endpoint."""
    url = f"{target.admin_url}/endpoints/{target.endpoint_id}"
    try:
        resp = requests.patch(
            url, json=dict(patch), headers={"Authorization": f"Bearer {admin_key}"}, timeout=10
        )
    except requests.RequestException as exc:
        raise TargetUnreachable(f"embedded emulator control API unreachable: {exc}") from exc
    if resp.status_code >= 400:
        raise UsageError(f"[capacity.emulator] refused by the emulator: {resp.text.strip()[:300]}")


def _check_reachable(target: Target, api_key: str) -> None:
    url = f"{target.base_url}/{target.endpoint_id}/health"
    try:
        resp = requests.get(url, headers={"Authorization": f"Bearer {api_key}"}, timeout=10)
    except requests.RequestException as exc:
        raise TargetUnreachable(f"target unreachable: {url}: {type(exc).__name__}") from exc
    if resp.status_code in (401, 403):
        raise TargetUnreachable(f"target refused the API key (HTTP {resp.status_code}) at {url}")
    if resp.status_code >= 500 or resp.status_code == 404:
        raise TargetUnreachable(f"target answered HTTP {resp.status_code} at {url}")


def _measure(
    target: Target,
    api_key: str,
    ramp: Ramp,
    slo: Slo,
    args: argparse.Namespace,
    profile: str,
    target_rps: float | None,
) -> int:
    _check_reachable(target, api_key)
    started = datetime.now(UTC)

    def progress(line: str) -> None:
        print(f"[{(datetime.now(UTC) - started).total_seconds():6.1f} s] {line}", file=sys.stderr, flush=True)

    runner = StepRunner(target.base_url, target.endpoint_id, api_key, ramp, slo, progress=progress)
    data = _run_runner(runner)
    ended = datetime.now(UTC)
    steps = summarize_run(data, slo)
    payload = build_capacity(
        data,
        steps,
        slo=slo,
        ramp=ramp,
        target=target.describe(),
        profile=profile,
        started=started,
        ended=ended,
        target_rps=target_rps,
        podbench_version=__version__,
    )
    write_json(args.out / "capacity.json", payload)
    update_manifest(
        args.out,
        kind="capacity",
        target=target.describe(),
        started=started,
        ended=ended,
        interrupted=data.interrupted,
        seed=ramp.seed,
        podbench_version=__version__,
        profile=profile,
    )
    _print_summary(payload, args.out)
    if data.interrupted:
        return 130
    return 0 if payload["slo_met_at_target"] else 1  # a gate for CI: the rate cannot meet the SLO


def _run_runner(runner: StepRunner) -> RunData:
    try:
        return asyncio.run(runner.run())
    except KeyboardInterrupt:
        runner.data.interrupted = True
        return runner.data


def _print_summary(payload: dict[str, Any], out: Path) -> None:
    knee = payload["knee_rps"]
    cap = payload["max_sustainable_rps"]
    model = payload["model"]
    lines = [
        f"knee: {knee if knee is not None else 'none (no step met ' + payload['slo']['expression'] + ')'} jobs/s "
        f"meeting {payload['slo']['expression']} with a stable queue",
        f"max sustainable throughput: {cap} jobs/s{'' if payload['saturated'] else ' (never saturated: a lower bound)'}",
    ]
    if model.get("capacity_rps") is not None:
        lines.append(
            f"model (M/M/c, {model['inputs']['workers']} workers, E[S] {model['inputs']['mean_execution_ms']} ms): "
            f"capacity {model['capacity_rps']} jobs/s, knee {model['knee_rps']} jobs/s"
        )
    llm = payload.get("llm") or {}
    if llm.get("recommendation"):
        lines.append(f"LLM: {llm['recommendation']['statement']}")
    if payload["recommendation"]:
        lines.append(
            f"for {payload['target_rps']} jobs/s: workersMin {payload['recommended_workers_min']}, "
            f"workersMax {payload['recommended_workers_max']} ({payload['recommendation']['reason']})"
        )
    target, slo = payload["target_rps"], payload["slo"]["expression"]
    if payload["slo_met_at_target"]:
        lines.append(f"{slo} met at {target} jobs/s")
    else:
        at = f"at {target} jobs/s" if target is not None else "at any rate offered"
        lines.append(f"{slo} NOT met {at} (knee {knee}): exit 1")
    lines.append(f"wrote {out / 'capacity.json'}")
    for line in lines:
        print(line)
