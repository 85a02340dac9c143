"""`podbench limits` at the documented sizes: measured against configured, per algorithm and operation.

For each algorithm the embedded emulator is given the documented table (1000/10 s for run, 2000/10 s
for runsync, status and openai, 100/10 s for cancel, 10/10 s for requests, 2/10 s for purge_queue;
a token bucket's burst equals its rate), the queue rule off and warm workers, so every 429 is the
rate limiter's. `podbench limits` then runs as a user would run it, and this script prints measured
against configured for every operation, with the ratio, and exits 1 when an algorithm is misnamed
or a limit, window or burst is off by more than 2%.

    .venv/bin/python bench/limits_accuracy.py                      # all, about 12 min
    .venv/bin/python bench/limits_accuracy.py --quick              # status, cancel, requests: ~8 min
    .venv/bin/python bench/limits_accuracy.py --reanalyse          # classify the last run's timelines again
    # --algorithms fixed_window,token_bucket  --operations status,run
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from contract import limits

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "limits_accuracy"
ALGORITHMS = ("sliding_window", "fixed_window", "token_bucket")
DOCUMENTED = {budget: row.rate for budget, row in limits.BY_BUDGET.items()}
"""Each documented budget's rate per window (contract.limits)."""
WINDOW_S = limits.WINDOW_S
TOLERANCE = 0.02
QUICK = ("status", "cancel", "requests")


def config_text(algorithm: str, operations: list[str]) -> str:
    lines = [
        "[[endpoint]]",
        'id = "bench-limits"',
        "workers_min = 3",
        "workers_max = 3",
        "cold_start_s = 0.0",
        "[endpoint.limits]",
        f'algorithm = "{algorithm}"',
        "[endpoint.limits.queue]",
        "enabled = false",
    ]
    for op in operations:
        # Concurrency off: a held runsync must not turn a rate probe into a concurrency probe.
        lines += [
            f"[endpoint.limits.{op}]",
            f"rate = {DOCUMENTED[op]}",
            f"window_s = {WINDOW_S:g}",
            "concurrency = false",
        ]
    return "\n".join(lines) + "\n"


def run_one(algorithm: str, operations: list[str]) -> tuple[dict[str, Any], float]:
    folder = OUT / algorithm
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "emulator.toml"
    config.write_text(config_text(algorithm, operations), encoding="utf-8")
    cmd = [sys.executable, "-m", "podbench", "limits", "--emulator-config", str(config), "--out", str(folder)]
    cmd += ["--no-concurrency"]
    for op in operations:
        cmd += ["--operation", op]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT)
    elapsed = time.perf_counter() - started
    return json.loads((folder / "limits.json").read_text(encoding="utf-8")), elapsed


def reanalysed(doc: dict[str, Any]) -> dict[str, Any]:
    """The stored timelines classified again by the current analysis (no traffic): for analysis changes."""
    from discovery.analysis import classify
    from discovery.pacer import Sample

    out = {}
    for op, result in doc["operations"].items():
        phase_of = {
            i: name
            for name, (first, count) in result["evidence"]["phases"].items()
            for i in range(first, first + count)
        }
        samples = [
            Sample(i, op, phase_of[i], row[1], row[0], row[2], row[3])
            for i, row in enumerate(result["timeline"])
        ]
        fit = classify(samples, 1.0 / result["evidence"]["watch_rate_rps"])
        out[op] = {
            **result,
            "algorithm": fit.algorithm,
            "limit": fit.limit,
            "window_s": fit.window_s,
            "burst": fit.burst,
        }
    return {**doc, "operations": out}


def compare(algorithm: str, op: str, measured: dict[str, Any]) -> dict[str, Any]:
    configured = {"limit": DOCUMENTED[op], "window_s": WINDOW_S, "burst": DOCUMENTED[op]}
    row: dict[str, Any] = {"algorithm": algorithm, "operation": op, "named": measured["algorithm"]}
    ok = measured["algorithm"] == algorithm
    for key, want in configured.items():
        got = measured.get(key)
        ratio = None if got is None else got / want
        row[key] = {"configured": want, "measured": got, "ratio": None if ratio is None else round(ratio, 4)}
        ok = ok and ratio is not None and abs(ratio - 1) <= TOLERANCE
    row["retry_after_accurate"] = measured.get("retry_after_accurate")
    row["requests"] = measured["evidence"].get("requests")
    row["ok"] = ok
    return row


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--algorithms", default=",".join(ALGORITHMS))
    parser.add_argument("--operations", default=",".join(DOCUMENTED))
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    parser.add_argument(
        "--reanalyse", action="store_true", help="classify the stored timelines again, send nothing"
    )
    args = parser.parse_args()
    algorithms = [a for a in args.algorithms.split(",") if a]
    operations = list(QUICK) if args.quick else [o for o in args.operations.split(",") if o]
    unknown = [a for a in algorithms if a not in ALGORITHMS] + [o for o in operations if o not in DOCUMENTED]
    if unknown:
        parser.error(f"unknown algorithm or operation: {', '.join(unknown)}")
    rows: list[dict[str, Any]] = []
    timings: dict[str, float] = {}
    for algorithm in algorithms:
        if args.reanalyse:
            stored = json.loads((OUT / algorithm / "limits.json").read_text(encoding="utf-8"))
            doc, elapsed = reanalysed(stored), 0.0
        else:
            doc, elapsed = run_one(algorithm, operations)
        timings[algorithm] = round(elapsed, 1)
        rows += [compare(algorithm, op, doc["operations"][op]) for op in operations]
    print()
    print(
        f"{'algorithm':15} {'operation':11} {'named':15} {'limit m/c':>13} {'window m/c':>15} {'burst m/c':>13} "
        f"{'retry-after':>11}  ok"
    )
    for r in rows:
        cells = [f"{r[k]['measured']}/{r[k]['configured']:g}" for k in ("limit", "window_s", "burst")]
        print(
            f"{r['algorithm']:15} {r['operation']:11} {r['named']:15} {cells[0]:>13} {cells[1]:>15} {cells[2]:>13} "
            f"{r['retry_after_accurate']!s:>11}  {'yes' if r['ok'] else 'NO'}"
        )
    worst = max(
        (abs(r[k]["ratio"] - 1) for r in rows for k in ("limit", "window_s", "burst") if r[k]["ratio"]),
        default=0,
    )
    print(
        f"\nnamed right: {sum(r['named'] == r['algorithm'] for r in rows)}/{len(rows)}; "
        f"largest error {worst:.2%} (goal <= {TOLERANCE:.0%}); seconds per algorithm: {timings}"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "summary.json").write_text(
        json.dumps({"rows": rows, "seconds": timings}, indent=2) + "\n", encoding="utf-8"
    )
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
