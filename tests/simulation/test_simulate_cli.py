"""`podbench simulate` and `podbench trace`: the files they write, and what they refuse."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from contract.traces import read_trace
from podbench.cli import main

PROFILE = """
[profile]
name = "t"
seed = 1
[defaults]
poll = { initial_ms = 200, max_ms = 1000, factor = 2, job_timeout = "120s" }
[emulator]
workers_min = 0
workers_max = 2
cold_start_s = 2
idle_timeout_s = 5
execution_time = { distribution = "fixed", mean_s = 0.5 }
[flows.run_poll]
rate = 1
input = {}
"""
PRICING = "\n[pricing]\nflex_per_s = 0.0004\nactive_per_s = 0.0003\n"


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(PROFILE + PRICING)
    return path


def test_sweep_writes_every_setting_and_a_recommendation(tmp_path: Path, profile: Path) -> None:
    sweep = tmp_path / "sweep.toml"
    sweep.write_text("workers_min = [0, 1, 3]\nworkers_max = [2]\nidle_timeout_s = [5, 30]\n")
    out = tmp_path / "sim"
    argv = ["simulate", "--shape", "poisson", "--rate", "0.5", "--duration", "10m", "--profile", str(profile)]
    code = main(
        [*argv, "--sweep", str(sweep), "--slo", "p95_ms<=4000", "--processes", "2", "--out", str(out)]
    )
    assert code == 0
    doc = json.loads((out / "simulation.json").read_text())
    assert doc["skipped_settings"] == 2  # workers_min 3 > workers_max 2
    settings = doc["settings"]
    assert len(settings) == 4
    for entry in settings:
        assert set(entry["end_to_end_ms"]) >= {"p50", "p95", "p99"}
        assert set(entry["delay_ms"]) >= {"p50", "p95", "p99"}
        assert set(entry["worker_seconds"]) == {"total", "running", "idle", "initializing"}
        assert set(entry["cost"]) >= {"total", "per_1k_jobs", "per_day"}
        assert {"endpoint", "cold_starts", "max_in_queue", "slo_met", "pareto"} <= set(entry)
    always_on = [e for e in settings if e["endpoint"]["workers_min"] == 1]
    assert all(e["cold_starts"] == 0 or e["delay_ms"]["p50"] == 0 for e in always_on)
    rec = doc["recommendation"]
    chosen = settings[rec["setting"]]
    assert chosen["slo_met"] and chosen["pareto"]
    met = [e["cost"]["total"] for e in settings if e["slo_met"]]
    assert chosen["cost"]["total"] == min(met)
    assert doc["timeline"]["setting"] == rec["setting"] and doc["timeline"]["rows"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert "simulation" in manifest["kind"]


def test_without_pricing_settings_rank_by_billed_seconds(tmp_path: Path) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text(PROFILE)
    out = tmp_path / "sim"
    code = main(
        [
            "simulate",
            "--shape",
            "spike",
            "--rate",
            "0.2",
            "--duration",
            "5m",
            "--profile",
            str(profile),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    doc = json.loads((out / "simulation.json").read_text())
    assert "cost" not in doc["settings"][0] and doc["pricing"] is None
    assert doc["recommendation"]["by"] == "billed worker-seconds"


@pytest.mark.parametrize(
    ("files", "argv", "says"),
    [
        ({"t.jsonl": '{"t": 3}\n{"t": 1}\n'}, ["--trace", "{d}/t.jsonl"], "not sorted"),
        ({"t.csv": "t\n-2\n"}, ["--trace", "{d}/t.csv"], "negative"),
        ({}, ["--shape", "square", "--rate", "1", "--duration", "1m"], "unknown shape"),
        ({}, ["--shape", "poisson", "--rate", "1"], "--duration"),
        (
            {"s.toml": "wrokers_max = [2]\n"},
            ["--shape", "poisson", "--rate", "1", "--duration", "1m", "--sweep", "{d}/s.toml"],
            "unknown key 'wrokers_max'",
        ),
        (
            {"s.toml": "handler = ['m:f']\n"},
            ["--shape", "poisson", "--rate", "1", "--duration", "1m", "--sweep", "{d}/s.toml"],
            "not a simulated setting",
        ),
    ],
)
def test_bad_input_writes_nothing(
    tmp_path: Path,
    profile: Path,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
    argv: list[str],
    says: str,
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    out = tmp_path / "sim"
    args = [a.replace("{d}", str(tmp_path)) for a in argv]
    assert main(["simulate", *args, "--profile", str(profile), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0]
    assert not out.exists()


def test_a_missing_price_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text(PROFILE + "\n[pricing]\nactive_per_s = 0.0003\n")
    out = tmp_path / "sim"
    code = main(
        [
            "simulate",
            "--shape",
            "poisson",
            "--rate",
            "1",
            "--duration",
            "1m",
            "--profile",
            str(profile),
            "--out",
            str(out),
        ]
    )
    assert code == 2
    assert "flex_per_s is missing" in capsys.readouterr().err
    assert not out.exists()


def _load_folder(folder: Path) -> None:
    folder.mkdir()
    rows = [
        {
            "id": f"j{i}",
            "submitted_t": 0.5 * i,
            "final_status": "COMPLETED",
            "delay_time_ms": 10,
            "execution_time_ms": 800 + (i % 5) * 100,
            "end_to_end_ms": 1400 + 4 * 5,
            "polls": 3,
        }
        for i in range(40)
    ]
    with open(folder / "jobs.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    # one worker starts at 1 s, a second at 3 s as the first becomes ready: two 2 s cold starts
    health = "t,initializing,idle,running\n0,0,0,0\n1,1,0,0\n2,1,0,0\n3,1,0,1\n4,1,0,1\n5,0,1,1\n6,0,1,1\n"
    (folder / "health.csv").write_text(health)
    plan = {
        "flows": {
            "run_poll": {
                "input": {"sleep": 0.9},
                "poll_initial_ms": 200,
                "poll_factor": 2,
                "poll_max_ms": 1000,
            }
        }
    }
    (folder / "plan.json").write_text(json.dumps(plan))


def test_extract_then_calibrate(tmp_path: Path, profile: Path) -> None:
    run = tmp_path / "run"
    _load_folder(run)
    trace_file = tmp_path / "day.jsonl"
    assert main(["trace", "extract", str(run), "--out", str(trace_file), "--input", "plan"]) == 0
    trace = read_trace(trace_file)
    assert len(trace.arrivals) == 40 and trace.arrivals[1].t == 0.5
    assert trace.arrivals[0].input == {"sleep": 0.9}
    out = tmp_path / "sim"
    assert (
        main(
            [
                "simulate",
                "--trace",
                str(trace_file),
                "--calibrate",
                str(run),
                "--profile",
                str(profile),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    doc = json.loads((out / "simulation.json").read_text())
    cal = doc["calibration"]
    assert cal["execution_time"]["mean_s"] == pytest.approx(1.0)
    assert cal["cold_start_s"] == pytest.approx(2.0)  # 4 initializing worker-seconds, 2 starts
    # 1420 ms end to end after sleeps of 0.2 + 0.4 + 0.8 s: 20 ms over 4 requests (submit, 3 polls)
    assert cal["request_ms"] == pytest.approx(5.0)
    assert doc["settings"][0]["endpoint"]["cold_start_s"] == pytest.approx(2.0)
