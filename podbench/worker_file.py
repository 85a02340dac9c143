"""A user's worker file under test (`--worker PATH`): where its job inputs and its RunPod Hub tests
are, and the flags that run it behind the embedded emulator.

Worker repositories ship `test_input.json` (`{"input": {...}}`) beside the handler and RunPod Hub's
`.runpod/tests.json` (`{"tests": [{"name", "input", "timeout"}]}`, timeout in ms) at the repository
root; both are looked for beside the file and up to two folders above it.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podbench.errors import UsageError

SAMPLE_NAME = "test_input.json"
HUB_TESTS = Path(".runpod") / "tests.json"
LOOK_UP = 2
"""Folders above the worker file searched for test_input.json and .runpod/tests.json."""


@dataclass(frozen=True)
class HubTest:
    name: str
    input: Any
    timeout_ms: int


@dataclass(frozen=True)
class WorkerFile:
    path: Path
    python: str | None = None

    @classmethod
    def from_args(cls, path: str, python: str | None = None) -> WorkerFile:
        found = Path(path)
        if not found.is_file():
            raise UsageError(f"--worker {path}: file not found")
        if found.suffix != ".py":
            raise UsageError(f"--worker {path}: expected a Python file (the worker's handler)")
        return cls(found.resolve(), python)

    def emulator_args(self) -> list[str]:
        args = ["--worker", str(self.path)]
        return args + (["--worker-python", self.python] if self.python else [])

    def beside(self, relative: Path | str) -> Path | None:
        folder = self.path.parent
        for _ in range(LOOK_UP + 1):
            candidate = folder / relative
            if candidate.is_file():
                return candidate
            folder = folder.parent
        return None

    def sample_file(self, given: Path | None = None) -> Path:
        found = given or self.beside(SAMPLE_NAME)
        if found is None:
            raise UsageError(
                f"no {SAMPLE_NAME} beside {self.path.name}: give a sample job with --input FILE "
                '({"input": {...}})'
            )
        read_job_inputs(found)  # checked now: a bad file is one line before any traffic
        return found

    def hub_tests(self) -> tuple[Path | None, list[HubTest]]:
        path = self.beside(HUB_TESTS)
        return (path, read_hub_tests(path)) if path is not None else (None, [])


def add_worker_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--worker",
        metavar="PATH",
        help="your unmodified RunPod worker file, run as real worker processes behind the embedded emulator",
    )
    parser.add_argument(
        "--worker-python",
        metavar="PYTHON",
        help="interpreter of the worker's own environment (default: this one)",
    )


def read_job_inputs(path: Path) -> list[Any]:
    """Job inputs from a `{"input": {...}}` file, or one such object per line of a .jsonl file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read job inputs {path}: {exc}") from None
    lines = [line for line in text.splitlines() if line.strip()] if path.suffix == ".jsonl" else [text]
    inputs = []
    for number, line in enumerate(lines, 1):
        where = f"{path}:{number}" if path.suffix == ".jsonl" else str(path)
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"job inputs {where}: not JSON ({exc.msg})") from None
        if not isinstance(data, dict) or "input" not in data:
            raise UsageError(f'job inputs {where}: expected {{"input": {{...}}}}')
        inputs.append(data["input"])
    if not inputs:
        raise UsageError(f"job inputs {path}: no input in the file")
    return inputs


def read_hub_tests(path: Path) -> list[HubTest]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not readable JSON ({exc})") from None
    tests = data.get("tests") if isinstance(data, dict) else None
    if not isinstance(tests, list):
        raise UsageError(f'{path}: expected {{"tests": [{{"name", "input", "timeout"}}, ...]}}')
    found = []
    for index, test in enumerate(tests):
        if not isinstance(test, dict) or "input" not in test:
            raise UsageError(f"{path}: tests[{index}] needs an 'input'")
        timeout = test.get("timeout", 60_000)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise UsageError(f"{path}: tests[{index}].timeout must be a positive number of ms")
        found.append(HubTest(str(test.get("name") or f"test {index + 1}"), test["input"], int(timeout)))
    return found
