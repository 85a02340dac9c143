"""`podbench verify --worker PATH`: the pre-release check of a worker file before it is deployed.

Each step runs the worker as real worker processes behind an embedded emulator of its own (so one
step's leftover jobs never weigh on the next): conformance in foreign-worker mode with the
worker's test_input.json (`podbench conform --worker`), each RunPod Hub test of
`.runpod/tests.json` as a job that must complete within its timeout, a load with the profile's
`[emulator]` settings whose job inputs come from test_input.json or --inputs, sampled
(`podbench load --worker`, which writes worker.json: SDK version, cold starts), then the comparison
(with --baseline) and the report.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from podbench.commands.verify import (
    _announced,
    _check_baseline,
    _check_thresholds,
    _load_detail,
    _plan_and_announce,
    _print_verdict,
    _verdict,
    finish_steps,
)
from podbench.embedded import EmbeddedEmulator, embedded_emulator
from podbench.errors import UsageError
from podbench.load_profile import parse_duration
from podbench.target import real_target_from_args
from podbench.verify_steps import (
    StepOutcome,
    VerifyRun,
    conformance_detail,
    conformance_verdict,
    podbench_argv,
)
from podbench.worker_checks import run_hub_tests, write_json
from podbench.worker_file import HubTest, WorkerFile, read_job_inputs


def run(args: argparse.Namespace) -> int:
    worker = WorkerFile.from_args(args.worker, args.worker_python)
    if real_target_from_args(args, os.environ) is not None:
        raise UsageError("--worker runs your worker behind the embedded emulator: drop --target-url")
    thresholds = _check_thresholds(args.thresholds)
    baseline = _check_baseline(args.baseline)
    sample = worker.sample_file(args.input)
    inputs = args.inputs or sample
    read_job_inputs(inputs)
    hub_file, hub_tests = worker.hub_tests()
    if args.duration:
        parse_duration(args.duration, "--duration")
    _plan_and_announce(args.profile, args.duration, None, False)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create --out {str(args.out)!r}: {exc.strerror}") from exc
    out = str(args.out)
    verify = VerifyRun(args.out)
    env = dict(os.environ)
    worker_args = [
        "--worker",
        str(worker.path),
        *(["--worker-python", worker.python] if worker.python else []),
    ]
    if not args.skip_conformance:
        argv = podbench_argv("conform", *worker_args, "--input", str(sample), "--out", out, *args.conform_arg)
        code, seconds = _announced(verify, "conformance", argv, env, args.step_timeout)
        detail, written = conformance_detail(args.out)
        verify.steps.append(
            StepOutcome("conformance", argv, code, seconds, conformance_verdict(code, written), detail)
        )
    with embedded_emulator(
        extra_args=worker.emulator_args(), log_path=args.out / "hub-tests-emulator.log"
    ) as emu:
        verify.steps.append(_hub_step(verify, emu, hub_tests, hub_file, args.out))
    argv = podbench_argv(
        "load",
        "--profile",
        args.profile,
        *(["--duration", args.duration] if args.duration else []),
        *worker_args,
        "--inputs",
        str(inputs),
        "--out",
        out,
        *args.load_arg,
    )
    code, seconds = _announced(verify, "load", argv, env, args.step_timeout)
    verify.steps.append(StepOutcome("load", argv, code, seconds, _verdict(code), _load_detail(args.out)))
    facts = _worker_facts(args.out, worker)
    finish_steps(verify, args.out, baseline, thresholds, env, args.step_timeout)
    document = {**verify.as_json(), "worker": facts}
    (args.out / "verify.json").write_text(json.dumps(document, indent=2) + "\n")
    cold = facts["cold_start_ms"]
    print(
        f"worker {facts['worker_file']} (runpod {facts['runpod_version']}): "
        f"cold starts {', '.join(f'{ms:.0f}' for ms in cold) or 'none measured'} ms"
    )
    _print_verdict(verify)
    return verify.exit_code()


def _hub_step(
    verify: VerifyRun, emu: EmbeddedEmulator, tests: list[HubTest], source: Path | None, out: Path
) -> StepOutcome:
    number = len(verify.steps) + 1
    print(
        f"== podbench verify: step {number}: hub tests ({len(tests)} in {source})",
        file=sys.stderr,
        flush=True,
    )
    started = time.perf_counter()
    result = run_hub_tests(emu, tests, source)
    write_json(out / "hub_tests.json", result)
    seconds = time.perf_counter() - started
    failed = [t["name"] for t in result["tests"] if not t["passed"]]
    if not tests:
        return StepOutcome("hub tests", [], 0, seconds, "skipped", "no .runpod/tests.json beside the worker")
    detail = f"{result['passed']} of {len(tests)} completed within their timeout"
    if failed:
        detail += f"; failed: {', '.join(failed)}"
    return StepOutcome("hub tests", [], 1 if failed else 0, seconds, "fail" if failed else "pass", detail)


def _worker_facts(out: Path, worker: WorkerFile) -> dict[str, Any]:
    """What the load step's emulator saw of the worker (worker.json), or the file alone."""
    try:
        facts: dict[str, Any] = json.loads((out / "worker.json").read_text())
        return facts
    except (OSError, ValueError):
        return {"worker_file": str(worker.path), "runpod_version": None, "cold_start_ms": []}
