"""Soak: the emulator driven at twice each operation's documented rate limit, then audited.

    .venv/bin/python bench/soak.py              # 10 minutes of load (+ ~30 s to start and audit)
    .venv/bin/python bench/soak.py --quick      # 1 minute
    # --minutes M, --rate-scale F (multiplies every rate), --retention-s S, --json PATH

Checks, printed as a table and written to bench/out/soak.json (exit 1 if one fails):
- no 5xx (no fault is injected, so every 5xx is the emulator's own);
- no lost job: every job id the client saw accepted is either still listed by the control API
  (final or in flight) or gone through retention, a purge or max_jobs eviction, and the emulator accepted no job the
  client does not know of (`GET /_emulator/endpoints/{id}/jobs` and `.../stats`);
- the emulator's RSS is flat: < 10 % growth from the end of the warm-up (two retention windows,
  at most half the run) to the median of the last tenth of the samples.

Loopback only: the emulator is started here on 127.0.0.1 with a free port and stopped by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import statistics
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from emulator_bench_support import Server

from contract.emulator_process import emulator_command

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
ENDPOINT = "soak"
RSS_GOAL = 0.10
# Twice the documented per-second rate of each operation (send-requests, "Rate limits and quotas":
# per 10 s: run 1000, runsync 2000, status/status-sync/stream 2000 shared, cancel 100 (retry
# shares it here), purge-queue 2, requests 10). /health has no documented limit: a steady 20/s.
RATES: dict[str, float] = {
    "run": 200.0,
    "runsync": 400.0,
    "status": 320.0,
    "stream": 80.0,
    "cancel": 15.0,
    "retry": 5.0,
    "purge_queue": 0.4,
    "requests": 2.0,
    "health": 20.0,
}
MAX_IN_FLIGHT = 600  # client-side bound: a send beyond it is counted as dropped, never queued


@dataclass
class Tally:
    started: float = field(default_factory=time.perf_counter)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    accepted: set[str] = field(default_factory=set)
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=2000))
    failed_jobs: deque[str] = field(default_factory=lambda: deque(maxlen=200))
    in_flight: int = 0


def start_emulator(tmp: Path) -> Server:
    cmd = emulator_command("--host", "127.0.0.1", "--port", "0", "--endpoint-id", ENDPOINT)
    key = "soak-" + secrets.token_urlsafe(12)
    return Server(
        "emulator", cmd, tmp, cpu=None, api_key=key, admin_key="soak-admin-" + secrets.token_urlsafe(12)
    )


async def _send(
    session: aiohttp.ClientSession, emu: Server, tally: Tally, op: str, rng: random.Random
) -> None:
    base = f"{emu.url}/v2/{ENDPOINT}"
    method, url, body = "GET", f"{base}/health", None
    if op == "run":
        failing = rng.random() < 0.05  # a few FAILED jobs, so /retry has something to retry
        method, url, body = (
            "POST",
            f"{base}/run",
            {"input": {"fail": "soak"} if failing else {"sleep": 0.002}},
        )
    elif op == "runsync":
        method, url, body = "POST", f"{base}/runsync?wait=5000", {"input": {"sleep": 0.002}}
    elif op in ("status", "stream", "cancel"):
        if not tally.recent:
            return
        job = rng.choice(tally.recent)
        method = "POST" if op == "cancel" else "GET"
        url = f"{base}/{op}/{job}"
    elif op == "retry":
        if not tally.failed_jobs:
            return
        method, url = "POST", f"{base}/retry/{tally.failed_jobs.popleft()}"
    elif op == "purge_queue":
        method, url = "POST", f"{base}/purge-queue"
    elif op == "requests":
        url = f"{base}/requests"
    tally.in_flight += 1
    try:
        async with session.request(method, url, json=body) as resp:
            data = await resp.read()
            tally.statuses[(op, resp.status)] += 1
            if resp.status == 200 and op in ("run", "runsync"):
                reply = json.loads(data)
                tally.accepted.add(reply["id"])
                tally.recent.append(reply["id"])
                if op == "run" and body is not None and "fail" in body["input"]:
                    tally.failed_jobs.append(reply["id"])
    except (TimeoutError, aiohttp.ClientError) as exc:
        tally.errors[(op, type(exc).__name__)] += 1
    finally:
        tally.in_flight -= 1


async def _drive(
    session: aiohttp.ClientSession, emu: Server, tally: Tally, op: str, rate: float, seconds: float, seed: int
) -> None:
    """Open model: sends at fixed intervals, whatever the replies do; over MAX_IN_FLIGHT → dropped."""
    rng = random.Random(f"{seed}:{op}")
    tasks: set[asyncio.Task[None]] = set()
    start = tally.started
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if tally.in_flight >= MAX_IN_FLIGHT:
            tally.dropped[op] += 1
            continue
        task = asyncio.create_task(_send(session, emu, tally, op, rng))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)


async def _sample_rss(emu: Server, seconds: float, samples: list[tuple[float, int]], start: float) -> None:
    while (t := time.perf_counter() - start) < seconds:
        samples.append((round(t, 1), emu.rss_kib()))
        await asyncio.sleep(2.0)


async def _control(
    session: aiohttp.ClientSession, emu: Server, method: str, path: str, body: Any = None
) -> Any:
    headers = {"Authorization": f"Bearer {emu.admin_key}"}
    async with session.request(method, f"{emu.url}/_emulator{path}", json=body, headers=headers) as resp:
        if resp.status != 200:
            raise RuntimeError(f"{method} {path} answered {resp.status}: {await resp.text()}")
        return await resp.json()


async def soak(
    emu: Server, seconds: float, rates: dict[str, float], retention_s: float, seed: int
) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=MAX_IN_FLIGHT)
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers) as session:
        # Instant-ish jobs on always-on workers, and retention short enough that expiry happens
        # many times inside the run (the documented 30 min would never expire in a 10 min soak).
        await _control(
            session,
            emu,
            "PATCH",
            f"/endpoints/{ENDPOINT}",
            {
                "workers_min": 3,
                "workers_max": 3,
                "cold_start_s": 0,
                "retention_run_s": retention_s,
                "retention_runsync_s": min(60.0, retention_s),
            },
        )
        tally = Tally()
        rss: list[tuple[float, int]] = []
        sampler = asyncio.create_task(_sample_rss(emu, seconds, rss, tally.started))
        await asyncio.gather(
            *(_drive(session, emu, tally, op, rate, seconds, seed) for op, rate in rates.items())
        )
        elapsed = time.perf_counter() - tally.started
        await sampler
        await asyncio.sleep(1.0)  # let the last 2 ms jobs finish
        # The list and the stats are two reads; an expiry sweep between them would skew the audit,
        # so read until two stats around one list agree.
        for _ in range(5):
            stats = await _control(session, emu, "GET", f"/endpoints/{ENDPOINT}/stats")
            listed = (await _control(session, emu, "GET", f"/endpoints/{ENDPOINT}/jobs"))["jobs"]
            again = await _control(session, emu, "GET", f"/endpoints/{ENDPOINT}/stats")
            if again == stats:
                break
    return _audit(tally, elapsed, stats, listed, rss, seconds, retention_s)


def _audit(
    tally: Tally,
    elapsed: float,
    stats: dict[str, Any],
    listed: list[dict[str, Any]],
    rss: list[tuple[float, int]],
    seconds: float,
    retention_s: float,
) -> dict[str, Any]:
    listed_ids = {job["id"] for job in listed}
    unknown_to_client = listed_ids - tally.accepted
    gone = tally.accepted - listed_ids
    # Past retention but not swept yet: still stored, no longer listed, not yet counted as expired.
    awaiting_sweep = stats["stored_jobs"] - len(listed_ids)
    gone_by_rule = stats["expired"] + stats["purged"] + stats.get("evicted", 0) + awaiting_sweep
    five_xx = {f"{op}:{code}": n for (op, code), n in tally.statuses.items() if code >= 500}
    warmup = min(2 * retention_s + 10, seconds / 2)
    after = [kib for t, kib in rss if t >= warmup]
    tail = after[-max(1, len(after) // 10) :]
    base_kib = after[0] if after else 0
    growth = (statistics.median(tail) - base_kib) / base_kib if base_kib else None
    by_op: dict[str, dict[str, int]] = {}
    for (op, code), n in sorted(tally.statuses.items()):
        by_op.setdefault(op, {})[str(code)] = n
    checks = {
        "no_5xx": not five_xx,
        "stats_accepted_equals_client": stats["accepted"] == len(tally.accepted),
        "no_job_unknown_to_client": not unknown_to_client,
        "every_vanished_job_expired_or_purged": len(gone) == gone_by_rule and awaiting_sweep >= 0,
        "rss_flat": growth is not None and growth < RSS_GOAL,
    }
    return {
        "seconds": round(elapsed, 1),
        "requests": sum(tally.statuses.values()),
        "achieved_rps": round(sum(tally.statuses.values()) / elapsed, 1),
        "status_by_op": by_op,
        "client_errors": {f"{op}:{kind}": n for (op, kind), n in tally.errors.items()},
        "dropped_sends": dict(tally.dropped),
        "five_xx": five_xx,
        "jobs": {
            "accepted_by_client": len(tally.accepted),
            "accepted_by_emulator": stats["accepted"],
            "still_listed": len(listed_ids),
            "listed_by_status": dict(Counter(job["status"] for job in listed)),
            "vanished": len(gone),
            "expired": stats["expired"],
            "purged": stats["purged"],
            "evicted": stats.get("evicted", 0),
            "past_retention_awaiting_sweep": awaiting_sweep,
            "unknown_to_client": len(unknown_to_client),
        },
        "rss": {
            "warmup_s": warmup,
            "after_warmup_kib": base_kib,
            "tail_median_kib": statistics.median(tail) if tail else None,
            "growth": None if growth is None else round(growth, 4),
            "max_kib": max((k for _, k in rss), default=0),
            "samples": rss,
        },
        "checks": checks,
        "ok": all(checks.values()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the load (default 10)")
    parser.add_argument("--quick", action="store_true", help="1 minute, retention 10 s")
    parser.add_argument(
        "--rate-scale", type=float, default=1.0, help="multiply every rate (default 1: 2x the limits)"
    )
    parser.add_argument(
        "--retention-s", type=float, help="job retention after a final state (default 60, quick 10)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=OUT / "soak.json")
    args = parser.parse_args(argv)
    minutes = 1.0 if args.quick else args.minutes
    retention = args.retention_s or (10.0 if args.quick else 60.0)
    rates = {op: rate * args.rate_scale for op, rate in RATES.items()}
    with tempfile.TemporaryDirectory(prefix="podbench-soak-") as tmp:
        emu = start_emulator(Path(tmp))
        with emu:
            result = _run(soak(emu, minutes * 60, rates, retention, args.seed))
        log_tail = emu.log_path.read_text(errors="replace")[-4000:]
    result["offered_rates"] = rates
    result["emulator_log_tracebacks"] = log_tail.count("Traceback")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    _print(result)
    return 0 if result["ok"] else 1


def _run(main_coro: Any) -> dict[str, Any]:
    """uvloop when installed: the client's own cost per request is a third lower."""
    try:
        import uvloop
    except ImportError:
        result: dict[str, Any] = asyncio.run(main_coro)
        return result
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        outcome: dict[str, Any] = runner.run(main_coro)
        return outcome


def _print(r: dict[str, Any]) -> None:
    print(
        f"soak: {r['seconds']} s, {r['requests']} requests ({r['achieved_rps']} req/s), offered {r['offered_rates']}"
    )
    for op, codes in r["status_by_op"].items():
        print(f"  {op:12} {codes}")
    print(f"  client errors {r['client_errors'] or 'none'}; dropped sends {r['dropped_sends'] or 'none'}")
    j = r["jobs"]
    print(
        f"  jobs: client saw {j['accepted_by_client']} accepted, emulator {j['accepted_by_emulator']}; "
        f"listed {j['still_listed']} {j['listed_by_status']}; vanished {j['vanished']} = expired {j['expired']} "
        f"+ purged {j['purged']} + evicted {j['evicted']} + past retention {j['past_retention_awaiting_sweep']}? unknown to client {j['unknown_to_client']}"
    )
    m = r["rss"]
    print(
        f"  RSS: {m['after_warmup_kib']} KiB after {m['warmup_s']:.0f} s warm-up -> {m['tail_median_kib']} KiB "
        f"(growth {m['growth']}; max {m['max_kib']} KiB; goal < {RSS_GOAL:.0%})"
    )
    for name, ok in r["checks"].items():
        print(f"  {'ok    ' if ok else 'FAILED'} {name}")


if __name__ == "__main__":
    raise SystemExit(main())
