"""Helpers of bench/emulator_throughput.py: pinned servers, wrk runs, the limiter-accuracy client, the table."""

from __future__ import annotations

import asyncio
import bisect
import json
import os
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

from contract.emulator_process import ChildServer, ServerStartError, emulator_env

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 30.0
WRK_CPU = 1
SLACK_S = 1e-6
# A repetition counts as quiet when the hypervisor took less than this share of the CPU time
# (`steal` in /proc/stat). p99 is the slowest 1 % of requests: once the server is stalled for more
# than about 1 % of the run, the stalls set p99, for the bare app as much as for the emulator.
QUIET_STEAL = 0.01


def is_quiet(run: dict[str, Any]) -> bool:
    """Whether the host left this wrk run alone (its `steal` below QUIET_STEAL)."""
    return bool(run["steal"] < QUIET_STEAL)


# Appended to every wrk script: one JSON line with what the tables need (latencies in microseconds).
DONE_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"non2xx":%d,"socket_errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


class Server:
    """A server process (pinned to one CPU unless `cpu` is None), started through the launcher of
    `contract.emulator_process` (ready file, own session, --parent-pid) and stopped by its PID."""

    def __init__(
        self, name: str, cmd: list[str], tmp: Path, *, cpu: int | None, api_key: str, admin_key: str
    ) -> None:
        self.name, self.cmd, self.tmp, self.cpu = name, cmd, tmp, cpu
        self.api_key, self.admin_key = api_key, admin_key
        self.url = ""
        self.pid = 0
        self.client_env = {**os.environ, "PODBENCH_BENCH_KEY": api_key}
        self.log_path = tmp / f"{name}.log"
        self._server = ChildServer(
            cmd,
            ready_file=tmp / f"{name}.ready.json",
            log_path=self.log_path,
            env=emulator_env(api_key, admin_key),
            cwd=ROOT,
            prefix=["taskset", "-c", str(cpu)] if cpu is not None else [],  # taskset execs: same PID
            name=name,
            start_timeout_s=READY_TIMEOUT_S,
        )

    def __enter__(self) -> Server:
        try:
            self._server.start()
        except ServerStartError as exc:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{exc} ({' '.join(self.cmd)}):\n{tail}") from None
        self.url = self._server.url
        self.pid = self._server.pid
        return self

    def rss_kib(self) -> int:
        return rss_kib(self.pid)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.stop()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def start_wrk(
    url: str, script: Path, seconds: int, *, env: dict[str, str], connections: int = 32
) -> subprocess.Popen[str]:
    cmd = [
        "taskset",
        "-c",
        str(WRK_CPU),
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def collect_wrk(proc: subprocess.Popen[str]) -> dict[str, Any]:
    output, _ = proc.communicate(timeout=600)
    for line in output.splitlines():
        if line.startswith("BENCHJSON "):
            raw = json.loads(line[len("BENCHJSON ") :])
            return {
                "requests": raw["requests"],
                "rps": raw["requests"] / (raw["duration_us"] / 1e6),
                "p50_ms": raw["p50_us"] / 1000,
                "p99_ms": raw["p99_us"] / 1000,
                "max_ms": raw["max_us"] / 1000,
                "non2xx": raw["non2xx"],
                "socket_errors": raw["socket_errors"],
            }
    raise RuntimeError(f"wrk printed no result:\n{output[-2000:]}")


def cpu_ticks(stat: str | None = None) -> tuple[int, int]:
    """(steal, total) jiffies of all CPUs so far, from the first line of /proc/stat (or `stat`)."""
    text = Path("/proc/stat").read_text() if stat is None else stat
    fields = [int(v) for v in text.split("\n", 1)[0].split()[1:9]]
    return fields[7], sum(fields)


def steal_since(start: tuple[int, int]) -> float:
    """The share of CPU time the hypervisor gave to other guests since `start`."""
    steal, total = cpu_ticks()
    elapsed = total - start[1]
    return (steal - start[0]) / elapsed if elapsed > 0 else 0.0


def run_wrk(
    url: str, script: Path, seconds: int, *, env: dict[str, str], connections: int = 32
) -> dict[str, Any]:
    """One wrk run; its result carries `steal`, the host's CPU steal share during the run."""
    start = cpu_ticks()
    result = collect_wrk(start_wrk(url, script, seconds, env=env, connections=connections))
    result["steal"] = steal_since(start)
    return result


async def accuracy_run(
    server: Server, endpoint: str, seconds: int, limit: int = 1000, window_s: float = 10.0
) -> dict[str, Any]:
    """Offer 2x a sliding window's rate to /run; check every window-length span of accepts."""
    rate = 2 * limit / window_s
    admin = {"Authorization": f"Bearer {server.admin_key}"}
    limits_url = f"{server.url}/_emulator/endpoints/{endpoint}/limits?accepts=1"
    server_accepts: set[float] = set()
    log: list[tuple[float, float, int]] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
        patch = {
            "limits": {
                "algorithm": "sliding_window",
                "queue": {"enabled": False},
                "run": {"rate": limit, "window_s": window_s, "concurrency": False},
            }
        }
        async with session.patch(
            f"{server.url}/_emulator/endpoints/{endpoint}", json=patch, headers=admin
        ) as resp:
            if resp.status != 200:
                raise RuntimeError(f"PATCH limits answered {resp.status}: {await resp.text()}")
        async with session.get(limits_url, headers=admin) as resp:
            server_side = resp.status == 200

        async def poll() -> None:
            async with session.get(limits_url, headers=admin) as resp:
                body = await resp.json()
            server_accepts.update(body["budgets"]["run"].get("recent_accepts", []))

        async def send() -> None:
            sent = time.perf_counter()
            async with session.post(
                f"{server.url}/v2/{endpoint}/run",
                json={"input": {"sleep": 0}},
                headers={"Authorization": f"Bearer {server.api_key}"},
            ) as resp:
                await resp.read()
                log.append((sent, time.perf_counter(), resp.status))

        tasks: set[asyncio.Task[None]] = set()
        start = time.perf_counter()
        next_poll = start
        for i in range(int(rate * seconds)):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(send())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if server_side and time.perf_counter() >= next_poll:
                next_poll += 2.0
                await poll()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
        if server_side:
            await poll()
    client_ok = sorted(recv for _, recv, status in log if status == 200)
    accepts = sorted(server_accepts) if server_side else client_ok
    spans = span_counts(accepts, window_s)
    return {
        "limit": limit,
        "window_s": window_s,
        "offered_rps": len(log) / elapsed,
        "seconds": seconds,
        "accept_times_from": "emulator control API (server clock)"
        if server_side
        else "client log (reply times)",
        "accepted_200": len(client_ok),
        "accepted_server": len(accepts),
        "rejected_429": sum(1 for *_, status in log if status == 429),
        "other_status": sorted({status for *_, status in log if status not in (200, 429)}),
        **spans,
        "max_ok": spans["max_in_span"] <= limit,
        "min_ok": spans["min_in_window"] >= 0.99 * limit,
    }


def span_counts(accepts: list[float], window_s: float) -> dict[str, Any]:
    """Most and fewest accepts in window-length spans [t, t + window) inside the loaded period.

    `max_in_span` is over every span (the worst one starts at an accept). The fewest are reported
    two ways: over consecutive windows from the first accept (`min_in_window`, what "N per 10 s"
    usually means), and over every sliding span (`min_in_any_span`), which is lower: a span that
    starts just after an accept loses the accepts whose freed slots wait for the next arrival (the
    client is paced, the server loop is shared).
    """
    if not accepts:
        return {"max_in_span": 0, "min_in_window": 0, "windows": 0, "min_in_any_span": 0, "spans_checked": 0}

    def count(t: float) -> int:
        # Span ends are pulled in by 1 us: clock values are floats, and the limiter allows 1e-9 s.
        return bisect.bisect_left(accepts, t + window_s - SLACK_S) - bisect.bisect_left(accepts, t)

    most = max(count(a) for a in accepts)
    windows = [count(accepts[0] + k * window_s) for k in range(int((accepts[-1] - accepts[0]) // window_s))]
    spans = [count(t) for t in [accepts[0]] + [a + SLACK_S for a in accepts] if t + window_s <= accepts[-1]]
    return {
        "max_in_span": most,
        "min_in_window": min(windows, default=0),
        "windows": len(windows),
        "window_counts": windows,
        "min_in_any_span": min(spans, default=0),
        "spans_checked": len(spans),
        "spans_at_least_99pct": sum(1 for c in spans if c >= 0.99 * (most or 1)) / len(spans)
        if spans
        else 0.0,
    }


def format_table(report: dict[str, Any], goals: dict[str, float], p99_goal_ms: float, rss_goal: float) -> str:
    lines: list[str] = []
    verdict = {True: "ok", False: "MISSED"}
    if "throughput" in report:
        lines.append(
            "| route | server | req/s | p50 ms | p99 ms | vs bare (median of same-rep ratios) "
            f"| vs bare, quiet pairs (steal < {QUIET_STEAL:.0%}) | ratio goal "
            f"| steal | p99 of quiet reps | p99 goal |"
        )
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for route, result in report["throughput"].items():
            for name, median in result["median"].items():
                ratio = result["ratio_median"].get(name)
                quiet = result["quiet"][name]
                if quiet["p99_ms"] is None:
                    quiet_p99, p99 = f"none of {quiet['of']} reps quiet", "not judged"
                else:
                    quiet_p99 = f"{quiet['p99_ms']:.2f} ({quiet['reps']} of {quiet['of']} reps)"
                    p99 = f"<= {p99_goal_ms:g} ms: {verdict[quiet['p99_ms'] <= p99_goal_ms]}"
                shown, shown_quiet, goal = "1.00", "", ""
                if ratio is not None:
                    # Judged on the quiet pairs when there are any: steal slows the two sides unequally.
                    pairs = result["quiet_ratio"][name]
                    judged = ratio if pairs["median"] is None else pairs["median"]
                    shown = f"{ratio:.2f}"
                    shown_quiet = (
                        "no quiet pair"
                        if pairs["median"] is None
                        else f"{pairs['median']:.2f} ({pairs['pairs']} pairs)"
                    )
                    goal = f">= {goals[route]}x: {verdict[judged >= goals[route]]}"
                lines.append(
                    f"| {route} | {name} | {median['rps']:,.0f} | {median['p50_ms']:.2f} | {median['p99_ms']:.2f} | {shown} "
                    f"| {shown_quiet} | {goal} | {quiet['steal_median']:.0%} | {quiet_p99} | {p99} |"
                )
        lines.append(
            f"(load average over 1/5/15 min at the end: {' / '.join(f'{x:.1f}' for x in report.get('loadavg', []))})"
        )
    if "rss" in report:
        rss = report["rss"]
        lines.append(
            f"\nRSS over {rss['seconds']} s of POST /run at {rss['rps']:,.0f} req/s (paced at {rss['target_rps']:,}; "
            f"p99 {rss['p99_ms']:.1f} ms; steal {rss['steal']:.0%}): "
            f"start {rss['rss_start_mib']:.1f} MiB, after first fifth {rss['rss_settled_mib']:.1f} MiB, "
            f"end {rss['rss_end_mib']:.1f} MiB, growth {rss['growth_after_settle']:+.1%} "
            f"(goal < {rss_goal:.0%}: {verdict[rss['growth_after_settle'] < rss_goal]})"
        )
    if "accuracy" in report:
        acc = report["accuracy"]
        lines.append(
            f"\nLimiter accuracy, sliding window {acc['limit']} / {acc['window_s']:g} s, offered {acc['offered_rps']:.0f} req/s "
            f"for {acc['seconds']} s: {acc['accepted_server']} accepted, {acc['rejected_429']} x 429; "
            f"most in any span {acc['max_in_span']} (goal <= {acc['limit']}: {verdict[acc['max_ok']]}); "
            f"fewest in a consecutive window {acc['min_in_window']} of {acc['windows']} windows "
            f"(goal >= {0.99 * acc['limit']:.0f}: {verdict[acc['min_ok']]}); fewest in any sliding span "
            f"{acc['min_in_any_span']} ({acc['spans_at_least_99pct']:.1%} of {acc['spans_checked']} spans >= 99%); "
            f"accept times from {acc['accept_times_from']}"
        )
    return "\n".join(lines)
