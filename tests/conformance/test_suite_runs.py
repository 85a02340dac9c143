"""The whole suite passes against the emulator, and gives a verdict for any loopback server."""

from __future__ import annotations

from conformance_fake_target import FakeTarget
from conformance_harness import run_suite

from conformance.claims import CLAIMS

# Emulator findings the suite reports and the emulator has not fixed yet (none today).
KNOWN_EMULATOR_FINDINGS: set[str] = set()


def test_the_whole_suite_passes_against_the_emulator(tmp_path):
    result = run_suite(tmp_path, timeout=180)
    summary = result.verdict["summary"]
    assert result.with_outcome("violated") == KNOWN_EMULATOR_FINDINGS, result.output[-4000:]
    assert summary["harness_errors"] == 0, result.output[-4000:]
    assert (
        summary["uncovered_claims"] == []
    )  # the 429 suite (conformance/test_rate_limits*.py) covers owner "ratelimit"
    assert summary["skipped"] == 0 and summary["tests"] >= 60
    assert result.verdict["target"]["embedded_emulator"] is True
    assert result.verdict["worker"]["mode"] == "contract"  # one probe job told
    assert result.verdict["traffic"]["requests_sent"] > 0


def test_any_loopback_server_gets_a_claim_by_claim_verdict(tmp_path):
    profile = tmp_path / "fake.toml"
    # /run is bisected over the documented range, to the byte; /runsync's limit is stated exactly (2 probes);
    # a loopback server answers at once, so its time windows get 0.5 s of slack, not 2 s (the
    # windows it lacks are violations only once window + slack have passed)
    profile.write_text(
        f"[workers]\nmax = 2\n[limits]\nrunsync_body = [{20 * 2**20}, {20 * 2**20}]\n[timing]\nslack_s = 0.5\n"
    )
    with FakeTarget() as fake:
        # the 429 suite floods a real target at the documented sizes; the fake has no limits to flood
        result = run_suite(
            tmp_path,
            "-k",
            "not rate_limit",
            "--target-url",
            fake.base_url,
            "--endpoint-id",
            "fake",
            "--target-profile",
            str(profile),
            "--api-key-env",
            "FAKE_TARGET_KEY",
            "--allow-destructive",
            env={"FAKE_TARGET_KEY": "fake-key"},
        )
    outcomes = result.outcomes()
    assert set(outcomes) == set(CLAIMS)
    ran = [r for c in result.verdict["claims"] for r in c["results"] if r["outcome"] != "skipped"]
    assert not any("emulator_faults" in r["nodeid"] for r in ran), (
        "an emulator-only test ran against a plain server"
    )
    skipped = {
        r["nodeid"]: r["message"]
        for c in result.verdict["claims"]
        for r in c["results"]
        if r["outcome"] == "skipped"
    }
    assert any("emulator-only" in why for why in skipped.values())
    assert any("slow" in why for why in skipped.values())
    assert result.with_outcome("harness_error") == set(), result.output[-4000:]
    # what the fake server does right is judged right ...
    for claim_id in (
        "run.accepted",
        "run.schema",
        "runsync.result",
        "status.lifecycle",
        "status.output",
        "stream.partial",
        "stream.drained",
        "cancel.queued",
        "cancel.in_progress",
        "retry.requeues",
        "purge.queued_only",
        "health.schema",
        "errors.auth",
        "errors.unknown_job",
        "run.payload_limit",
        "runsync.payload_limit",
    ):
        assert outcomes[claim_id] == "passed", (claim_id, result.claim(claim_id)["message"])
    run_limit = result.claim("run.payload_limit")["measured"]
    assert (run_limit["largest_accepted_bytes"], run_limit["smallest_refused_bytes"]) == (
        10 * 2**20,
        10 * 2**20 + 1,
    )
    assert run_limit["requests"] <= 22
    # ... and what it gets wrong (no policy validation, aiohttp's plain-text 400 for huge headers; no
    # ttl at all, which the short time rules find without --run-slow) is a violation of exactly
    # those claims, in exactly those cases
    assert result.with_outcome("violated") == {"errors.bad_input", "status.ttl", "policy.ttl"}, result.output[
        -4000:
    ]
    failing = {
        r["nodeid"].split("::")[-1]
        for r in result.claim("errors.bad_input")["results"]
        if r["outcome"] == "violated"
    }
    assert failing == {
        "test_bad_input_gets_a_4xx_with_a_json_message[execution_timeout_not_a_number]",
        "test_huge_headers_get_a_4xx_with_a_json_message",
    }
