"""Foreign-worker mode with every kind of input (sample, failing, slow, streaming): a streaming
worker that does not speak podbench's contract is judged claim by claim, all of them passing."""

from __future__ import annotations

import json
import time
from pathlib import Path

from conformance_harness import run_suite
from foreign_target import KEY_ENV, exact_limits_profile, foreign_target


def _inputs(tmp_path: Path, **inputs: dict[str, object]) -> list[str]:
    args = []
    for kind, value in inputs.items():
        path = tmp_path / f"{kind}.json"
        path.write_text(json.dumps({"input": value}))
        args += [{"sample": "--input"}.get(kind, f"--{kind}-input"), str(path)]
    return args


def test_a_streaming_worker_with_every_input_is_judged_claim_by_claim(tmp_path: Path) -> None:
    inputs = _inputs(
        tmp_path,
        sample={"prompt": "hello wide world"},
        fail={"prompt": 7},
        slow={"prompt": "one two three four five six seven eight", "pause_s": 2},
        stream={"prompt": "a b c d e f", "pause_s": 0.5},
    )
    with foreign_target(tmp_path, "foreign_handlers:tokens") as target:
        started = time.monotonic()
        result = run_suite(
            tmp_path,
            *target.suite_args(KEY_ENV),
            *exact_limits_profile(tmp_path),
            *inputs,
            "-k",
            "not rate_limit",
            "--allow-destructive",
            env={KEY_ENV: target.api_key},
            timeout=400,
        )
        took = time.monotonic() - started
    verdict = result.verdict
    assert verdict["worker"]["mode"] == "foreign", result.output[-3000:]
    assert verdict["worker"]["probe"]["status"] == "FAILED"  # the probe's {"output": ...} is refused
    assert verdict["summary"]["violated"] == 0, result.output[-4000:]
    assert verdict["summary"]["harness_errors"] == 0, result.output[-4000:]
    outcomes = result.outcomes()
    for claim_id in (
        "run.accepted",
        "status.lifecycle",
        "status.schema",
        "runsync.result",
        "runsync.wait_expiry",
        "cancel.queued",
        "cancel.in_progress",
        "retry.requeues",
        "purge.queued_only",
        "health.counts",
        "status.ttl",
        "policy.ttl",
        "stream.partial",
        "stream.drained",
        "stream.end",
        "run.payload_limit",
    ):
        assert outcomes[claim_id] == "passed", (claim_id, result.claim(claim_id)["message"])
    skipped = {
        r["nodeid"]: r["message"]
        for c in verdict["claims"]
        for r in c["results"]
        if r["outcome"] == "skipped"
    }
    assert any("contract-only" in why for why in skipped.values()), skipped
    assert took < 300
    assert "conformance: waiting for" in result.output  # the 16 s slow jobs are announced past 10 s
