"""The suite has teeth: a target that breaks one rule makes exactly the matching claim fail."""

from __future__ import annotations

import json

import requests
from conformance_harness import BreakingProxy, json_mutation, run_suite, target_args

from conformance.emulator_boot import BootedEmulator


def test_a_documented_window_kept_forever_is_a_violation(tmp_path, emulator: BootedEmulator):
    patch = requests.patch(
        f"{emulator.admin_url}/endpoints/{emulator.endpoint_id}",
        json={"retention_run_s": 10**9},
        headers={"Authorization": f"Bearer {emulator.admin_key}"},
        timeout=10,
    )
    assert patch.status_code == 200, patch.text
    args, env = target_args(
        tmp_path, emulator.base_url.removesuffix("/v2"), emulator, control_url=emulator.admin_url
    )
    result = run_suite(tmp_path, "-k", "available_for", *args, env=env)
    assert result.with_outcome("violated") == {"run.retention"}, result.output[-3000:]
    assert result.outcomes()["runsync.retention"] == "passed"
    assert "HTTP 404" in result.claim("run.retention")["expected"]


def _answers_413(request, status, body):
    if request.path.endswith("/run") and status == 400:
        return 413, body
    return status, body


def test_an_oversized_body_answered_413_violates_only_the_observed_refusal_claim(tmp_path, shared_emulator):
    with BreakingProxy(shared_emulator.base_url.removesuffix("/v2"), _answers_413) as proxy:
        args, env = target_args(tmp_path, proxy.url, shared_emulator, control_url=shared_emulator.admin_url)
        result = run_suite(tmp_path, "-k", "test_run_", *args, env=env)
    assert result.with_outcome("violated") == {"run.payload_refusal"}, result.output[-3000:]
    limit = result.claim("run.payload_limit")
    assert limit["outcome"] == "passed"
    assert limit["measured"]["largest_accepted_bytes"] == 10 * 2**20
    assert limit["measured"]["smallest_refused_bytes"] == 10 * 2**20 + 1
    assert limit["measured"]["requests"] == 2  # the profile expects exactly 10 MiB: one probe each side
    refusal = result.claim("run.payload_refusal")
    assert refusal["kind"] == "observed" and refusal["observed"].startswith("HTTP 413")
    assert "> POST" in refusal["excerpt"] and shared_emulator.api_key not in json.dumps(result.verdict)


def _unchanged(request, status, body):
    return status, body


def _drops_big_bodies(request):
    return (request.content_length or 0) > 2**20


def test_a_target_that_drops_big_bodies_is_a_harness_error_not_a_limit(tmp_path, shared_emulator):
    # A probe without a reply says nothing about the limit: it must not move the bisection.
    with BreakingProxy(
        shared_emulator.base_url.removesuffix("/v2"), _unchanged, drops=_drops_big_bodies
    ) as proxy:
        args, env = target_args(tmp_path, proxy.url, shared_emulator, control_url=shared_emulator.admin_url)
        result = run_suite(tmp_path, "-k", "payload", *args, env=env)
    assert result.with_outcome("violated") == set(), result.output[-3000:]
    limits = {"run.payload_limit", "run.payload_refusal", "runsync.payload_limit"}
    assert limits <= result.with_outcome("harness_error"), result.output[-3000:]
    assert "no reply twice" in result.claim("run.payload_limit")["message"]
    assert result.claim("run.payload_limit")["measured"] == {}  # nothing measured from silence
    assert result.code == 1  # failed tests, though no claim was violated


def _frozen_completed(body):
    body["jobs"]["completed"] = 0
    return body


def test_health_counters_that_do_not_count_violate_health_counts(tmp_path, shared_emulator):
    with BreakingProxy(
        shared_emulator.base_url.removesuffix("/v2"), json_mutation("/health", _frozen_completed)
    ) as proxy:
        args, env = target_args(tmp_path, proxy.url, shared_emulator, control_url=shared_emulator.admin_url)
        result = run_suite(tmp_path, "-k", "health", *args, env=env)
    assert result.with_outcome("violated") == {"health.counts"}, result.output[-3000:]
    assert result.outcomes()["health.schema"] == "passed"


def _failed_runsync_is_500(request, status, body):
    if request.path.endswith("/runsync") and b'"FAILED"' in body:
        return 500, body
    return status, body


def test_a_record_only_claim_is_measured_never_failed(tmp_path, shared_emulator):
    with BreakingProxy(shared_emulator.base_url.removesuffix("/v2"), _failed_runsync_is_500) as proxy:
        args, env = target_args(tmp_path, proxy.url, shared_emulator, control_url=shared_emulator.admin_url)
        result = run_suite(tmp_path, "-k", "failing_job_is_recorded", *args, env=env)
    entry = result.claim("runsync.failed_reply")
    assert entry["outcome"] == "recorded" and entry["measured"]["http_status"] == 500
    assert result.with_outcome("violated") == set() and result.code == 0


def test_a_refused_key_is_a_harness_error_not_a_violation(tmp_path, shared_emulator):
    args, env = target_args(
        tmp_path, shared_emulator.base_url.removesuffix("/v2"), shared_emulator, control_url=None
    )
    env["CONF_TEST_KEY"] = "not-the-key"
    result = run_suite(tmp_path, "-k", "test_run_ or health", *args, env=env)
    assert result.with_outcome("violated") == set()
    assert {"run.accepted", "run.schema", "health.schema", "health.counts"} <= result.with_outcome(
        "harness_error"
    )
    assert result.verdict["summary"]["harness_errors"] >= 4
    assert "refused the suite's API key" in result.claim("run.accepted")["message"]


class _FirstHealthIs429:
    def __init__(self) -> None:
        self.sent = False

    def __call__(self, request, status, body):
        if request.path.endswith("/health") and not self.sent:
            self.sent = True
            return 429, b'{"error": "slow down"}'
        return status, body


def test_a_429_outside_the_rate_limit_claims_is_waited_out_not_judged(tmp_path, shared_emulator):
    with BreakingProxy(shared_emulator.base_url.removesuffix("/v2"), _FirstHealthIs429()) as proxy:
        args, env = target_args(tmp_path, proxy.url, shared_emulator, control_url=shared_emulator.admin_url)
        result = run_suite(tmp_path, "-k", "health_has", *args, env=env)
    assert result.outcomes()["health.schema"] == "passed", result.output[-3000:]
    assert result.verdict["traffic"]["rate_limited_retries"] == 1


def test_a_webhook_that_is_never_retried_violates_webhook_retries(tmp_path, emulator):
    patch = requests.patch(
        f"{emulator.admin_url}/endpoints/{emulator.endpoint_id}",
        json={"webhook_attempts": 1},
        headers={"Authorization": f"Bearer {emulator.admin_key}"},
        timeout=10,
    )
    assert patch.status_code == 200, patch.text
    args, env = target_args(
        tmp_path, emulator.base_url.removesuffix("/v2"), emulator, control_url=emulator.admin_url
    )
    result = run_suite(tmp_path, "-k", "webhook", *args, env=env)
    assert result.with_outcome("violated") == {"webhook.retries"}, result.output[-3000:]
    assert result.claim("webhook.retries")["observed"] == "1 deliveries"
    assert result.outcomes()["webhook.delivery"] == "passed"
