"""`podbench limits` end to end against the embedded emulator, set to each algorithm in turn.

The emulator is configured with small limits told in advance (20 per 1 s, concurrency 5); the
command must name the algorithm and find limit, window and burst within 2%.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podbench.cli import main

LIMIT, WINDOW_S, CONCURRENCY = 20, 1.0, 5


def emulator_config(tmp_path: Path, algorithm: str) -> Path:
    path = tmp_path / f"{algorithm}.toml"
    path.write_text(
        f"""
[[endpoint]]
id = "limits-test"
[endpoint.limits]
algorithm = "{algorithm}"
[endpoint.limits.status]
rate = {LIMIT}
window_s = {WINDOW_S}
concurrency = {CONCURRENCY}
""",
        encoding="utf-8",
    )
    return path


def within(measured: float | None, configured: float) -> bool:
    return measured is not None and abs(measured - configured) <= 0.02 * configured


@pytest.mark.slow
@pytest.mark.timing
@pytest.mark.parametrize("algorithm", ["sliding_window", "fixed_window", "token_bucket"])
def test_against_the_emulator(tmp_path: Path, algorithm: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    argv = ["limits", "--emulator-config", str(emulator_config(tmp_path, algorithm)), "--operation", "status"]
    argv += ["--expect", f"status={LIMIT}/{WINDOW_S}s/{CONCURRENCY}", "--out", str(out)]
    if algorithm != "sliding_window":
        argv.append("--no-concurrency")  # one concurrency run is enough; it costs seconds
    assert main(argv) == 0
    doc = json.loads((out / "limits.json").read_text())
    status = doc["operations"]["status"]
    assert status["algorithm"] == algorithm, status["evidence"]["mismatches"]
    assert within(status["limit"], LIMIT) and within(status["window_s"], WINDOW_S), status
    assert within(status["burst"], LIMIT), status
    assert status["retry_after_accurate"] is True
    assert status["documented"] == {"limit": 2000, "window_s": 10.0, "concurrency": 400}
    if algorithm == "sliding_window":
        assert status["concurrency"] == CONCURRENCY
        assert status["evidence"]["concurrency"]["released_slot_usable"] is True
    manifest = json.loads((out / "manifest.json").read_text())
    assert "limits" in manifest["kind"]
    assert doc["target"]["embedded_emulator"] is True
    printed = capsys.readouterr().out
    text = (out / "limits.json").read_text() + (out / "manifest.json").read_text() + printed
    assert "pb-" not in text.replace("pb-admin", "")  # the emulator's generated key never leaks
    table_row = next(line for line in printed.splitlines() if line.startswith("status "))
    assert table_row.split()[:3] == ["status", algorithm, str(status["limit"])]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


def test_unknown_operation_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(["limits", "--operation", "nope", "--out", str(tmp_path)], capsys)
    assert code == 2 and err.count("\n") == 1 and "unknown operation 'nope'" in err


def test_destructive_operations_need_permission_against_a_real_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNPOD_API_KEY", "secret-key-value")
    argv = ["limits", "--target-url", "http://127.0.0.1:9/v2", "--endpoint-id", "e", "--operation", "run"]
    code, err = run_cli([*argv, "--out", str(tmp_path)], capsys)
    assert code == 2 and "--allow-destructive" in err and "secret-key-value" not in err
    code, err = run_cli(
        [
            "limits",
            "--target-url",
            "http://127.0.0.1:9/v2",
            "--endpoint-id",
            "e",
            "--operation",
            "purge_queue",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == 2 and "--allow-destructive" in err


@pytest.mark.parametrize("bad", ["status=0/10s", "status=20", "nope=1/1s", "status=20/0s"])
def test_bad_expectation(tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str) -> None:
    code, err = run_cli(["limits", "--operation", "status", "--expect", bad, "--out", str(tmp_path)], capsys)
    assert code == 2 and "--expect" in err and err.count("\n") == 1


def test_refuses_when_the_client_is_too_slow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["limits", "--operation", "status", "--expect", "status=1000000/1s", "--out", str(tmp_path)]
    code, err = run_cli(argv, capsys)
    assert code == 2 and err.count("\n") == 1 and "requests/s" in err
    assert not (tmp_path / "limits.json").exists()


def test_burst_rate_beyond_the_client(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["limits", "--operation", "status", "--burst-rate", "10000000", "--out", str(tmp_path)]
    code, err = run_cli(argv, capsys)
    assert code == 2 and "beyond this client's measured" in err
