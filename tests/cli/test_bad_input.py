"""Every command, given bad input, prints exactly one line on stderr (no traceback) and exits 2.

Each case is `python -m podbench ...` as a user types it; all of them are refused before any
endpoint is contacted or any emulator started, so each takes about the interpreter's start-up.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MISSING = "/nonexistent/podbench-missing.toml"
BAD_URL = "ftp://nowhere"

# (case id, argv after `podbench`); {dir} is a folder holding the files written by `bad_files`.
CASES: list[tuple[str, list[str]]] = [
    # missing files
    ("load-missing-profile", ["load", "--profile", MISSING, "--out", "{dir}/out"]),
    ("capacity-missing-profile", ["capacity", "--profile", MISSING, "--out", "{dir}/out"]),
    (
        "verify-missing-profile",
        ["verify", "--profile", MISSING, "--thresholds", "{dir}/good-thresholds.toml", "--out", "{dir}/out"],
    ),
    (
        "verify-missing-thresholds",
        ["verify", "--profile", "smoke", "--thresholds", MISSING, "--out", "{dir}/out"],
    ),
    (
        "verify-missing-baseline",
        [
            "verify",
            "--profile",
            "smoke",
            "--thresholds",
            "{dir}/good-thresholds.toml",
            "--baseline",
            "/nonexistent/base",
            "--out",
            "{dir}/out",
        ],
    ),
    ("conform-missing-target-profile", ["conform", "--target-profile", MISSING, "--out", "{dir}/out"]),
    (
        "limits-missing-emulator-config",
        ["limits", "--operation", "cancel", "--emulator-config", MISSING, "--out", "{dir}/out"],
    ),
    ("capacity-missing-emulator-config", ["capacity", "--emulator-config", MISSING, "--out", "{dir}/out"]),
    ("emulate-missing-config", ["emulate", "--port", "0", "--config", MISSING]),
    ("report-missing-folder", ["report", "/nonexistent/results"]),
    ("report-missing-thresholds", ["report", "{dir}/results", "--thresholds", MISSING]),
    ("compare-missing-folder", ["compare", "/nonexistent/a", "{dir}/results", "--out", "{dir}/out"]),
    # malformed files
    ("load-malformed-profile", ["load", "--profile", "{dir}/garbage.toml", "--out", "{dir}/out"]),
    ("load-profile-wrong-types", ["load", "--profile", "{dir}/wrong-types.toml", "--out", "{dir}/out"]),
    ("capacity-malformed-profile", ["capacity", "--profile", "{dir}/garbage.toml", "--out", "{dir}/out"]),
    (
        "verify-malformed-profile",
        [
            "verify",
            "--profile",
            "{dir}/garbage.toml",
            "--thresholds",
            "{dir}/good-thresholds.toml",
            "--out",
            "{dir}/out",
        ],
    ),
    (
        "verify-malformed-thresholds",
        ["verify", "--profile", "smoke", "--thresholds", "{dir}/garbage.toml", "--out", "{dir}/out"],
    ),
    ("report-malformed-thresholds", ["report", "{dir}/results", "--thresholds", "{dir}/garbage.toml"]),
    ("report-bad-rule", ["report", "{dir}/results", "--thresholds", "{dir}/bad-rule.toml"]),
    (
        "compare-malformed-thresholds",
        [
            "compare",
            "{dir}/results",
            "{dir}/results",
            "--thresholds",
            "{dir}/garbage.toml",
            "--out",
            "{dir}/out",
        ],
    ),
    ("report-on-a-file", ["report", "{dir}/garbage.toml"]),
    (
        "conform-malformed-target-profile",
        ["conform", "--target-profile", "{dir}/garbage.toml", "--out", "{dir}/out"],
    ),
    (
        "limits-malformed-emulator-config",
        ["limits", "--operation", "cancel", "--emulator-config", "{dir}/garbage.toml", "--out", "{dir}/out"],
    ),
    ("emulate-malformed-config", ["emulate", "--port", "0", "--config", "{dir}/garbage.toml"]),
    (
        "capacity-malformed-emulator-config",
        ["capacity", "--emulator-config", "{dir}/garbage.toml", "--out", "{dir}/out"],
    ),
    # unknown operations
    ("limits-unknown-operation", ["limits", "--operation", "teleport", "--out", "{dir}/out"]),
    ("load-profile-unknown-operation", ["load", "--profile", "{dir}/unknown-op.toml", "--out", "{dir}/out"]),
    (
        "limits-bad-expect",
        ["limits", "--operation", "cancel", "--expect", "cancel=lots", "--out", "{dir}/out"],
    ),
    ("demo-unknown-limits-operation", ["demo", "--limits-operation", "teleport", "--out", "{dir}/out"]),
    # a worker's files and job inputs
    ("conform-missing-input", ["conform", "--input", MISSING, "--out", "{dir}/out"]),
    ("conform-input-without-input-key", ["conform", "--input", "{dir}/not-input.json", "--out", "{dir}/out"]),
    (
        "load-bad-jsonl-inputs",
        ["load", "--profile", "smoke", "--inputs", "{dir}/bad.jsonl", "--out", "{dir}/out"],
    ),
    ("load-missing-worker", ["load", "--profile", "smoke", "--worker", MISSING, "--out", "{dir}/out"]),
    (
        "verify-worker-without-test-input",
        [
            "verify",
            "--profile",
            "smoke",
            "--thresholds",
            "{dir}/good-thresholds.toml",
            "--worker",
            "{dir}/lonely/deep/handler.py",
            "--out",
            "{dir}/out",
        ],
    ),
    (
        "verify-input-without-worker",
        [
            "verify",
            "--profile",
            "smoke",
            "--thresholds",
            "{dir}/good-thresholds.toml",
            "--input",
            "{dir}/not-input.json",
            "--out",
            "{dir}/out",
        ],
    ),
    # bad URLs
    ("conform-bad-url", ["conform", "--target-url", BAD_URL, "--endpoint-id", "e", "--out", "{dir}/out"]),
    (
        "load-bad-url",
        ["load", "--profile", "smoke", "--target-url", BAD_URL, "--endpoint-id", "e", "--out", "{dir}/out"],
    ),
    (
        "limits-bad-url",
        [
            "limits",
            "--operation",
            "cancel",
            "--target-url",
            BAD_URL,
            "--endpoint-id",
            "e",
            "--out",
            "{dir}/out",
        ],
    ),
    ("capacity-bad-url", ["capacity", "--target-url", BAD_URL, "--endpoint-id", "e", "--out", "{dir}/out"]),
    (
        "verify-bad-url",
        [
            "verify",
            "--profile",
            "smoke",
            "--thresholds",
            "{dir}/good-thresholds.toml",
            "--target-url",
            BAD_URL,
            "--endpoint-id",
            "e",
            "--out",
            "{dir}/out",
        ],
    ),
    (
        "load-url-without-endpoint",
        ["load", "--profile", "smoke", "--target-url", "http://127.0.0.1:9/v2", "--out", "{dir}/out"],
    ),
    # bad durations and numbers
    ("load-bad-duration", ["load", "--profile", "smoke", "--duration", "5 parsecs", "--out", "{dir}/out"]),
    ("load-negative-duration", ["load", "--profile", "smoke", "--duration", "-5s", "--out", "{dir}/out"]),
    (
        "verify-bad-duration",
        [
            "verify",
            "--profile",
            "smoke",
            "--thresholds",
            "{dir}/good-thresholds.toml",
            "--duration",
            "soon",
            "--out",
            "{dir}/out",
        ],
    ),
    ("demo-bad-duration", ["demo", "--duration", "soon", "--out", "{dir}/out"]),
    ("capacity-bad-slo", ["capacity", "--slo", "fast please", "--out", "{dir}/out"]),
    ("load-bad-rate-scale", ["load", "--profile", "smoke", "--rate-scale", "lots", "--out", "{dir}/out"]),
    # traces, shapes, sweeps and prices (what-if simulation and trace replay)
    (
        "simulate-unsorted-trace",
        ["simulate", "--trace", "{dir}/unsorted.jsonl", "--profile", "whatif", "--out", "{dir}/sim"],
    ),
    (
        "simulate-negative-time",
        ["simulate", "--trace", "{dir}/negative.csv", "--profile", "whatif", "--out", "{dir}/sim"],
    ),
    (
        "simulate-bad-shape",
        [
            "simulate",
            "--shape",
            "sawtooth",
            "--rate",
            "1",
            "--duration",
            "1h",
            "--profile",
            "whatif",
            "--out",
            "{dir}/sim",
        ],
    ),
    (
        "simulate-unknown-sweep-key",
        [
            "simulate",
            "--trace",
            "{dir}/good.jsonl",
            "--profile",
            "whatif",
            "--sweep",
            "{dir}/sweep-unknown.toml",
            "--out",
            "{dir}/sim",
        ],
    ),
    (
        "simulate-missing-price",
        [
            "simulate",
            "--trace",
            "{dir}/good.jsonl",
            "--profile",
            "{dir}/priced-no-active.toml",
            "--out",
            "{dir}/sim",
        ],
    ),
    (
        "load-unsorted-trace",
        ["load", "--profile", "whatif", "--trace", "{dir}/unsorted.jsonl", "--out", "{dir}/out"],
    ),
    ("trace-extract-missing-folder", ["trace", "extract", "/nonexistent/results"]),
    (
        "trace-shape-bad-rate",
        [
            "trace",
            "shape",
            "--shape",
            "poisson",
            "--rate",
            "-1",
            "--duration",
            "1h",
            "--out",
            "{dir}/t.jsonl",
        ],
    ),
    # arguments
    ("unknown-command", ["teleport"]),
    ("load-missing-out", ["load", "--profile", "smoke"]),
]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("badinput")
    (d / "garbage.toml").write_text("[[[ this is = not toml\n\x00")
    (d / "wrong-types.toml").write_text('[profile]\nname = "x"\nduration = 12\n[flows.run]\nrate = "fast"\n')
    (d / "unknown-op.toml").write_text('[profile]\nname = "x"\nduration = "2s"\n[flows.teleport]\nrate = 1\n')
    (d / "good-thresholds.toml").write_text('[thresholds]\nrules = ["run.p95_ms <= 250"]\n')
    (d / "not-input.json").write_text('{"prompt": "no input key"}\n')
    (d / "bad.jsonl").write_text('{"input": {"prompt": "fine"}}\n{"input": \n')
    (d / "lonely" / "deep").mkdir(parents=True)
    (d / "lonely" / "deep" / "handler.py").write_text("import runpod\n")
    (d / "bad-rule.toml").write_text('[thresholds]\nrules = ["run.vibes >= very"]\n')
    (d / "good.jsonl").write_text('{"t": 0}\n{"t": 1.5}\n')
    (d / "unsorted.jsonl").write_text('{"t": 2}\n{"t": 1}\n')
    (d / "negative.csv").write_text("t,input\n-1,\n")
    (d / "sweep-unknown.toml").write_text("workers_maxx = [1, 2]\n")
    (d / "priced-no-active.toml").write_text(
        '[profile]\nname = "p"\n[emulator]\nworkers_min = 1\n[flows.run_poll]\nrate = 1\n'
        "[pricing]\nflex_per_s = 0.0002\n"
    )
    results = d / "results"
    results.mkdir()
    (results / "manifest.json").write_text('{"podbench_version": "0.1.0", "kind": []}\n')
    return d


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNPOD_ENDPOINT")}
    env["RUNPOD_API_KEY"] = "cli-test-key"
    return subprocess.run(
        [sys.executable, "-m", "podbench", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def outcomes(bad_files: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    """All cases, three at a time (one interpreter start each, about 1 s on this machine)."""
    argvs = {case: [a.replace("{dir}", str(bad_files)) for a in argv] for case, argv in CASES}
    with ThreadPoolExecutor(max_workers=3) as pool:
        done = dict(zip(argvs, pool.map(_run, argvs.values()), strict=True))
    return done


@pytest.mark.parametrize("case", [case for case, _ in CASES])
def test_bad_input_is_one_line_and_exit_2(
    outcomes: dict[str, subprocess.CompletedProcess[str]], case: str
) -> None:
    proc = outcomes[case]
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(lines) == 1, f"stderr has {len(lines)} lines:\n{proc.stderr[-2000:]}"
    assert proc.returncode == 2, (proc.returncode, lines)
    assert "error" in lines[0].lower()
    assert len(lines[0]) < 400  # one clear line, not a dump


def test_every_command_has_a_case() -> None:
    from podbench.cli import COMMANDS

    covered = {argv[0] for _, argv in CASES}
    assert set(COMMANDS) <= covered, set(COMMANDS) - covered
