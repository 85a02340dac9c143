"""The steps of `podbench verify` (commands/verify.py), each a `python -m podbench ...` child, and
one exit code for CI.

Each step runs as a subprocess (Locust gevent-patches whatever imports it; a child also keeps one
step's crash from hiding the others' results). The embedded emulator is started by each step
itself: conformance needs its own manual-clock emulator, and load applies its profile's
`[emulator]` settings, so one shared emulator would serve neither correctly.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_USAGE = 2


@dataclass
class StepOutcome:
    name: str
    argv: list[str]
    exit_code: int
    seconds: float
    verdict: str
    """pass | fail | error | skipped"""
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "step": self.name,
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 2),
            "verdict": self.verdict,
            "detail": self.detail,
            "command": _printable(self.argv),
        }


@dataclass
class VerifyRun:
    out: Path
    steps: list[StepOutcome] = field(default_factory=list)

    def exit_code(self) -> int:
        """2 when a step could not run (usage, unreachable), else 1 when any step failed, else 0."""
        if any(s.verdict == "error" for s in self.steps):
            return EXIT_USAGE
        if any(s.verdict == "fail" for s in self.steps):
            return EXIT_FAIL
        return EXIT_PASS

    def as_json(self) -> dict[str, Any]:
        code = self.exit_code()
        return {
            "verdict": {0: "pass", 1: "fail", 2: "error"}[code],
            "exit_code": code,
            "steps": [s.as_json() for s in self.steps],
        }


def podbench_argv(command: str, *args: str) -> list[str]:
    return [sys.executable, "-P", "-m", "podbench", command, *args]


def run_step(
    name: str, argv: Sequence[str], env: Mapping[str, str], *, timeout_s: float
) -> tuple[int, float]:
    """Run one child with inherited stdout/stderr (its own progress shows live); bounded in time."""
    started = time.perf_counter()
    proc = subprocess.Popen(list(argv), env=dict(env))
    try:
        code = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        print(f"podbench verify: {name} did not finish within {timeout_s:.0f} s; stopped it", file=sys.stderr)
        code = EXIT_USAGE
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait(timeout=15)
        raise
    return code, time.perf_counter() - started


def conformance_detail(out: Path) -> tuple[str, bool]:
    """One line from DIR/conformance.json, and whether the file was written at all."""
    try:
        summary = json.loads((out / "conformance.json").read_text())["summary"]
    except (OSError, ValueError, KeyError, TypeError):
        return "no conformance.json written", False
    parts = [
        f"{summary.get(k, 0)} {k}" for k in ("passed", "violated", "harness_errors", "recorded", "skipped")
    ]
    uncovered = summary.get("uncovered_claims") or []
    if uncovered:
        parts.append(f"{len(uncovered)} uncovered")
    return ", ".join(parts), True


def conformance_verdict(code: int, written: bool) -> str:
    """Exit 1 is a violated claim; exit 2 after a written result is a claim the harness could not
    check (a failed gate, not bad usage); exit 2 with nothing written means it could not run."""
    if code == 0:
        return "pass"
    if code == 1 or (code == 2 and written):
        return "fail"
    return "error"


def _printable(argv: Sequence[str]) -> str:
    shown = ["podbench" if i == 2 and a == "podbench" else a for i, a in enumerate(argv)]
    return " ".join(shown[2:] if len(shown) > 2 and shown[1] == "-m" else shown)
