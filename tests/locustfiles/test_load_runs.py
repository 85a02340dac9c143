"""`podbench load` end to end against the emulator: every user class, every profile, 2 processes,
and an interrupted run. Each run is a few seconds at small rates (loopback only)."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hdrh.histogram import HdrHistogram

from podbench.embedded import EmbeddedEmulator, embedded_emulator

pytestmark = pytest.mark.slow
OPERATIONS = ("run", "runsync", "status", "stream", "cancel", "retry", "purge_queue", "health")


WORKERS = {"workers_min": 4, "workers_max": 8}


def set_workers(emu: EmbeddedEmulator, workers: dict[str, int]) -> None:
    assert emu.target.admin_url is not None
    resp = requests.patch(
        f"{emu.target.admin_url}/endpoints/loadtest",
        json={**workers, "cold_start_s": 0},
        headers={"Authorization": f"Bearer {emu.admin_key}"},
        timeout=10,
    )
    resp.raise_for_status()


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmbeddedEmulator]:
    with embedded_emulator(endpoint_id="loadtest") as emu:
        set_workers(emu, WORKERS)
        yield emu


def podbench_load(
    out: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "podbench", "load", "--out", str(out), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=90, check=False)


def against(emu: EmbeddedEmulator) -> tuple[list[str], dict[str, str]]:
    # --allow-destructive: the profiles purge the queue, which a non-embedded target must allow
    args = [
        "--target-url",
        emu.target.base_url,
        "--endpoint-id",
        emu.target.endpoint_id,
        "--allow-destructive",
    ]
    return args, emu.child_env()


def summary(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return data


def csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text().splitlines()))


def locust_total(out: Path) -> int:
    rows = csv_rows(out / "locust_stats.csv")
    return next(int(r["Request Count"]) for r in rows if r["Name"] == "Aggregated")


def sampler_total(out: Path) -> int:
    rows = csv_rows(out / "locust_stats.csv")
    return sum(int(r["Request Count"]) for r in rows if r["Name"] == "/health [sampler]")


@pytest.mark.timing
def test_smoke_drives_every_user_class_and_writes_the_result_folder(tmp_path: Path) -> None:
    out = tmp_path / "smoke"
    done = podbench_load(out, "--profile", "smoke", "--duration", "2s", "--emulator-arg=--rate-limits=off")
    assert done.returncode == 0, done.stderr + (out / "locust.log").read_text()
    result = summary(out)
    for op in OPERATIONS:
        assert result["operations"][op]["requests"] > 0, op
        assert result["operations"][op]["p99_ms"] is not None
        assert result["operations"][op]["corrected_p99_ms"] >= result["operations"][op]["p50_ms"]
    jobs = result["jobs"]
    assert jobs["completed"] > 0 and jobs["polls_per_job_mean"] > 0
    assert jobs["first_chunk_ms"]["p50"] is not None and jobs["execution_time_ms"]["p50"] is not None
    # every request is accounted for: ours + setup + the health sampler = Locust's own count
    assert result["total"]["requests"] + result["setup"]["requests"] + sampler_total(out) == locust_total(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert "load" in manifest["kind"] and manifest["interrupted"] is False and manifest["profile"] == "smoke"
    assert manifest["target"]["api_key"] == "<from $RUNPOD_API_KEY, redacted>"
    for name in ("intervals.csv", "histograms.jsonl", "health.csv", "jobs.csv", "locust_stats_history.csv"):
        assert (out / name).stat().st_size > 0, name
    # the per-second files add up to the summary, and the histograms hold every request
    per_op: Counter[str] = Counter()
    for row in csv_rows(out / "intervals.csv"):
        per_op[row["op"]] += int(row["requests"])
    in_histograms: Counter[str] = Counter()
    for line in (out / "histograms.jsonl").read_text().splitlines():
        item = json.loads(line)
        if item["metric"] == "latency":
            hist = HdrHistogram(1, 3_600_000_000, 3)
            hist.decode_and_add(item["hdr"])
            in_histograms[item["op"]] += hist.get_total_count()
    for op in OPERATIONS:
        assert per_op[op] == in_histograms[op] == result["operations"][op]["requests"], op
    # follow-up calls (scenario polls and stream reads) are rows of their own, here and in Locust
    follow_ups = result["follow_ups"]
    assert set(follow_ups) == {"status_follow_up", "stream_follow_up"}, follow_ups
    locust_rows = {r["Name"]: int(r["Request Count"]) for r in csv_rows(out / "locust_stats.csv")}
    for name, label in (("status_follow_up", "/status/[id]"), ("stream_follow_up", "/stream/[id]")):
        assert follow_ups[name]["requests"] > 0
        assert per_op[name] == in_histograms[name] == follow_ups[name]["requests"], name
        assert locust_rows[f"{label} [follow-up]"] == follow_ups[name]["requests"]
        assert locust_rows[label] == result["operations"][name.split("_")[0]]["requests"]
    # scheduled sends alone are compared with the offered rate: like for like, per flow and per op
    for name, flow in result["flows"].items():
        if flow["offered_rps"] * result["duration_s"] >= 5:
            assert flow["achieved_rps"] == pytest.approx(flow["offered_rps"], rel=0.02), name
    for op in ("status", "stream"):
        row = result["operations"][op]
        assert row["achieved_rps"] == pytest.approx(row["offered_rps"], rel=0.02), (op, row)
    health = csv_rows(out / "health.csv")
    assert health and health[0]["status"] == "200" and health[0]["in_queue"] != ""
    for path in out.iterdir():
        if path.is_file() and path.suffix in (".json", ".csv", ".jsonl", ".log"):
            assert not re.search(r"pb-[A-Za-z0-9_-]{20,}", path.read_text(errors="replace")), path


PROFILE_SCALES = {"mixed": "0.5", "capacity-step": "0.5", "soak": "0.2", "spike": "0.1", "limit-edge": "0.03"}


# Enough workers for the five profiles at once (each profile's own [emulator] table applies only
# to an embedded emulator): a flow whose users first wait for a finished job (stream) must not
# queue behind another profile's 30 s jobs, whatever order the runs start in.
ALL_PROFILES_WORKERS = {"workers_min": 32, "workers_max": 32}


def test_each_profile_runs_briefly(emulator: EmbeddedEmulator, tmp_path: Path) -> None:
    """All five at once against one emulator (small rates), to keep the suite fast. Not `timing`:
    it asserts that each run ends whole and sent every flow's requests, never a rate or a time."""
    set_workers(emulator, ALL_PROFILES_WORKERS)
    try:
        run_each_profile_briefly(emulator, tmp_path)
    finally:
        set_workers(emulator, WORKERS)


def run_each_profile_briefly(emulator: EmbeddedEmulator, tmp_path: Path) -> None:
    args, env = against(emulator)
    procs = {}
    for profile, scale in PROFILE_SCALES.items():
        cmd = [
            sys.executable,
            "-m",
            "podbench",
            "load",
            "--out",
            str(tmp_path / profile),
            "--profile",
            profile,
        ]
        cmd += ["--duration", "3s", "--rate-scale", scale, *args]
        procs[profile] = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    try:
        errors = {profile: proc.communicate(timeout=120)[1] for profile, proc in procs.items()}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    submit_ops = {"run_poll": "run", "runsync_fallback": "runsync", "stream_consumer": "run"}
    for profile, proc in procs.items():
        out = tmp_path / profile
        assert proc.returncode == 0, errors[profile] + (out / "locust.log").read_text()
        result = summary(out)
        plan = json.loads((out / "plan.json").read_text())
        assert result["interrupted"] is False and result["profile"] == profile
        for flow, spec in plan["flows"].items():
            expected = min(s["scale"] for s in plan["stages"]) * spec["rate"] * plan["duration_s"]
            if expected >= 3:
                assert result["operations"][submit_ops.get(flow, flow)]["requests"] > 0, (profile, flow)
        assert result["total"]["requests"] > 0


def test_two_processes_merge_to_exactly_the_sum_of_their_workers(
    emulator: EmbeddedEmulator, tmp_path: Path
) -> None:
    args, env = against(emulator)
    out = tmp_path / "p2"
    done = podbench_load(out, "--profile", "smoke", "--duration", "2s", "--processes", "2", *args, env=env)
    assert done.returncode == 0, done.stderr + (out / "locust.log").read_text()
    workers = [json.loads(p.read_text()) for p in (out / "workers").glob("*.json")]
    assert len(workers) == 2
    assert all(w.get("run:requests", 0) > 0 for w in workers)  # both processes really sent
    summed: Counter[str] = Counter()
    for w in workers:
        summed.update(w)
    result = summary(out)
    for op, row in result["operations"].items():
        for name in ("requests", "failures", "rate_limited", "timeouts", "late_sends", "dropped_sends"):
            assert row[name] == summed[f"{op}:{name}"], (op, name)
        codes = {k.split(":")[-1]: n for k, n in summed.items() if k.startswith(f"{op}:code:")}
        assert row["status_codes"] == codes
    assert result["total"]["requests"] + result["setup"]["requests"] + sampler_total(out) == locust_total(out)


def test_sigterm_still_writes_what_it_has_and_marks_the_run_interrupted(
    emulator: EmbeddedEmulator, tmp_path: Path
) -> None:
    args, env = against(emulator)
    out = tmp_path / "cut"
    cmd = [
        sys.executable,
        "-m",
        "podbench",
        "load",
        "--out",
        str(out),
        "--profile",
        "smoke",
        "--duration",
        "30s",
    ]
    proc = subprocess.Popen([*cmd, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 30
        while time.time() < deadline and not list((out).glob("locust_stats_history.csv")):
            time.sleep(0.2)
        time.sleep(2.5)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    manifest = json.loads((out / "manifest.json").read_text())
    result = summary(out)
    assert manifest["interrupted"] is True and result["interrupted"] is True
    assert result["operations"]["run"]["requests"] > 0
    assert os.path.getsize(out / "intervals.csv") > 0


def test_a_real_target_is_not_purged_without_allow_destructive(tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "podbench",
        "load",
        "--out",
        str(tmp_path / "o"),
        "--profile",
        "smoke",
        "--target-url",
        "http://127.0.0.1:9/v2",
        "--endpoint-id",
        "e",
        "--api-key-env",
        "PODBENCH_TEST_KEY",
    ]
    env = {**os.environ, "PODBENCH_TEST_KEY": "secret-test-key"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "purge_queue" in done.stderr and "--allow-destructive" in done.stderr
    assert not (tmp_path / "o" / "summary.json").exists()


def test_a_target_that_goes_away_stops_the_run_and_says_so(tmp_path: Path) -> None:
    """The emulator is killed 3 s in: the run stops ~3 s later (not after its 30 s), keeps what it
    measured, says why, and exits 1; the scenarios' polls back off instead of spinning meanwhile."""
    out = tmp_path / "gone"
    with embedded_emulator(endpoint_id="gone") as emu:
        cmd = [
            sys.executable,
            "-m",
            "podbench",
            "load",
            "--out",
            str(out),
            "--profile",
            "smoke",
            "--duration",
            "30s",
            "--target-url",
            emu.target.base_url,
            "--endpoint-id",
            "gone",
            "--allow-destructive",
        ]
        proc = subprocess.Popen(
            cmd, env=emu.child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.time() + 30
            while time.time() < deadline and not (out / "locust_stats_history.csv").exists():
                time.sleep(0.1)
            time.sleep(3)
            os.kill(emu.pid, signal.SIGKILL)
            killed = time.time()
            _, err = proc.communicate(timeout=60)
            stopped_after = time.time() - killed
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 1, err
    assert stopped_after < 15, stopped_after  # 3 s without a reply, then the usual stop; not the 30 s plan
    lines = [line for line in err.splitlines() if line.startswith("podbench load: run stopped early")]
    assert len(lines) == 1 and "target unreachable since t=" in lines[0], err
    result, manifest = summary(out), json.loads((out / "manifest.json").read_text())
    assert result["interrupted"] is True and manifest["interrupted"] is True
    assert re.fullmatch(r"target unreachable since t=\d+\.\d s", result["interrupted_reason"])
    assert manifest["interrupted_reason"] == result["interrupted_reason"]
    since = float(result["interrupted_reason"].split("t=")[1].split()[0])
    assert 1.0 <= since <= 8.0, since
    assert result["operations"]["run"]["status_codes"].get("200", 0) > 0  # what came before is kept
    assert result["total"]["status_codes"].get("0", 0) > 0
    # Once the target is gone, polls wait the profile's backoff (max 500 ms per job in smoke):
    # a few stuck jobs poll at 2/s each; spinning polls sent 20/s per job (68/s /stream in all).
    dead = [
        r
        for r in csv_rows(out / "intervals.csv")
        if r["op"] in ("stream", "status") and float(r["t"]) >= since + 1.5 and r["requests"]
    ]
    assert dead, "no interval after the target went away"
    assert max(int(r["requests"]) for r in dead) <= 30, dead
