"""What the suite's jobs ask for: podbench's worker contract, or a user's worker fed the user's inputs.

One probe job tells which. A worker that speaks the contract (worker/contract.py) answers
`{"output": X}` with the output X; any other answer (an echo, a validation error, an exception, no
answer in time) means a foreign worker. Then the suite runs in foreign-worker mode: every claim
that can be checked with the user's own sample input (`--input FILE`, default ./test_input.json,
`{"input": {...}}` as RunPod worker repositories ship it) runs with that input; claims that need
behaviour on demand run only when the user gives an input for it (`--fail-input`, `--slow-input`,
`--stream-input`) and are skipped otherwise, with a reason naming the flag.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance.violations import HarnessError

CONTRACT = "contract"
FOREIGN = "foreign"
DEFAULT_SAMPLE = "test_input.json"
FLAGS = {
    "sample": "--input",
    "fail": "--fail-input",
    "slow": "--slow-input",
    "stream": "--stream-input",
}
WHAT = {
    "sample": "a job that completes",
    "fail": "a job that fails",
    "slow": "a job that runs for a while (15 s or more)",
    "stream": "a job whose handler yields chunks over a few seconds",
}


def read_input_file(path: Path) -> Any:
    """The `input` of a `{"input": {...}}` file; a HarnessError naming the file otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HarnessError(f"input file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HarnessError(f"input file {path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or "input" not in data:
        raise HarnessError(f'input file {path}: expected {{"input": {{...}}}}')
    return data["input"]


@dataclass(frozen=True)
class UserInputs:
    """The user's job inputs by kind (sample, fail, slow, stream) and the files they came from."""

    values: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_files(cls, files: dict[str, str | None], *, cwd: Path | None = None) -> UserInputs:
        """Read each given file; without `--input`, ./test_input.json when it exists."""
        given = {kind: path for kind, path in files.items() if path}
        if "sample" not in given:
            default = (cwd or Path.cwd()) / DEFAULT_SAMPLE
            if default.is_file():
                given["sample"] = str(default)
        values = {kind: read_input_file(Path(path)) for kind, path in given.items()}
        return cls(values, given)

    def get(self, kind: str) -> Any:
        return self.values.get(kind)

    def has(self, kind: str) -> bool:
        return kind in self.values


@dataclass
class Workload:
    mode: str
    inputs: UserInputs
    probe: dict[str, Any] = field(default_factory=dict)
    reference: dict[str, Any] | None = None
    """The final /status body of the sample input's first run (foreign mode), once known."""

    @property
    def contract(self) -> bool:
        return self.mode == CONTRACT

    def describe(self) -> dict[str, Any]:
        return {"mode": self.mode, "inputs": dict(self.inputs.files), "probe": self.probe}

    def need(self, kind: str, claim_part: str = "") -> None:
        """Skip the test in foreign mode without the user's input of this kind."""
        if self.contract or self.inputs.has(kind):
            return
        flag = FLAGS[kind]
        default = f" (default ./{DEFAULT_SAMPLE})" if kind == "sample" else ""
        what = f" for {claim_part}" if claim_part else ""
        pytest.skip(
            f'foreign worker: needs {WHAT[kind]}{what}; pass {flag} FILE{default} with its {{"input": ...}}'
        )

    def contract_only(self, why: str) -> None:
        if not self.contract:
            pytest.skip(f"contract-only: {why}")

    def completing(self, output: Any, *, sleep_s: float = 0.0) -> Any:
        """An input whose job completes: the contract's `{"output": X}` (after `sleep_s`), or the
        user's sample."""
        if self.contract:
            return {"sleep": sleep_s, "output": output} if sleep_s else {"output": output}
        self.need("sample")
        if self.reference is not None and self.reference.get("status") != "COMPLETED":
            raise HarnessError(
                f"the sample input ({self.inputs.files.get('sample')}) did not complete on this target: "
                f"{json.dumps(self.reference)[:300]}"
            )
        return self.inputs.get("sample")

    def failing(self, message: str) -> Any:
        if self.contract:
            return {"fail": message}
        self.need("fail")
        return self.inputs.get("fail")

    def slow(self, seconds: float, output: Any = None) -> Any:
        """A job that runs about `seconds` (contract) or the user's slow input (foreign)."""
        if self.contract:
            return {"sleep": seconds} if output is None else {"sleep": seconds, "output": output}
        self.need("slow")
        return self.inputs.get("slow")

    def streaming(self) -> Any:
        self.need("stream")
        return self.inputs.get("stream")

    def can_block(self) -> bool:
        """Whether the suite can keep a worker busy on demand (a long job)."""
        return self.contract or self.inputs.has("slow")

    def output_check(self, output: Any, final: dict[str, Any]) -> tuple[bool, Any]:
        """(whether `final` is a COMPLETED job with the expected output, what was expected)."""
        if self.contract:
            return (
                final.get("status") == "COMPLETED" and final.get("output") == output,
                {"status": "COMPLETED", "output": output},
            )
        has_output = self.reference is None or "output" in self.reference
        expected = {"status": "COMPLETED", "output": "present" if has_output else "as the worker returns"}
        return final.get("status") == "COMPLETED" and ("output" in final or not has_output), expected


def probe_input() -> dict[str, str]:
    """The contract's simplest request, with an answer no other worker would give by chance."""
    return {"output": f"podbench-probe-{uuid.uuid4().hex[:12]}"}


def speaks_contract(sent: dict[str, str], final: dict[str, Any]) -> bool:
    return final.get("status") == "COMPLETED" and final.get("output") == sent["output"]
