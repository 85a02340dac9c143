"""Does `podbench load` send what it says, and what does our instrumentation cost?

1. Rate accuracy: each operation alone at RATE req/s (default 1000) from ONE generator process,
   through `podbench load` against the emulator (rate limits off). achieved/offered must be
   within 2 %; late and dropped sends, p99 and generator CPU are printed beside it.
2. Like for like: a mix of operations and job scenarios (whose /status polls and /stream reads
   no schedule asked for) at moderate rates. Every flow's and every operation's scheduled sends
   must be within 2 % of the offered rate; beside each operation, the rate its row showed when
   follow-up calls were counted in it (requests of both rows over the run) is printed.
3. Overhead: our open-model HealthUser (full recording: two HDR histograms per request, status
   classes, schedule) at a rate far above what one process can send, against a bare
   `FastHttpUser` doing GET /health with no wait, same users, same emulator, alternating
   bare/ours ROUNDS times. The ratio of medians ours/bare must be >= 0.8.

    .venv/bin/python bench/load_accuracy.py            # about 3 min
    .venv/bin/python bench/load_accuracy.py --quick    # about 1.5 min
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from contract.operations import LOAD_OPERATIONS
from podbench.embedded import EmbeddedEmulator, embedded_emulator

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "load_accuracy"
OPERATIONS = LOAD_OPERATIONS
INPUT = {"stream": '{ stream = ["x"] }', "retry": "{}", "cancel": "{ sleep = 30 }"}
SATURATING_RATE = 20000.0
USERS = 20


def profile_text(op: str, rate: float, duration: float, slots: int | None = None) -> str:
    slot_line = f"slots = {slots}\n" if slots else ""
    return (
        f'[profile]\nname = "bench-{op}"\nduration = "{duration}s"\nhealth_interval = 60\n'
        f"drop_ms = 1000\n\n[flows.{op}]\nrate = {rate}\n{slot_line}"
        f'input = {INPUT.get(op, "{ sleep = 0 }")}\ntimeout = "10s"\n'
    )


PIN = {"on": False}


def pin(cpu: int) -> list[str]:
    """With --pin: `taskset -c CPU`, generator on one core, emulator on the other. Off by
    default: on a shared, busy host a pinned emulator queues behind others on its one core."""
    return ["taskset", "-c", str(cpu)] if PIN["on"] and shutil.which("taskset") else []


def podbench_load(emu: EmbeddedEmulator, profile: Path, out: Path) -> dict[str, Any]:
    cmd = [*pin(1), sys.executable, "-m", "podbench", "load", "--profile", str(profile), "--out", str(out)]
    cmd += [
        "--target-url",
        emu.target.base_url,
        "--endpoint-id",
        emu.target.endpoint_id,
        "--allow-destructive",
    ]
    done = subprocess.run(cmd, env=emu.child_env(), capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise SystemExit(f"podbench load failed ({done.returncode}): {done.stderr.strip()}")
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return summary


def bare_run(emu: EmbeddedEmulator, out: Path, duration: float) -> tuple[float, float]:
    """(req/s, CPU ms per request) of the bare FastHttpUser."""
    out.mkdir(parents=True, exist_ok=True)
    env = emu.child_env()
    env["RUNPOD_ENDPOINT_ID"] = emu.target.endpoint_id
    env["BARE_STATS_OUT"] = str(out / "bare.json")
    cmd = [*pin(1), sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "load_bare_user.py")]
    cmd += ["--headless", "-u", str(USERS), "-r", str(USERS * 5), "-t", f"{duration:.0f}s", "--only-summary"]
    cmd += ["--host", emu.target.base_url, "--csv", str(out / "locust"), "--loglevel", "WARNING"]
    subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=True)
    rows = list(csv.DictReader((out / "locust_stats.csv").read_text().splitlines()))
    agg = next(r for r in rows if r["Name"] == "Aggregated")
    stats = json.loads((out / "bare.json").read_text())
    return float(agg["Requests/s"]), 1000.0 * stats["cpu_s"] / max(stats["requests"], 1)


def ours_run(emu: EmbeddedEmulator, profile: Path, out: Path) -> tuple[float, float]:
    """(req/s, CPU ms per request) of our open-model HealthUser, everything recorded."""
    summary = podbench_load(emu, profile, out)
    [proc] = summary["generator"]["processes"].values()
    return summary["operations"]["health"]["achieved_rps"], 1000.0 * proc["cpu_s"] / max(
        proc["requests_sent"], 1
    )


def accuracy(
    emu: EmbeddedEmulator, tmp: Path, rate: float, duration: float, ops: list[str]
) -> list[dict[str, Any]]:
    rows = []
    for op in ops:
        op_rate = rate
        while True:
            row = accuracy_one(emu, tmp, op, op_rate, duration)
            rows.append(row)
            target_limited = abs(row["ratio"] - 1) > 0.02 and row["cpu_max"] < 90 and row["p99_ms"] > 100
            if not target_limited or op_rate <= 100:
                break
            op_rate /= 2  # the target fell behind, not us: find the rate it keeps up with
            print(
                f"  {op}: target-limited at {op_rate * 2:.0f}/s (generator CPU < 90%, p99 > 100 ms); retrying at {op_rate:.0f}/s"
            )
    return rows


def reset(emu: EmbeddedEmulator) -> None:
    """Forget every job, so one run's leftovers (e.g. /cancel's 30 s jobs) never queue ahead of the next."""
    assert emu.target.admin_url is not None
    headers = {"Authorization": f"Bearer {emu.admin_key}"}
    requests.post(f"{emu.target.admin_url}/reset", headers=headers, timeout=30).raise_for_status()


def accuracy_one(emu: EmbeddedEmulator, tmp: Path, op: str, rate: float, duration: float) -> dict[str, Any]:
    reset(emu)
    profile = tmp / f"{op}.toml"
    profile.write_text(profile_text(op, rate, duration))
    summary = podbench_load(emu, profile, OUT / f"accuracy-{op}-{rate:.0f}")
    row = summary["operations"][op]
    result = {
        "op": op,
        "offered_rps": row["offered_rps"],
        "achieved_rps": row["achieved_rps"],
        "ratio": row["achieved_rps"] / row["offered_rps"],
        "late_pct": 100.0 * row["late_sends"] / max(row["requests"], 1),
        "dropped": row["dropped_sends"],
        "p99_ms": row["p99_ms"] or 0.0,
        "setup_rps": summary["setup"].get("requests", 0) / summary["duration_s"],
        "cpu_max": summary["generator"]["max_cpu_percent"],
        "failures": row["failures"],
    }
    print(
        f"  {op:12} offered {result['offered_rps']:8.1f}/s achieved {result['achieved_rps']:8.1f}/s "
        f"ratio {result['ratio']:.4f}  late {result['late_pct']:5.2f}%  dropped {result['dropped']:5}  "
        f"p99 {result['p99_ms']:8.1f} ms  setup {result['setup_rps']:6.1f}/s  cpu max {result['cpu_max']}%",
        flush=True,
    )
    return result


MIX = {"run_poll": 20, "runsync_fallback": 5, "stream_consumer": 5, "status": 20, "stream": 10, "health": 20}
MIX_INPUT = {"stream_consumer": '{ stream = ["a", "b", "c"], sleep = 0.05 }', "stream": '{ stream = ["x"] }'}


def mix_profile(duration: float) -> str:
    text = f'[profile]\nname = "bench-mix"\nduration = "{duration}s"\nhealth_interval = 60\n'
    text += '\n[defaults]\npoll = { initial_ms = 50, max_ms = 200, factor = 1.5, job_timeout = "20s" }\n'
    for flow, rate in MIX.items():
        text += f"\n[flows.{flow}]\nrate = {rate}\ninput = {MIX_INPUT.get(flow, '{ sleep = 0.05 }')}\n"
    return text


def like_for_like(emu: EmbeddedEmulator, tmp: Path, duration: float) -> dict[str, Any]:
    """Scheduled sends against the offered rate, per flow and per operation, in one mixed run."""
    reset(emu)
    profile = tmp / "mix.toml"
    profile.write_text(mix_profile(duration))
    summary = podbench_load(emu, profile, OUT / "like-for-like")
    span = summary["duration_s"]
    rows = []
    for name, flow in summary["flows"].items():
        rows.append({"row": f"flow {name}", "offered": flow["offered_rps"], "achieved": flow["achieved_rps"]})
    for op, row in summary["operations"].items():
        follow = summary["follow_ups"].get(f"{op}_follow_up", {"requests": 0})
        mixed = (row["requests"] + follow["requests"]) / span
        rows.append(
            {
                "row": f"op {op}",
                "offered": row["offered_rps"],
                "achieved": row["achieved_rps"],
                "mixed": mixed,
            }
        )
    for r in rows:
        r["ratio"] = r["achieved"] / r["offered"] if r["offered"] else float("nan")
        before = (
            f"   counted with follow-ups: {r['mixed']:7.1f}/s ({r['mixed'] / r['offered']:.2f}x)"
            if "mixed" in r
            else ""
        )
        print(
            f"  {r['row']:24} offered {r['offered']:7.1f}/s achieved {r['achieved']:7.1f}/s ratio {r['ratio']:.4f}{before}",
            flush=True,
        )
    worst = max(abs(r["ratio"] - 1.0) for r in rows)
    return {"rows": rows, "worst": worst, "follow_up_rps": summary["total"]["follow_up_rps"]}


def overhead(emu: EmbeddedEmulator, tmp: Path, rounds: int, duration: float) -> dict[str, Any]:
    profile = tmp / "saturate.toml"
    profile.write_text(profile_text("health", SATURATING_RATE, duration, slots=USERS))
    reset(emu)
    bare: list[tuple[float, float]] = []
    ours: list[tuple[float, float]] = []
    for i in range(rounds):
        order = ("bare", "ours") if i % 2 == 0 else ("ours", "bare")  # drift hits both alike
        for who in order:
            if who == "bare":
                bare.append(bare_run(emu, OUT / f"bare-{i}", duration))
            else:
                ours.append(ours_run(emu, profile, OUT / f"ours-{i}"))
        print(
            f"  round {i + 1}: bare {bare[-1][0]:8.1f}/s {bare[-1][1]:.3f} ms CPU/req   "
            f"ours {ours[-1][0]:8.1f}/s {ours[-1][1]:.3f} ms CPU/req",
            flush=True,
        )
    # one ratio per round (its bare and ours ran back to back), then the median over rounds
    rps_ratio = statistics.median(o[0] / b[0] for b, o in zip(bare, ours, strict=True))
    cpu_ratio = statistics.median(b[1] / o[1] for b, o in zip(bare, ours, strict=True))
    return {"bare": bare, "ours": ours, "rps_ratio": rps_ratio, "per_core_ratio": cpu_ratio}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="shorter phases, fewer rounds")
    parser.add_argument("--rate", type=float, default=1000.0, help="req/s per operation (default 1000)")
    parser.add_argument(
        "--skip", action="append", default=[], choices=("accuracy", "like-for-like", "overhead")
    )
    parser.add_argument(
        "--op", action="append", choices=OPERATIONS, help="only these operations (repeatable)"
    )
    parser.add_argument(
        "--pin", action="store_true", help="pin the emulator to CPU 0 and generators to CPU 1"
    )
    args = parser.parse_args()
    PIN["on"] = args.pin
    duration = 5.0 if args.quick else 10.0
    rounds = 3 if args.quick else 5
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"rate": args.rate, "duration_s": duration, "started": time.time()}
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        embedded_emulator(
            endpoint_id="bench", extra_args=["--rate-limits", "off"], log_path=OUT / "emulator.log"
        ) as emu,
    ):
        assert emu.target.admin_url is not None
        requests.patch(
            f"{emu.target.admin_url}/endpoints/bench",
            json={"workers_min": 50, "workers_max": 50, "cold_start_s": 0},
            headers={"Authorization": f"Bearer {emu.admin_key}"},
            timeout=10,
        ).raise_for_status()
        if PIN["on"] and shutil.which("taskset"):  # the emulator on CPU 0 (all threads), generators on CPU 1
            subprocess.run(["taskset", "-a", "-p", "-c", "0", str(emu.pid)], capture_output=True, check=False)
        tmp = Path(tmp_name)
        ok = True
        if "accuracy" not in args.skip:
            print(
                f"rate accuracy: each operation alone at {args.rate:.0f} req/s, one process, {duration:.0f} s"
            )
            rows = accuracy(emu, tmp, args.rate, duration, args.op or list(OPERATIONS))
            at_full = [r for r in rows if r["offered_rps"] >= args.rate * 0.999]
            worst = max(abs(r["ratio"] - 1.0) for r in at_full)
            last = {r["op"]: r for r in rows}  # each operation's last (possibly lower-rate) run
            worst_last = max(abs(r["ratio"] - 1.0) for r in last.values())
            ok &= worst_last <= 0.02
            results["accuracy"] = rows
            print(f"  worst |achieved/offered - 1| at {args.rate:.0f}/s = {worst * 100:.2f}%")
            print(
                f"  worst at each operation's last rate = {worst_last * 100:.2f}% (goal <= 2%): "
                f"{'PASS' if worst_last <= 0.02 else 'FAIL'}"
            )
        if "like-for-like" not in args.skip:
            print(f"like for like: operations and job scenarios together, one process, {duration:.0f} s")
            mix = like_for_like(emu, tmp, duration)
            ok &= mix["worst"] <= 0.02
            results["like_for_like"] = mix
            print(
                f"  worst |achieved/offered - 1| over every flow and operation = {mix['worst'] * 100:.2f}% "
                f"(goal <= 2%): {'PASS' if mix['worst'] <= 0.02 else 'FAIL'}; follow-up calls "
                f"{mix['follow_up_rps']:.1f}/s on rows of their own"
            )
        if "overhead" not in args.skip:
            print(
                f"overhead: GET /health, {USERS} users, one process, {rounds} alternating rounds of {duration:.0f} s"
            )
            over = overhead(emu, tmp, rounds, duration)
            ok &= over["per_core_ratio"] >= 0.8
            results["overhead"] = over
            print(
                f"  throughput ours/bare (median of per-round ratios, same emulator) = {over['rps_ratio']:.3f}"
            )
            print(
                f"  per-core max throughput ours/bare (bare CPU/req over ours, median of rounds) = {over['per_core_ratio']:.3f}"
                f" (goal >= 0.8): {'PASS' if over['per_core_ratio'] >= 0.8 else 'FAIL'}"
            )
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"full results: {OUT / 'results.json'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
