"""`podbench capacity` against the emulator set to W workers and a known execution time: the
measured capacity and the model's prediction are both within 10 % of W / mean execution time.

The three settings run side by side (each is a child process with its own emulator) so the
test stays near 20 s; they are light (at most ~60 jobs/s), so sharing the 2 cores is harmless.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from podbench.cli import main

SETTINGS = [
    # (workers, execution_time table, mean seconds)
    (2, {"distribution": "fixed", "mean_s": 0.1}, 0.1),
    (3, {"distribution": "uniform", "mean_s": 0.15, "spread_s": 0.05}, 0.15),
    (4, {"distribution": "lognormal", "mean_s": 0.1, "spread_s": 0.3}, 0.1),
]


def _profile(tmp: Path, workers: int, execution: dict[str, object], mean_s: float) -> Path:
    truth = workers / mean_s
    execution_toml = ", ".join(f"{k} = {json.dumps(v)}" for k, v in execution.items())
    path = tmp / f"cap-{workers}.toml"
    path.write_text(
        "[capacity]\n"
        f"start_rps = {truth * 0.5}\nstep_rps = {truth * 0.25}\nmax_rps = {truth * 2}\n"
        "min_hold_s = 1.5\nmax_hold_s = 2.5\nrefine_steps = 0\nsaturation_hold_s = 3.0\ndrain_s = 2.0\n"
        "input = { capacity_probe = true }\n"
        "[capacity.emulator]\n"
        f"workers_min = {workers}\nworkers_max = {workers}\ncold_start_s = 0\n"
        f"execution_time = {{ {execution_toml} }}\n"
    )
    return path


@pytest.mark.slow
@pytest.mark.timing
def test_measured_and_predicted_capacity_match_ground_truth(tmp_path: Path) -> None:
    procs = []
    for workers, execution, mean_s in SETTINGS:
        out = tmp_path / f"out-{workers}"
        argv = [
            sys.executable,
            "-m",
            "podbench",
            "capacity",
            "--profile",
            str(_profile(tmp_path, workers, execution, mean_s)),
            "--slo",
            "p95_ms<=1000",
            "--out",
            str(out),
        ]
        procs.append(
            (
                workers,
                mean_s,
                out,
                subprocess.Popen(
                    argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ)
                ),
            )
        )
    for workers, mean_s, out, proc in procs:
        log = proc.communicate(timeout=90)[0].decode(errors="replace")
        assert proc.returncode == 0, log
        result = json.loads((out / "capacity.json").read_text())
        truth = workers / mean_s
        assert result["saturated"], log
        assert result["max_sustainable_rps"] == pytest.approx(truth, rel=0.1), log
        assert result["model"]["capacity_rps"] == pytest.approx(truth, rel=0.1), log
        assert result["measured"]["workers"] == workers
        assert result["measured"]["mean_execution_ms"] == pytest.approx(1000 * mean_s, rel=0.1)
        assert result["knee_rps"] is not None and result["knee_rps"] <= truth * 1.1, log
        assert result["recommended_workers_min"] <= result["recommended_workers_max"]
        assert any(s["kind"] == "saturation" and s["queue_trend"] == "growing" for s in result["steps"])
        assert len(result["model"]["predictions"]) == len(result["steps"])
        manifest = json.loads((out / "manifest.json").read_text())
        assert "capacity" in manifest["kind"]
        assert (
            "pb-" not in (out / "capacity.json").read_text()
        )  # the generated API key never lands in results


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--slo", "p95<=500"], "--slo"),
        (["--profile", "no-such-profile"], "unknown profile"),
        (["--target-rps", "-3"], "--target-rps"),
        (["--target-url", "ftp://x", "--endpoint-id", "e"], "bad target URL"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["capacity", "--out", str(tmp_path / "o"), *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_unreachable_target_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODBENCH_TEST_KEY", "secret-test-key")
    code = main(
        [
            "capacity",
            "--out",
            str(tmp_path / "o"),
            "--target-url",
            "http://127.0.0.1:9/v2",
            "--endpoint-id",
            "e",
            "--api-key-env",
            "PODBENCH_TEST_KEY",
        ]
    )
    captured = capsys.readouterr()
    assert code == 2
    assert "unreachable" in captured.err
    assert "secret-test-key" not in captured.err + captured.out
