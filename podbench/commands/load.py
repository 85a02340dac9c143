"""`podbench load`: hold each operation at a stated rate against an endpoint and record it all."""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests

from contract.results import machine, utc_iso, versions
from locustfiles._plan import PLAN_ENV
from podbench import __version__
from podbench.embedded import embedded_emulator, save_worker_logs
from podbench.errors import TargetUnreachable, UsageError
from podbench.load_profile import load_plan_cost, load_profile, parse_duration, refuse_destructive
from podbench.load_runner import LOOPBACK, LocustRun, free_port, locust_command, mark_interrupted
from podbench.load_trace import apply_trace, read_replay_trace, write_replay_trace
from podbench.target import Target, add_target_arguments, real_target_from_args
from podbench.worker_checks import worker_facts, write_json
from podbench.worker_file import WorkerFile, add_worker_arguments, read_job_inputs

HELP = "drive each operation at a configured rate (open model, Locust) and write a result folder"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", required=True, help="profile name under profiles/ or a TOML file")
    add_target_arguments(parser)
    parser.add_argument(
        "--duration", help="override the profile's length (e.g. 20s, 5m); stages keep proportions"
    )
    parser.add_argument("--rate-scale", type=float, default=1.0, help="multiply every rate (default 1.0)")
    parser.add_argument(
        "--processes", type=int, default=1, help="generator processes on this machine (default 1)"
    )
    parser.add_argument("--seed", type=int, help="seed for Poisson arrivals (default: the profile's)")
    parser.add_argument("--out", required=True, type=Path, help="result folder (created if missing)")
    parser.add_argument(
        "--emulator-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for the embedded emulator, e.g. --emulator-arg=--rate-limits=off (repeatable)",
    )
    parser.add_argument(
        "--allow-destructive",
        action="store_true",
        help="let a plan with a purge_queue flow empty a real target's queue (other users' jobs too)",
    )
    add_worker_arguments(parser)
    parser.add_argument(
        "--inputs",
        type=Path,
        metavar="FILE",
        help='job inputs instead of the profile\'s: {"input": {...}} (.json) or one per line (.jsonl, '
        "sampled per job); with --worker default: its test_input.json",
    )
    parser.add_argument(
        "--trace",
        type=Path,
        help="replay this trace's arrivals (CSV or JSONL: t, optional input and flow) instead of the profile's rates",
    )
    parser.add_argument(
        "--trace-speed",
        type=float,
        default=1.0,
        help="compress the trace's time by this factor (2 = twice as fast; job inputs unchanged)",
    )
    parser.add_argument(
        "--web",
        action="store_true",
        help="serve Locust's web UI (charts, stats, podbench rates, stop button) on 127.0.0.1 during the run",
    )
    parser.add_argument(
        "--web-port", type=int, help="port of the --web UI (default: a free port; the URL is printed)"
    )
    parser.add_argument(
        "--plan-only",
        action="store_true",
        help="write plan.json and print the locust master/worker commands instead of running",
    )


def _now_iso() -> str:
    return utc_iso()


def _versions() -> dict[str, str]:
    return {"podbench": __version__, **versions("locust", "aiohttp", "hdrhistogram")}


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _plan_for(args: argparse.Namespace) -> dict[str, Any]:
    if args.rate_scale <= 0:
        raise UsageError("--rate-scale must be positive")
    if args.processes < 1:
        raise UsageError("--processes must be at least 1")
    duration = parse_duration(args.duration, "--duration") if args.duration else None
    if args.trace is None:
        return load_profile(args.profile, duration=duration, rate_scale=args.rate_scale, seed=args.seed)
    if args.duration or args.rate_scale != 1.0:
        raise UsageError(
            "--trace gives the arrivals: use --trace-speed instead of --duration or --rate-scale"
        )
    if args.processes != 1:
        raise UsageError("--trace replays in one generator process (--processes 1)")
    trace = read_replay_trace(args.trace, args.trace_speed)
    plan = load_profile(args.profile, seed=args.seed, extra_flows=tuple(trace.flows()))
    return apply_trace(plan, trace, args.trace_speed)


def _bind(plan: dict[str, Any], target: Target, out: Path) -> dict[str, Any]:
    bound = {k: v for k, v in plan.items() if not k.startswith("_")}
    bound.update(
        base_url=target.base_url,
        endpoint_id=target.endpoint_id,
        api_key_env=target.api_key_env,
        target=target.describe(),
        out_dir=str(out.resolve()),
    )
    return bound


def _patch_emulator(admin_url: str, endpoint_id: str, admin_key: str, patch: dict[str, Any]) -> None:
    if not patch:
        return
    try:
        resp = requests.patch(
            f"{admin_url}/endpoints/{endpoint_id}",
            json=patch,
            headers={"Authorization": f"Bearer {admin_key}"},
            timeout=10,
        )
    except requests.RequestException as exc:
        raise TargetUnreachable(f"cannot configure the embedded emulator: {exc}") from None
    if resp.status_code != 200:
        raise UsageError(f"the profile's [emulator] table was refused: {resp.text.strip()[:200]}")
    # A PATCH keeps the workers the emulator started with (they idle out later): a reset before
    # any traffic starts the run with exactly the profile's workers_min, warm, and no others, as
    # an endpoint with these settings would be (and as `podbench simulate` starts).
    try:
        resp = requests.post(
            f"{admin_url}/reset", headers={"Authorization": f"Bearer {admin_key}"}, timeout=10
        )
    except requests.RequestException as exc:
        raise TargetUnreachable(f"cannot reset the embedded emulator: {exc}") from None
    if resp.status_code != 200:
        raise TargetUnreachable(f"the embedded emulator refused a reset: {resp.text.strip()[:200]}")


def _print_distributed(plan_path: Path, bound: dict[str, Any], processes: int) -> None:
    cmd = locust_command(
        bound, host=bound["base_url"], processes=1, csv_prefix=Path(bound["out_dir"]) / "locust"
    )
    master = [*cmd[2:], "--master", "--expect-workers", str(processes)]
    print(f"plan written to {plan_path}; on every machine set {PLAN_ENV}={plan_path} (copy the file) and")
    print(f"the key variable {bound['api_key_env']}. Master (writes results to {bound['out_dir']}):")
    print("  locust " + " ".join(master[1:]))
    print("Each worker (any machine, as many as --expect-workers):")
    print(f"  locust -f {cmd[4]} --worker --master-host MASTER_HOST")


def _report(out: Path) -> None:
    path = out / "summary.json"
    if not path.exists():
        return
    summary = json.loads(path.read_text(encoding="utf-8"))
    print("scheduled sends (offered vs achieved):")
    for op, row in summary["operations"].items():
        print(
            f"  {op:18} offered {row['offered_rps']:8.2f}/s achieved {row['achieved_rps']:8.2f}/s "
            f"p99 {row['p99_ms']} ms  429 {row['rate_limited']}  errors {row['failures']}  "
            f"timeouts {row['timeouts']}  late {row['late_sends']}  dropped {row['dropped_sends']}"
        )
    follow_ups = summary.get("follow_ups") or {}
    if follow_ups:
        print("follow-up calls of job scenarios (polls, stream reads; not scheduled):")
    for name, row in follow_ups.items():
        print(
            f"  {name:18} calls   {row['achieved_rps']:8.2f}/s "
            f"p99 {row['p99_ms']} ms  429 {row['rate_limited']}  errors {row['failures']}  "
            f"timeouts {row['timeouts']}"
        )
    llm = summary.get("llm")
    if isinstance(llm, dict):
        print("LLM requests in tokens (p50 / p99 ms):")
        for name, block in (llm.get("flows") or {}).items():
            print(
                f"  {name:18} TTFT {_p(block, 'ttft_ms')}  TPOT {_p(block, 'tpot_ms')}  "
                f"ITL {_p(block, 'itl_ms')}  {block['output_tokens_per_s']:.1f} tokens/s  "
                f"goodput {block['goodput_rps']:.2f}/{block['requests_per_s']:.2f} req/s  failed {block['failed']}"
            )
    for warning in summary.get("generator", {}).get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    print(f"results in {out}")


def _p(block: dict[str, Any], metric: str) -> str:
    values = block.get(metric) or {}
    return "/".join("-" if values.get(k) is None else f"{values[k]:.1f}" for k in ("p50", "p99"))


def run(args: argparse.Namespace) -> int:
    plan = _plan_for(args)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if plan.get("_trace") is not None:
        plan["trace"]["file"] = str(write_replay_trace(plan, out))
    real = real_target_from_args(args, os.environ)
    worker = WorkerFile.from_args(args.worker, args.worker_python) if args.worker else None
    if worker is not None and real is not None:
        raise UsageError("--worker runs your worker behind the embedded emulator: drop --target-url")
    inputs_file = args.inputs or (worker.sample_file() if worker is not None else None)
    job_inputs = read_job_inputs(inputs_file) if inputs_file is not None else []
    if real is not None:
        refuse_destructive(plan, allowed=args.allow_destructive)
        _announce_cost(plan, real)
    if args.plan_only and real is None:
        raise UsageError("--plan-only needs a real target (--target-url and --endpoint-id)")
    web_port = _web_port(args)
    with ExitStack() as stack:
        if real is not None:
            target, env = real, dict(os.environ)
        else:
            emu = stack.enter_context(
                embedded_emulator(
                    extra_args=[
                        *plan["_emulator_args"],
                        *args.emulator_arg,
                        *(worker.emulator_args() if worker else []),
                    ],
                    api_key_env=args.api_key_env,
                    log_path=out / "emulator.log",
                )
            )
            assert emu.target.admin_url is not None
            _patch_emulator(
                emu.target.admin_url, emu.target.endpoint_id, emu.admin_key, plan["_emulator_patch"]
            )
            target, env = emu.target, emu.child_env()
        bound = _bind(plan, target, out)
        if job_inputs:
            bound["job_inputs"] = job_inputs
            bound["notes"] = [
                *bound["notes"],
                f"job inputs from {inputs_file} ({len(job_inputs)}, sampled per job)",
            ]
        plan_path = (out / "plan.json").resolve()
        _write_json(plan_path, bound)
        if args.plan_only:
            _print_distributed(plan_path, bound, args.processes)
            return 0
        # manifest.json is written once, by the load suite at the end of the run (or below, when the
        # run was cut short before it could)
        started = _now_iso()
        for note in bound["notes"]:
            print(f"profile {bound['profile']}: {note}", file=sys.stderr)
        env[PLAN_ENV] = str(plan_path)
        cmd = locust_command(
            bound,
            host=target.base_url,
            processes=args.processes,
            csv_prefix=out / "locust",
            web_port=web_port,
        )
        if web_port is not None:
            print(
                f"podbench load: live view (Locust web UI) at http://{LOOPBACK}:{web_port}/ while the run lasts",
                flush=True,
            )
        locust = LocustRun(cmd, env, out / "locust.log", progress_csv=out / "locust_stats_history.csv")
        code = locust.run(timeout_s=bound["duration_s"] + 120)
        if worker is not None and real is None:
            write_json(out / "worker.json", worker_facts(emu, worker))
            save_worker_logs(emu, out)
    if locust.interrupted or not (out / "summary.json").exists():
        mark_interrupted(
            out,
            _now_iso(),
            "stopped by a signal (Ctrl-C or SIGTERM)" if locust.interrupted else None,
            known=_manifest(bound, started),
        )
    _report(out)
    if locust.interrupted:
        print("podbench load: interrupted; partial results written", file=sys.stderr)
        return 130
    if not (out / "summary.json").exists():
        raise TargetUnreachable(
            f"locust exited with code {code} and wrote no summary; see {out / 'locust.log'}"
        )
    reason = _stopped_early(out)
    if reason:
        print(f"podbench load: run stopped early, {reason}; partial results written", file=sys.stderr)
        return 1
    return 0


def _web_port(args: argparse.Namespace) -> int | None:
    """The live view's port: --web-port, else a free one; None without --web."""
    if args.web_port is not None and not args.web:
        raise UsageError("--web-port needs --web")
    if not args.web:
        return None
    if args.plan_only:
        raise UsageError(
            "--web serves a local run's UI; with --plan-only start the master without --headless"
        )
    if args.web_port is None:
        return free_port()
    if not 1 <= args.web_port <= 65535:
        raise UsageError("--web-port must be between 1 and 65535")
    return int(args.web_port)


def _stopped_early(out: Path) -> str | None:
    """The reason the run stopped itself (the target went away), as the load users wrote it."""
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    reason = summary.get("interrupted_reason")
    return str(reason) if summary.get("interrupted") and reason else None


def _announce_cost(plan: dict[str, Any], real: Target) -> None:
    """A real endpoint bills for every job: say what will be sent before anything is."""
    sends, seconds = load_plan_cost(plan)
    print(
        f"podbench load: about {sends} requests planned over {seconds:.0f} s against {real.base_url} "
        f"(endpoint {real.endpoint_id}); job flows add status polls",
        file=sys.stderr,
        flush=True,
    )


def _manifest(bound: dict[str, Any], started: str) -> dict[str, Any]:
    """What `podbench load` knows for the manifest, should the load suite not have written it."""
    return {
        "podbench_version": __version__,
        "target": bound["target"],
        "profile": bound["profile"],
        "started": started,
        "machine": machine(),
        "versions": _versions(),
        "seed": bound["seed"],
    }
