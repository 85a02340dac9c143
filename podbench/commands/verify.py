"""`podbench verify`: the pre-release gate. Conformance, then load, then the comparison with a
baseline run (if given), then the report; one exit code a CI job can gate on:

    0  every claim held and every threshold was met
    1  a conformance claim was violated (or could not be checked), or a threshold was broken
    2  bad usage (arguments, profile, thresholds file, baseline folder) or the target unreachable
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import requests

from podbench.errors import TargetUnreachable, UsageError
from podbench.load_profile import load_plan_cost, load_profile, parse_duration, refuse_destructive
from podbench.target import Target, add_target_arguments, real_target_from_args
from podbench.verify_steps import (
    EXIT_USAGE,
    StepOutcome,
    VerifyRun,
    conformance_detail,
    conformance_verdict,
    podbench_argv,
    run_step,
)

HELP = "pre-release gate: conformance, load, comparison with a baseline, report; exit 0 pass, 1 fail, 2 usage"
DEFAULT_STEP_TIMEOUT_S = 3600.0


def configure(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("--profile", required=True, help="load profile NAME under profiles/ or a TOML FILE")
    parser.add_argument(
        "--thresholds", required=True, type=Path, help="thresholds TOML (see reports/README.md)"
    )
    parser.add_argument("--baseline", type=Path, help="result folder of an earlier run to compare against")
    parser.add_argument(
        "--out", required=True, type=Path, help="result folder for every step and report.html"
    )
    parser.add_argument("--duration", help="override the load profile's length (e.g. 30s)")
    parser.add_argument(
        "--skip-conformance", action="store_true", help="run only load, comparison and report"
    )
    parser.add_argument(
        "--conform-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for `podbench conform` (repeatable)",
    )
    parser.add_argument(
        "--load-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for `podbench load`, e.g. --load-arg=--rate-scale=0.5 (repeatable)",
    )
    parser.add_argument(
        "--allow-destructive",
        action="store_true",
        help="against a real target, let conform and load purge its queue (passed to both)",
    )
    worker = parser.add_argument_group(
        "your worker file, before it is deployed (runs it behind the embedded emulator)"
    )
    worker.add_argument(
        "--worker",
        metavar="PATH",
        help="an unmodified RunPod worker file: conformance with its test_input.json, its "
        ".runpod/tests.json, a load with its inputs",
    )
    worker.add_argument("--worker-python", metavar="PYTHON", help="interpreter of the worker's environment")
    worker.add_argument(
        "--input", type=Path, metavar="FILE", help="sample job (default: test_input.json beside the worker)"
    )
    worker.add_argument(
        "--inputs",
        type=Path,
        metavar="FILE",
        help="the load's job inputs: .json or .jsonl, sampled per job (default: the sample job)",
    )
    parser.add_argument(
        "--step-timeout",
        type=float,
        default=DEFAULT_STEP_TIMEOUT_S,
        metavar="SECONDS",
        help=f"stop a step that runs longer (default {DEFAULT_STEP_TIMEOUT_S:.0f})",
    )


def run(args: argparse.Namespace) -> int:
    if args.step_timeout <= 0:
        raise UsageError("--step-timeout must be positive")
    if args.worker:
        from podbench.commands.verify_worker import run as run_with_worker

        return run_with_worker(args)
    if args.input or args.inputs or args.worker_python:
        raise UsageError("--input, --inputs and --worker-python go with --worker PATH")
    thresholds = _check_thresholds(args.thresholds)
    baseline = _check_baseline(args.baseline)
    if args.step_timeout <= 0:
        raise UsageError("--step-timeout must be positive")
    real = real_target_from_args(args, os.environ)
    target_args = (
        []
        if real is None
        else [
            "--target-url",
            real.base_url,
            "--endpoint-id",
            real.endpoint_id,
            "--api-key-env",
            real.api_key_env,
            *(["--allow-destructive"] if args.allow_destructive else []),
        ]
    )
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create --out {str(args.out)!r}: {exc.strerror}") from exc
    load_args = [
        "--profile",
        args.profile,
        *(["--duration", args.duration] if args.duration else []),
        *args.load_arg,
    ]
    _plan_and_announce(
        args.profile, args.duration, real, args.allow_destructive or "--allow-destructive" in args.load_arg
    )
    if real is not None:
        _check_reachable(real)

    env = dict(os.environ)
    verify = VerifyRun(args.out)
    out = str(args.out)
    if not args.skip_conformance:
        argv = podbench_argv("conform", *target_args, "--out", out, *args.conform_arg)
        code, seconds = _announced(verify, "conformance", argv, env, args.step_timeout)
        detail, written = conformance_detail(args.out)
        verify.steps.append(
            StepOutcome("conformance", argv, code, seconds, conformance_verdict(code, written), detail)
        )
    argv = podbench_argv("load", *load_args, *target_args, "--out", out)
    code, seconds = _announced(verify, "load", argv, env, args.step_timeout)
    verify.steps.append(StepOutcome("load", argv, code, seconds, _verdict(code), _load_detail(args.out)))
    finish_steps(verify, args.out, baseline, thresholds, env, args.step_timeout)
    (args.out / "verify.json").write_text(json.dumps(verify.as_json(), indent=2) + "\n")
    _print_verdict(verify)
    return verify.exit_code()


def _check_thresholds(path: Path) -> Path:
    """Parsed now, by the reports room's own parser, so a typo stops the gate before any traffic."""
    from reports.errors import ReportInputError
    from reports.thresholds import load_thresholds

    if not path.is_file():
        raise UsageError(f"thresholds file {str(path)!r} not found")
    try:
        load_thresholds(path)
    except ReportInputError as exc:
        raise UsageError(str(exc)) from exc
    return path


def _check_baseline(path: Path | None) -> Path | None:
    if path is None:
        return None
    if not path.is_dir():
        raise UsageError(f"baseline folder {str(path)!r} not found")
    if not (path / "summary.json").is_file():
        raise UsageError(f"baseline folder {str(path)!r} holds no load run (summary.json)")
    return path


def _plan_and_announce(profile: str, duration: str | None, real: Target | None, destructive: bool) -> None:
    """The load suite's own profile parser checks the profile now (a bad one is exit 2 before any
    traffic), and its plan gives the run's cost."""
    duration_s = parse_duration(duration, "--duration") if duration else None
    plan = load_profile(profile, duration=duration_s)
    if real is not None:
        refuse_destructive(plan, allowed=destructive)  # before conformance, not after it
    sends, seconds = load_plan_cost(plan)
    where = "the embedded emulator" if real is None else f"{real.base_url} (endpoint {real.endpoint_id})"
    print(
        f"podbench verify: load plans about {sends} requests over {seconds:.0f} s against {where}; "
        "job flows add status polls, and conformance prints its own count",
        file=sys.stderr,
        flush=True,
    )


def _check_reachable(target: Target) -> None:
    url = f"{target.base_url}/{target.endpoint_id}/health"
    try:
        resp = requests.get(url, headers={"Authorization": f"Bearer {target.api_key()}"}, timeout=10)
    except requests.RequestException as exc:
        raise TargetUnreachable(f"target unreachable: {url}: {type(exc).__name__}") from exc
    if resp.status_code in (401, 403, 404) or resp.status_code >= 500:
        raise TargetUnreachable(f"target answered HTTP {resp.status_code} at {url}")


def finish_steps(
    verify: VerifyRun,
    out: Path,
    baseline: Path | None,
    thresholds: Path,
    env: dict[str, str],
    timeout_s: float,
) -> None:
    """The last steps of every verification: the comparison with a baseline (when given), then the
    report, both judged against the thresholds."""
    if baseline is not None:
        argv = podbench_argv(
            "compare",
            str(baseline),
            str(out),
            "--thresholds",
            str(thresholds),
            "--out",
            str(out / "comparison"),
        )
        code, seconds = _announced(verify, "comparison", argv, env, timeout_s)
        detail = "thresholds broken against the baseline" if code == 1 else ""
        verify.steps.append(StepOutcome("comparison", argv, code, seconds, _verdict(code), detail))
    argv = podbench_argv("report", str(out), "--thresholds", str(thresholds))
    code, seconds = _announced(verify, "report", argv, env, timeout_s)
    detail = "thresholds broken" if code == 1 else str(out / "report.html")
    verify.steps.append(StepOutcome("report", argv, code, seconds, _verdict(code), detail))


def _announced(
    verify: VerifyRun, name: str, argv: list[str], env: dict[str, str], timeout_s: float
) -> tuple[int, float]:
    number = len(verify.steps) + 1
    print(f"== podbench verify: step {number}: {name}", file=sys.stderr, flush=True)
    return run_step(name, argv, env, timeout_s=timeout_s)


def _verdict(code: int) -> str:
    return {0: "pass", 1: "fail"}.get(code, "error")


def _load_detail(out: Path) -> str:
    try:
        total = json.loads((out / "summary.json").read_text())["total"]
    except (OSError, ValueError, KeyError, TypeError):
        return "no summary.json written"
    return f"{total.get('requests', 0)} requests, {total.get('failures', 0)} failures, {total.get('rate_limited', 0)} rate-limited"


def _print_verdict(verify: VerifyRun) -> None:
    for step in verify.steps:
        print(
            f"  {step.name:<12} {step.verdict.upper():<5} exit {step.exit_code}  {step.seconds:6.1f} s  {step.detail}"
        )
    code = verify.exit_code()
    words = {0: "PASS", 1: "FAIL", 2: "ERROR"}[code]
    print(
        f"verify: {words} (exit {code}); report: {verify.out / 'report.html'}; steps: {verify.out / 'verify.json'}"
    )
    if code == EXIT_USAGE:
        print("podbench verify: a step could not run (see its error above)", file=sys.stderr)
