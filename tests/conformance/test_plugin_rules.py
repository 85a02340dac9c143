"""The suite's own rules: one claim per test, outcomes kept apart, bisection cheap and exact."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from typing import Any

import pytest
from conformance_harness import ROOT

from conformance.checks import legal_transitions, matches_schema
from conformance.claims import CLAIMS, Kind
from conformance.client import Journal, Reply
from conformance.interrupts import count_ctrl_c_once
from conformance.outcomes import ConformanceRun, suite_claims
from conformance.outcomes import TestResult as Result  # not "Test*": pytest would collect it
from conformance.payload import PREFIX, find_boundary
from conformance.plugin import verifies
from conformance.profile import Profile
from conformance.violations import HarnessError, Violation

CLAIMLESS = """
import pytest

@pytest.mark.portable
def test_without_a_claim():
    pass
"""
TWO_CLAIMS = """
import pytest
from conformance.plugin import verifies

@pytest.mark.portable
@verifies("run.accepted")
@verifies("run.schema")
def test_with_two_claims():
    pass
"""


@pytest.mark.parametrize(
    "source, message", [(CLAIMLESS, "verifies 0 claims"), (TWO_CLAIMS, "verifies 2 claims")]
)
def test_collection_fails_for_a_test_without_exactly_one_claim(tmp_path, source, message):
    (tmp_path / "test_x.py").write_text(source)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:locust",
            "-p",
            "no:hypothesispytest",
            "-p",
            "conformance.plugin",
            "-p",
            "no:cacheprovider",
            str(tmp_path),
            "-q",
            "--rootdir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert message in proc.stdout + proc.stderr


def test_an_unknown_claim_id_is_refused_at_import():
    with pytest.raises(KeyError, match="add it to conformance/claims.py"):
        verifies("no.such.claim")


def test_every_claim_has_a_kind_a_source_and_a_quote():
    for claim_id, claim in CLAIMS.items():
        assert isinstance(claim.kind, Kind) and claim.quote and claim.source, claim_id
        assert claim.source.startswith("https://"), (claim_id, claim.source)
    assert {c for c, claim in CLAIMS.items() if claim.owner == "conformance"} <= suite_claims()


def test_a_violation_is_an_assertion_error_and_a_harness_error_is_not():
    assert issubclass(Violation, AssertionError) and not issubclass(HarnessError, AssertionError)
    violation = Violation("run.accepted", "HTTP 200", "HTTP 500")
    assert "run.accepted" in str(violation) and violation.severity.value == "critical"


def test_checks_raise_violations_naming_their_claim():
    with pytest.raises(Violation) as caught:
        matches_schema("health.schema", "health", {"jobs": {}, "workers": {}})
    assert caught.value.claim_id == "health.schema"
    with pytest.raises(Violation, match="COMPLETED -> IN_PROGRESS"):
        legal_transitions("status.lifecycle", ["IN_QUEUE", "COMPLETED", "IN_PROGRESS"])
    legal_transitions("status.lifecycle", ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"])


def test_the_journal_redacts_every_secret():
    journal = Journal(secrets=["s3cr3t-key"])
    entry = journal.add(
        "GET", "http://127.0.0.1/x?k=s3cr3t-key", "Bearer s3cr3t-key", None, error="boom s3cr3t-key"
    )
    assert "s3cr3t-key" not in entry and entry.count("<redacted>") == 3


@pytest.mark.parametrize("limit", [10 * 2**20, 10_000_000, 10_000_123])
def test_bisection_finds_the_exact_limit_with_few_requests(limit):
    sizes: list[int] = []

    def send(body: bytes) -> Reply:
        assert body.startswith(PREFIX) and body.endswith(b'"}}')
        sizes.append(len(body))
        ok = len(body) <= limit
        return Reply(200 if ok else 400, {"content-type": "application/json"}, "{}", {})

    found = find_boundary(send, 10_000_000, 10 * 2**20)
    assert (found.largest_accepted, found.smallest_refused) == (limit, limit + 1)
    assert len(sizes) <= 22
    assert found.refusal is not None and found.refusal.status == 400


def test_a_probe_without_a_reply_is_sent_again_and_never_moves_the_bisection():
    silent_once = {10_000_000, 10 * 2**20 + 1}  # the first probe of each side

    def send(body: bytes) -> Reply | None:
        if len(body) in silent_once:
            silent_once.discard(len(body))
            return None  # e.g. a dropped connection
        return Reply(200 if len(body) <= 10_400_000 else 400, {}, "{}", {})

    found = find_boundary(send, 10_000_000, 10 * 2**20)
    assert (found.largest_accepted, found.smallest_refused) == (10_400_000, 10_400_001)
    assert found.probes[:4] == [
        (10_000_000, -1),
        (10_000_000, 200),
        (10 * 2**20 + 1, -1),
        (10 * 2**20 + 1, 400),
    ]


def test_two_probes_without_a_reply_are_a_harness_error_not_a_limit():
    sizes: list[int] = []

    def send(body: bytes) -> Reply | None:
        sizes.append(len(body))
        return None if len(body) > 2**20 else Reply(200, {}, "{}", {})

    with pytest.raises(HarnessError, match="no reply twice"):
        find_boundary(send, 10_000_000, 10 * 2**20)
    assert sizes == [10_000_000, 10_000_000]


def test_bisection_reports_no_limit_when_everything_is_accepted():
    found = find_boundary(lambda body: Reply(200, {}, "{}", {}), 1000, 2000)
    assert found.smallest_refused is None and found.largest_accepted == 4002  # 1000, 2001, 4002; then past 4x


def test_a_profile_with_an_unknown_key_or_bad_value_is_a_harness_error(tmp_path):
    assert Profile.from_mapping({"retention": {"run_s": 5}}).run_retention_s == 5.0
    with pytest.raises(HarnessError, match="unknown key retention.forever"):
        Profile.from_mapping({"retention": {"forever": 1}})
    with pytest.raises(HarnessError, match="run_body"):
        Profile.from_mapping({"limits": {"run_body": [5, 1]}})
    bad = tmp_path / "p.toml"
    bad.write_text("[retention\n")
    with pytest.raises(HarnessError, match="target profile"):
        Profile.from_toml(bad)


RECORD_ONLY_RAISING = """
import pytest
from conformance.plugin import verifies
from conformance.violations import HarnessError, Violation

@pytest.mark.portable
@verifies("retry.non_failed_reply")
def test_record_only_that_raises():
    raise Violation("retry.non_failed_reply", "HTTP 400", "HTTP 409")

@pytest.mark.portable
@verifies("run.accepted")
def test_documented_that_breaks():
    raise Violation("run.accepted", "HTTP 200", "HTTP 500")

@pytest.mark.portable
@verifies("run.schema")
def test_harness_that_breaks():
    raise HarnessError("target unreachable")
"""


def test_outcomes_are_kept_apart_and_record_only_claims_never_fail(tmp_path):
    (tmp_path / "test_y.py").write_text(RECORD_ONLY_RAISING)
    out = tmp_path / "verdict.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:locust",
            "-p",
            "no:hypothesispytest",
            "-p",
            "conformance.plugin",
            "-p",
            "no:cacheprovider",
            str(tmp_path),
            "-q",
            "--rootdir",
            str(tmp_path),
            f"--conformance-json={out}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    verdict = json.loads(out.read_text())
    outcomes = {c["id"]: c for c in verdict["claims"] if c["results"]}
    assert outcomes["retry.non_failed_reply"]["outcome"] == "recorded"
    assert outcomes["retry.non_failed_reply"]["measured"] == {"observed": "HTTP 409"}
    assert (
        outcomes["run.accepted"]["outcome"] == "violated"
        and outcomes["run.accepted"]["observed"] == "HTTP 500"
    )
    assert (
        outcomes["run.schema"]["outcome"] == "harness_error"
        and "unreachable" in outcomes["run.schema"]["message"]
    )
    assert verdict["summary"]["violated"] == 1 and verdict["summary"]["harness_errors"] == 1
    assert "2 failed, 1 passed" in proc.stdout, proc.stdout


def test_claims_not_reached_in_an_interrupted_run_say_not_run():
    run = ConformanceRun(real_target=False, has_control=True, selected={"run.accepted", "health.schema"})
    run.record(Result("t::health", "health.schema", "passed", 0.1, {}))
    run.interrupted = True
    entries = {e["id"]: e for e in run.claim_entries()}
    assert (
        entries["run.accepted"]["outcome"] == "skipped"
        and entries["run.accepted"]["message"] == "not run (interrupted)"
    )
    assert entries["health.schema"]["outcome"] == "passed" and entries["health.schema"]["message"] == ""
    assert entries["run.schema"]["message"] == ""  # not selected: plainly skipped
    assert run.summary()["interrupted"] is True


def test_a_ctrl_c_delivered_twice_at_once_interrupts_once():
    cleanups: list[Any] = []

    class FakeConfig:
        def add_cleanup(self, restore):
            cleanups.append(restore)

    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is not Python's default handler in this process")
    count_ctrl_c_once(FakeConfig())  # type: ignore[arg-type]
    try:
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)  # the terminal's
        signal.raise_signal(
            signal.SIGINT
        )  # the same Ctrl-C, forwarded by podbench conform: no second interrupt
    finally:
        for restore in cleanups:
            restore()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
