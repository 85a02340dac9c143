"""`podbench verify` on the emulator: one exit code a CI job can gate on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from podbench.cli import main
from podbench.load_profile import load_plan_cost
from podbench.verify_steps import StepOutcome, VerifyRun, conformance_verdict

PASSING = '[thresholds]\nrules = ["all.p95_ms <= 10000", "jobs.failed_share <= 0.5", "conformance.violations <= 0"]\n'
FAILING = '[thresholds]\nrules = ["all.p95_ms <= 0.001"]\n'


def _verify(tmp: Path, name: str, thresholds: str, *extra: str) -> subprocess.Popen[str]:
    rules = tmp / f"{name}.toml"
    rules.write_text(thresholds)
    argv = [
        sys.executable,
        "-m",
        "podbench",
        "verify",
        "--profile",
        "smoke",
        "--duration",
        "2s",
        "--thresholds",
        str(rules),
        "--out",
        str(tmp / name),
        *extra,
    ]
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    )


BASELINE = Path(__file__).parent / "data" / "baseline"
"""A 2 s smoke load run kept as written by `podbench load` (summary, intervals, histograms, health)."""


@pytest.mark.slow
def test_verify_passes_and_fails_on_its_thresholds(tmp_path: Path) -> None:
    # Both runs at once (each step is its own child with its own emulator): the budget is ~40 s.
    passing = _verify(tmp_path, "pass", PASSING, "--conform-arg=-k", "--conform-arg=health")
    failing = _verify(tmp_path, "fail", FAILING, "--skip-conformance", "--baseline", str(BASELINE))
    out, err = passing.communicate(timeout=240)
    assert passing.returncode == 0, out + err
    summary = json.loads((tmp_path / "pass" / "verify.json").read_text())
    assert [s["step"] for s in summary["steps"]] == ["conformance", "load", "report"]
    assert summary["verdict"] == "pass"
    assert (tmp_path / "pass" / "report.html").is_file()
    assert (tmp_path / "pass" / "conformance.json").is_file()
    assert "load plans about" in err  # the cost is shown before the run starts

    out, err = failing.communicate(timeout=240)
    assert failing.returncode == 1, out + err
    summary = json.loads((tmp_path / "fail" / "verify.json").read_text())
    verdicts = {s["step"]: s["verdict"] for s in summary["steps"]}
    assert verdicts == {"load": "pass", "comparison": "fail", "report": "fail"}
    assert (tmp_path / "fail" / "comparison" / "comparison.html").is_file()
    assert "FAIL (exit 1)" in out


def _one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str], message: str) -> None:
    code = main(["verify", *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_missing_or_malformed_thresholds_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "o")
    _one_line_exit_2(
        ["--profile", "smoke", "--thresholds", str(tmp_path / "none.toml"), "--out", out], capsys, "not found"
    )
    bad = tmp_path / "bad.toml"
    bad.write_text('[thresholds]\nrules = ["run.p95_ms <== 5"]\n')
    _one_line_exit_2(
        ["--profile", "smoke", "--thresholds", str(bad), "--out", out], capsys, "bad threshold rule"
    )


def test_baseline_without_a_load_run_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "t.toml"
    rules.write_text(PASSING)
    _one_line_exit_2(
        [
            "--profile",
            "smoke",
            "--thresholds",
            str(rules),
            "--baseline",
            str(tmp_path),
            "--out",
            str(tmp_path / "o"),
        ],
        capsys,
        "no load run",
    )


def test_unknown_profile_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "t.toml"
    rules.write_text(PASSING)
    _one_line_exit_2(
        ["--profile", "no-such-profile", "--thresholds", str(rules), "--out", str(tmp_path / "o")],
        capsys,
        "unknown profile",
    )


def test_unreachable_target_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODBENCH_TEST_KEY", "secret-test-key")
    rules = tmp_path / "t.toml"
    rules.write_text(PASSING)
    code = main(
        [
            "verify",
            "--profile",
            "smoke",
            "--thresholds",
            str(rules),
            "--out",
            str(tmp_path / "o"),
            "--target-url",
            "http://127.0.0.1:9/v2",
            "--endpoint-id",
            "e",
            "--api-key-env",
            "PODBENCH_TEST_KEY",
            "--allow-destructive",
        ]
    )
    captured = capsys.readouterr()
    assert code == 2
    assert "unreachable" in captured.err
    assert "load plans about" in captured.err  # cost first, even when the target then fails
    assert "secret-test-key" not in captured.err + captured.out


def test_a_real_target_is_not_purged_without_allow_destructive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODBENCH_TEST_KEY", "secret-test-key")
    rules = tmp_path / "t.toml"
    rules.write_text(PASSING)
    _one_line_exit_2(
        [
            "--profile",
            "smoke",
            "--thresholds",
            str(rules),
            "--out",
            str(tmp_path / "o"),
            "--target-url",
            "http://127.0.0.1:9/v2",
            "--endpoint-id",
            "e",
            "--api-key-env",
            "PODBENCH_TEST_KEY",
        ],
        capsys,
        "--allow-destructive",
    )


@pytest.mark.parametrize(
    ("code", "written", "verdict"),
    [(0, True, "pass"), (1, True, "fail"), (2, True, "fail"), (2, False, "error"), (130, False, "error")],
)
def test_conformance_exit_codes_map_to_the_gate(code: int, written: bool, verdict: str) -> None:
    assert conformance_verdict(code, written) == verdict


def test_gate_exit_code_is_the_worst_step(tmp_path: Path) -> None:
    run = VerifyRun(tmp_path)
    assert run.exit_code() == 0
    run.steps.append(StepOutcome("load", [], 0, 1.0, "pass"))
    run.steps.append(StepOutcome("report", [], 1, 1.0, "fail"))
    assert run.exit_code() == 1
    run.steps.append(StepOutcome("comparison", [], 2, 1.0, "error"))
    assert run.exit_code() == 2
    assert run.as_json()["verdict"] == "error"


def test_load_plan_cost_sums_rates_over_scaled_stages() -> None:
    plan = {
        "duration_s": 20,
        "stages": [{"duration_s": 10, "scale": 1.0}, {"duration_s": 10, "scale": 0.5}],
        "flows": {"run": {"rate": 4}, "health": {"rate": 1}},
    }
    assert load_plan_cost(plan) == (75, 20.0)
