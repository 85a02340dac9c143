"""`podbench demo`: the main job, end to end, on the embedded emulator.

Runs the conformance suite, a short mixed load, a rate-limit discovery of one cheap operation and
the report, each as its own `podbench` subprocess (each boots and stops its own emulator), and
prints one verdict line at the end.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from podbench.errors import UsageError
from podbench.load_profile import parse_duration

HELP = "run the whole job on the embedded emulator: conformance, load, limits, report"


@dataclass(frozen=True)
class Step:
    name: str
    argv: list[str]
    gate: bool
    """Whether a non-zero exit of this step (other than 1, a finding) stops the demo."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="result folder (default results/demo-<time>)")
    parser.add_argument("--duration", default="30s", help="length of the mixed load (default 30s)")
    parser.add_argument("--limits-operation", default="cancel", help="operation whose limit is measured")


def demo_steps(out: Path, duration: str, limits_operation: str) -> list[Step]:
    dir_ = str(out)
    return [
        Step("conformance", ["conform", "--out", dir_], gate=True),
        Step(
            "load (mixed profile)",
            ["load", "--profile", "mixed", "--duration", duration, "--out", dir_],
            gate=True,
        ),
        Step(
            f"rate-limit discovery ({limits_operation})",
            ["limits", "--operation", limits_operation, "--out", dir_],
            gate=True,
        ),
        Step("report", ["report", dir_], gate=True),
    ]


def _check(args: argparse.Namespace) -> None:
    """Refuse bad flags before the first step runs, not minutes later when a step reads them."""
    from discovery import operation

    parse_duration(args.duration, "--duration")
    try:
        operation(args.limits_operation)
    except ValueError as exc:
        raise UsageError(f"--limits-operation: {exc}") from None


def run(args: argparse.Namespace) -> int:
    _check(args)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out: Path = args.out or Path("results") / f"demo-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    steps = demo_steps(out, args.duration, args.limits_operation)
    started = time.monotonic()
    codes: dict[str, int] = {}
    for index, step in enumerate(steps, start=1):
        print(
            f"\n== [{index}/{len(steps)}] {step.name}  (elapsed {time.monotonic() - started:.0f}s)",
            flush=True,
        )
        code = _run_step(step, index, len(steps), started)
        codes[step.name] = code
        if code not in (0, 1) and step.gate:
            print(
                f"podbench demo: step '{step.name}' failed with exit code {code}; stopping", file=sys.stderr
            )
            return code
    elapsed = time.monotonic() - started
    findings = [name for name, code in codes.items() if code == 1]
    verdict = "PASS" if not findings else "FINDINGS in " + ", ".join(findings)
    print(f"\nverdict: {verdict}  ({elapsed:.0f}s)  report: {out / 'report.html'}")
    return 0 if not findings else 1


def _run_step(step: Step, index: int, total: int, started: float) -> int:
    cmd = [sys.executable, "-P", "-m", "podbench", *step.argv]
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            elapsed = time.monotonic() - started
            print(f"  [{index}/{total} {elapsed:4.0f}s] {line.rstrip()}", flush=True)
        return proc.wait()
