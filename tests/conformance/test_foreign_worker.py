"""Foreign-worker mode: a target whose worker does not speak podbench's contract is judged with the
user's own inputs; what needs behaviour on demand is skipped with a reason naming the flag.
(The run with every kind of input, the longest, is test_foreign_worker_every_input.py: a module
of its own runs beside these in parallel.)"""

from __future__ import annotations

import json
from pathlib import Path

from conformance_harness import BreakingProxy, json_mutation, run_suite
from foreign_target import KEY_ENV, foreign_target


def test_with_only_a_sample_input_the_rest_is_skipped_naming_the_flag(tmp_path: Path) -> None:
    (tmp_path / "test_input.json").write_text(json.dumps({"input": {"prompt": "abc", "pause_s": 0.2}}))
    with foreign_target(tmp_path, "foreign_handlers:reverse") as target:
        result = run_suite(
            tmp_path,
            *target.suite_args(KEY_ENV),
            "--input",
            str(tmp_path / "test_input.json"),
            "--allow-destructive",
            "-k",
            "not rate_limit and not payload",
            env={KEY_ENV: target.api_key},
            timeout=300,
        )
    verdict = result.verdict
    assert verdict["worker"]["mode"] == "foreign"
    assert verdict["summary"]["violated"] == 0, result.output[-4000:]
    assert verdict["summary"]["harness_errors"] == 0, result.output[-4000:]
    for claim_id in (
        "run.accepted",
        "cancel.queued",
        "purge.queued_only",
        "status.ttl",
        "policy.ttl",
        "health.counts",
    ):
        assert result.outcomes()[claim_id] == "passed", (claim_id, result.claim(claim_id)["message"])
    reasons = {c["id"]: [r["message"] for r in c["results"]] for c in verdict["claims"]}
    assert any("--fail-input" in why for why in reasons["retry.requeues"])
    assert any("--slow-input" in why for why in reasons["cancel.in_progress"])
    assert any("--stream-input" in why for why in reasons["stream.partial"])


def test_a_status_that_loses_the_output_is_caught_with_a_foreign_worker_too(tmp_path: Path) -> None:
    """The sample's reference run goes through /runsync: a /status that drops the output breaks
    exactly the claims about a completed job's output."""
    sample = tmp_path / "test_input.json"
    sample.write_text(json.dumps({"input": {"prompt": "abc"}}))

    def drop_output(body: object) -> object:
        return {k: v for k, v in body.items() if k != "output"} if isinstance(body, dict) else body

    with foreign_target(tmp_path, "foreign_handlers:reverse") as target:
        upstream = target.base_url.removesuffix("/v2")
        with BreakingProxy(upstream, json_mutation("/status/", drop_output)) as proxy:
            args = target.suite_args(KEY_ENV)
            args[1] = f"{proxy.url}/v2"
            result = run_suite(
                tmp_path,
                *args,
                "--input",
                str(sample),
                "-k",
                "processes_the_job or carries_its_output or complete_result or documented_shape",
                env={KEY_ENV: target.api_key},
                timeout=300,
            )
    assert result.verdict["worker"]["mode"] == "foreign", result.output[-3000:]
    assert result.with_outcome("violated") == {"run.accepted", "status.output", "runsync.result"}, (
        result.output[-4000:]
    )
    assert result.verdict["summary"]["harness_errors"] == 0
