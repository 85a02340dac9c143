"""`podbench simulate`: what a trace does to latency and cost under each candidate setting.

Everything is read and checked before anything runs or is written (bad input: one line, exit 2,
no folder); `simulation.json` and `manifest.json` are then written whole (a temporary file and a
rename each).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capacity.errors import CapacityError
from capacity.slo import parse_slo
from contract import results
from contract.traces import Trace
from emulator.config import ConfigError, EndpointConfig
from emulator.simulation.billing import Pricing
from emulator.simulation.client import ClientModel, PollPolicy
from emulator.simulation.llm import LlmFlow, generation_arrivals, llm_flow
from emulator.simulation.results import Objective, mark_pareto, recommend, setting_entry, timeline
from emulator.simulation.runner import PERCENTILES, Play, run_all
from emulator.simulation.settings import base_setting, grid, read_sweep
from podbench import __version__
from podbench.errors import UsageError
from podbench.load_profile import load_profile
from podbench.simulate_calibration import Calibration, read_calibration
from podbench.trace_args import add_trace_arguments, trace_from_args

HELP = (
    "play a trace through the emulator's queue and workers on a simulated clock: latency and cost per setting"
)


def configure(parser: argparse.ArgumentParser) -> None:
    add_trace_arguments(parser, shapes=True)
    parser.add_argument(
        "--profile", required=True, help="profile NAME or TOML FILE: [emulator] settings, [pricing], polling"
    )
    parser.add_argument(
        "--sweep", type=Path, help="TOML grid over [emulator] keys, e.g. workers_max = [2, 4]"
    )
    parser.add_argument(
        "--calibrate",
        type=Path,
        metavar="DIR",
        help="take execution time, cold start and overhead from a result folder",
    )
    parser.add_argument(
        "--slo",
        help="objective the recommendation must meet: end to end, e.g. 'p95_ms<=2000', or with "
        "[emulator] llm time to first token, e.g. 'ttft_p95_ms<=1500'",
    )
    parser.add_argument("--processes", type=int, help="parallel settings (default: every core)")
    parser.add_argument(
        "--out", required=True, type=Path, help="result folder (simulation.json, manifest.json)"
    )


@dataclass(frozen=True)
class Prepared:
    trace: Trace
    settings: list[EndpointConfig]
    skipped: int
    play: Play
    pricing: Pricing | None
    objective: Objective | None
    calibration: Calibration | None
    profile: str
    generation: LlmFlow | None = None
    """An `llm` endpoint: the requests the jobs are (the profile's LLM flow and its sizes)."""


def prepare(args: argparse.Namespace) -> Prepared:
    """Read and check every input; nothing is written here."""
    if args.processes is not None and args.processes < 1:
        raise UsageError("--processes must be at least 1")
    objective = None
    if args.slo:
        ttft = args.slo.strip().startswith("ttft_")
        try:
            slo = parse_slo(args.slo.strip().removeprefix("ttft_"))
        except CapacityError as exc:
            raise UsageError(str(exc)) from None
        objective = Objective(slo.percentile, slo.limit_ms, "ttft_ms" if ttft else "end_to_end_ms")
    trace = trace_from_args(args)
    plan = load_profile(args.profile, extra_flows=tuple(trace.flows()))
    calibration = read_calibration(args.calibrate, plan) if args.calibrate else None
    try:
        base = base_setting({**plan["_emulator_patch"], **(calibration.emulator if calibration else {})})
        settings, skipped = grid(base, read_sweep(args.sweep)) if args.sweep else ([base], 0)
        pricing = Pricing.from_table(plan["_pricing"]) if plan["_has_pricing"] else None
        if pricing is not None:
            for setting in settings:
                pricing.check(setting)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    percentiles: tuple[float, ...] = PERCENTILES
    if objective is not None and objective.percentile not in percentiles:
        percentiles = (*percentiles, objective.percentile)
    flows = plan["flows"]
    generation = llm_flow(flows) if any(s.llm is not None for s in settings) else None
    if objective is not None and objective.metric == "ttft_ms" and generation is None:
        raise UsageError("a ttft_ objective needs generation requests: an [emulator] llm table")
    client = ClientModel(
        polls={
            name: PollPolicy(
                initial_s=spec["poll_initial_ms"] / 1000,
                factor=spec["poll_factor"],
                max_s=spec["poll_max_ms"] / 1000,
                job_timeout_s=spec["job_timeout_s"],
            )
            for name, spec in flows.items()
        },
        request_s=calibration.request_s if calibration and calibration.request_s is not None else 0.0,
        runsync_wait_s=(flows.get("runsync_fallback", {}).get("runsync_wait_ms") or 90_000) / 1000,
        streams=generation is not None,
    )
    # With a calibrated execution time, arrivals without an input run it (a profile's fixed
    # `sleep` would override the measured distribution).
    inputs = {
        name: ({} if calibration and calibration.execution else spec["input"]) for name, spec in flows.items()
    }
    seed = args.seed if args.seed is not None else plan["seed"]
    arrivals = trace.arrivals
    if generation is not None:  # every job is a generation request of the profile's LLM flow
        arrivals = generation_arrivals(arrivals, generation, seed)
        if generation.name in flows:
            client.polls.update({name: client.polls[generation.name] for name in trace.flows()})
    play = Play(
        arrivals=arrivals,
        duration_s=trace.duration_s,
        client=client,
        inputs=inputs,
        seed=seed,
        round_up_s=pricing.round_up_s if pricing else 1.0,
        percentiles=percentiles,
    )
    return Prepared(
        trace, settings, skipped, play, pricing, objective, calibration, plan["profile"], generation
    )


def run(args: argparse.Namespace) -> int:
    prepared = prepare(args)
    count = len(prepared.settings)
    processes = min(count, args.processes or os.cpu_count() or 1)
    print(
        f"podbench simulate: {len(prepared.trace.arrivals):,} jobs over {prepared.trace.duration_s:,.0f} s, "
        f"{count} setting(s) on {processes} process(es)",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    runs = run_all(prepared.settings, prepared.play, processes=processes, say=_progress)
    wall = time.monotonic() - started
    document = build_document(prepared, runs, wall_s=wall, processes=processes)
    _write(args.out, document, prepared.profile)
    _say(document, args.out)
    return 0


def _progress(text: str) -> None:
    print(f"podbench simulate: still running: {text}", file=sys.stderr, flush=True)


def build_document(prepared: Prepared, runs: list[Any], *, wall_s: float, processes: int) -> dict[str, Any]:
    entries = [setting_entry(r, prepared.pricing, prepared.objective) for r in runs]
    mark_pareto(entries)
    recommendation = recommend(entries, prepared.objective)
    chosen = recommendation["setting"]
    trace = prepared.trace
    return {
        "podbench_version": __version__,
        "profile": prepared.profile,
        "trace": {
            "source": trace.source,
            "jobs": len(trace.arrivals),
            "duration_s": round(trace.duration_s, 3),
            "flows": trace.flows(),
        },
        "slo": None if prepared.objective is None else prepared.objective.describe(),
        "pricing": None if prepared.pricing is None else prepared.pricing.describe(),
        "billing_rules": "docs/billing.md",
        "client": {
            "request_ms": round(prepared.play.client.request_s * 1000, 3),
            "polls": {k: vars(v) for k, v in prepared.play.client.polls.items()},
        },
        "calibration": None if prepared.calibration is None else prepared.calibration.describe(),
        "llm": None if prepared.generation is None else prepared.generation.describe(),
        "skipped_settings": prepared.skipped,
        "speed": {
            "wall_s": round(wall_s, 3),
            "cpu_s": round(sum(r.cpu_s for r in runs), 3),
            "processes": processes,
        },
        "settings": entries,
        "recommendation": recommendation,
        "timeline": None if chosen is None else timeline(runs[chosen], chosen),
    }


def _write(out: Path, document: dict[str, Any], profile: str) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create --out {str(out)!r}: {exc.strerror}") from None
    results.write_json_atomic(out / results.SIMULATION, document)
    results.update_manifest(
        out,
        "simulation",
        {"podbench_version": __version__, "profile": profile, "interrupted": False},
        defaults={"target": {"base_url": "none: simulated with the emulator's model"}},
    )


def _say(document: dict[str, Any], out: Path) -> None:
    for i, entry in enumerate(document["settings"]):
        e = entry["endpoint"]
        price = f" cost/day {entry['cost']['per_day']:.2f}" if "cost" in entry else ""
        print(
            f"#{i:<3} min {e['workers_min']} max {e['workers_max']} idle {e['idle_timeout_s']:g}s "
            f"{e['scaler']}={e['scaler_value']:g}: p95 {entry['end_to_end_ms']['p95']} ms, "
            + (f"TTFT p95 {entry['ttft_ms']['p95']} ms, " if "ttft_ms" in entry else "")
            + f"{entry['worker_seconds']['total']:.0f} worker-s{price}"
            + ("  (Pareto)" if entry["pareto"] else "")
        )
    rec = document["recommendation"]
    if rec.get("statement"):
        print(f"LLM: {rec['statement']}")
    print(
        f"recommendation: #{rec['setting']}: {rec['reason']}" if rec["setting"] is not None else rec["reason"]
    )
    print(f"results in {out}")
