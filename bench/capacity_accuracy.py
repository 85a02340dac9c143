"""Capacity accuracy: `podbench capacity` against the emulator set to W workers and a known
execution-time distribution. Ground truth is W / mean execution time; the measured sustainable
throughput and the model's capacity (M/M/c inputs measured from /health and executionTime) must
both be within 10 % of it. Also prints the measured knee next to the model's knee.

    .venv/bin/python bench/capacity_accuracy.py            # four settings, about 6 minutes
    .venv/bin/python bench/capacity_accuracy.py --quick    # shorter holds, about 2 minutes

Full results (every step) go to bench/out/capacity_accuracy.json. Runs one setting at a time (loopback only, bounded by the profile's holds), rate limits off so
a deep backlog is never refused.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SETTINGS = [
    # label, workers, emulator execution_time, mean seconds
    ("M/M/c: exponential 100 ms", 2, {"distribution": "exponential", "mean_s": 0.1}, 0.1),
    ("fixed 200 ms", 4, {"distribution": "fixed", "mean_s": 0.2}, 0.2),
    ("uniform 100 +/- 50 ms", 8, {"distribution": "uniform", "mean_s": 0.1, "spread_s": 0.05}, 0.1),
    ("lognormal 200 ms, sigma 0.5", 16, {"distribution": "lognormal", "mean_s": 0.2, "spread_s": 0.5}, 0.2),
]
TOLERANCE = 0.10
OUT = Path(__file__).resolve().parent / "out"


def profile_text(workers: int, execution: dict[str, object], mean_s: float, quick: bool) -> str:
    truth = workers / mean_s
    execution_toml = ", ".join(f"{k} = {json.dumps(v)}" for k, v in execution.items())
    hold = (2.0, 5.0, 8.0) if quick else (4.0, 10.0, 30.0)
    return (
        "[capacity]\n"
        f"start_rps = {truth * 0.4}\nstep_rps = {truth * 0.15}\nmax_rps = {truth * 2}\n"
        f"min_hold_s = {hold[0]}\nmax_hold_s = {hold[1]}\nsaturation_hold_s = {hold[2]}\n"
        f"refine_steps = {1 if quick else 2}\ndrain_s = 5.0\n"
        "input = { capacity_probe = true }\n"
        "[capacity.emulator]\n"
        f"workers_min = {workers}\nworkers_max = {workers}\ncold_start_s = 0\n"
        f"execution_time = {{ {execution_toml} }}\n"
    )


def run_setting(
    tmp: Path, index: int, workers: int, execution: dict[str, object], mean_s: float, quick: bool
) -> dict[str, object]:
    profile = tmp / f"setting-{index}.toml"
    profile.write_text(profile_text(workers, execution, mean_s, quick))
    out = tmp / f"out-{index}"
    argv = [
        sys.executable,
        "-m",
        "podbench",
        "capacity",
        "--profile",
        str(profile),
        "--slo",
        "p95_ms<=1000",
        "--out",
        str(out),
        "--emulator-arg=--rate-limits=off",
    ]
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"capacity run failed (exit {proc.returncode}):\n{proc.stderr}\n{proc.stdout}")
    result: dict[str, object] = json.loads((out / "capacity.json").read_text())
    result["_seconds"] = time.perf_counter() - started
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="shorter holds (noisier)")
    args = parser.parse_args()
    print(
        f"{'setting':<30} {'W':>3} {'truth':>7} {'measured':>9} {'ratio':>6} {'model':>7} {'ratio':>6} "
        f"{'knee':>6} {'model knee':>10} {'time':>6}"
    )
    failures = 0
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="podbench-capacity-bench-") as tmp:
        for index, (label, workers, execution, mean_s) in enumerate(SETTINGS):
            result = run_setting(Path(tmp), index, workers, execution, mean_s, args.quick)
            truth = workers / mean_s
            measured = float(result["max_sustainable_rps"] or 0)  # type: ignore[arg-type]
            model = result["model"]
            assert isinstance(model, dict)
            predicted = float(model.get("capacity_rps") or 0)
            ok = abs(measured / truth - 1) <= TOLERANCE and abs(predicted / truth - 1) <= TOLERANCE
            failures += not ok
            knee = result["knee_rps"]
            rows.append(
                {
                    "setting": label,
                    "workers": workers,
                    "execution_time": execution,
                    "truth_rps": truth,
                    "measured_rps": measured,
                    "model_rps": predicted,
                    "knee_rps": knee,
                    "model_knee_rps": model.get("knee_rps"),
                    "within_10pct": ok,
                    "seconds": result["_seconds"],
                    "steps": result["steps"],
                }
            )
            print(
                f"{label:<30} {workers:>3} {truth:>7.1f} {measured:>9.2f} {measured / truth:>6.3f} {predicted:>7.2f} "
                f"{predicted / truth:>6.3f} {knee!s:>6} {model.get('knee_rps')!s:>10} {result['_seconds']:>5.0f}s"
                f"{'' if ok else '  OUTSIDE 10%'}"
            )
    OUT.mkdir(exist_ok=True)
    (OUT / "capacity_accuracy.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(
        f"{len(SETTINGS) - failures}/{len(SETTINGS)} settings within {TOLERANCE:.0%} of W / mean execution time "
        "(measured and model)"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
