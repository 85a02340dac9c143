"""`podbench capacity` as a CI gate: exit 1 when the endpoint, as measured, cannot meet the SLO
at the target rate (the rate is above the knee), with capacity.json written all the same."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from capacity.output import slo_met_at


def test_the_slo_is_met_only_at_or_below_the_knee() -> None:
    assert slo_met_at(10.0, 10.0) and slo_met_at(4.0, 10.0)
    assert not slo_met_at(10.5, 10.0)
    assert not slo_met_at(5.0, None)  # no step met the SLO
    assert not slo_met_at(None, None)


@pytest.mark.slow
def test_a_target_above_the_knee_exits_1(tmp_path: Path) -> None:
    profile = tmp_path / "gate.toml"
    profile.write_text(  # one worker, 50 ms jobs: about 20 jobs/s, far below the 200 asked for
        "[capacity]\n"
        "start_rps = 6.0\nstep_rps = 6.0\nmax_rps = 60.0\nmin_hold_s = 1.0\nmax_hold_s = 2.0\n"
        "refine_steps = 0\nsaturation_hold_s = 1.5\ndrain_s = 1.0\ntarget_rps = 200.0\n"
        "input = { capacity_probe = true }\n"
        "[capacity.emulator]\n"
        'workers_min = 1\nworkers_max = 1\ncold_start_s = 0\nexecution_time = { distribution = "fixed", mean_s = 0.05 }\n'
    )
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "podbench", "capacity", "--profile", str(profile)]
    argv += ["--slo", "p95_ms<=1000", "--out", str(out), "--emulator-arg=--rate-limits=off"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=90, check=False)
    assert proc.returncode == 1, proc.stderr + proc.stdout
    result = json.loads((out / "capacity.json").read_text())
    assert result["slo_met_at_target"] is False and result["target_rps"] == 200.0
    assert result["knee_rps"] is not None and result["knee_rps"] < 200.0
    assert result["recommended_workers_min"] >= 10  # the advice for the rate asked is still given
    assert "NOT met at 200.0 jobs/s" in proc.stdout
