"""One real worker process (the SDK's own loop) against the in-process handler, side by side.

Two endpoints of one emulator run the same trivial handler (`trivial_worker.py`): `proc` as an
unmodified worker file in its own process, `inproc` as `handler = "trivial_worker:handler"`.

- jobs/s: N jobs queued at once through one worker, submit of the first to completion of the last;
- the emulator's own added latency per job: sequential `/runsync` with the worker idle (its
  job-take open), client-observed end to end minus the job's own run as the emulator recorded it
  (from the job-take reply to the job-done arrival: the SDK's loop and the handler), median and p90.

    .venv/bin/python bench/worker_process.py            # about 1 min
    .venv/bin/python bench/worker_process.py --quick    # about 25 s
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from contract.emulator_process import ChildServer, emulator_command, emulator_env

HERE = Path(__file__).resolve().parent
GOAL_ADDED_MS = 5.0


def config_text() -> str:
    return f"""
[[endpoint]]
id = "proc"
worker = "{HERE / "trivial_worker.py"}"
workers_min = 1
workers_max = 1

[[endpoint]]
id = "inproc"
handler = "trivial_worker:handler"
workers_min = 1
workers_max = 1
cold_start_s = 0
"""


class Client:
    def __init__(self, base: str, key: str, admin: str) -> None:
        self.base, self.session = base, requests.Session()
        self.key, self.admin = key, admin

    def post(self, path: str, body: Any) -> Any:
        r = self.session.post(
            f"{self.base}/v2/{path}", json=body, headers={"Authorization": self.key}, timeout=60
        )
        return r.json()

    def get(self, path: str) -> Any:
        return self.session.get(
            f"{self.base}/v2/{path}", headers={"Authorization": self.key}, timeout=60
        ).json()

    def jobs(self, endpoint: str) -> dict[str, Any]:
        r = self.session.get(
            f"{self.base}/_emulator/endpoints/{endpoint}/jobs",
            headers={"Authorization": f"Bearer {self.admin}"},
            timeout=60,
        )
        return {j["id"]: j for j in r.json()["jobs"]}


def throughput(client: Client, endpoint: str, n: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda i: client.post(f"{endpoint}/run", {"input": {"i": i}})["id"], range(n)))
    deadline = time.monotonic() + 120
    pending = set(ids)
    while pending:
        if time.monotonic() > deadline:
            raise SystemExit(f"{endpoint}: {len(pending)} jobs not done after 120 s")
        for job_id in list(pending):
            if client.get(f"{endpoint}/status/{job_id}")["status"] == "COMPLETED":
                pending.discard(job_id)
        time.sleep(0.02)
    return n / (time.perf_counter() - started)


def added_latency(client: Client, endpoint: str, n: int, gap_s: float) -> dict[str, float]:
    """Client end to end minus the job's own run (job-take reply to job-done), per job, in ms."""
    e2e: dict[str, float] = {}
    for i in range(n):
        time.sleep(gap_s)  # the SDK's loop sleeps 1 s after each job before it takes again
        t0 = time.perf_counter()
        reply = client.post(f"{endpoint}/runsync", {"input": {"i": i}})
        e2e[reply["id"]] = (time.perf_counter() - t0) * 1000
        assert reply["status"] == "COMPLETED", reply
    recorded = client.jobs(endpoint)
    run_ms = {jid: (recorded[jid]["finished"] - recorded[jid]["started"]) * 1000 for jid in e2e}
    added = sorted(e2e[jid] - run_ms[jid] for jid in e2e)
    return {
        "e2e_median_ms": statistics.median(e2e.values()),
        "run_median_ms": statistics.median(run_ms.values()),
        "added_median_ms": statistics.median(added),
        "added_p90_ms": added[int(0.9 * (len(added) - 1))],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer jobs")
    args = parser.parse_args()
    jobs, sequential = (6, 8) if args.quick else (15, 20)
    key, admin = "pb-" + secrets.token_urlsafe(12), "pb-admin-" + secrets.token_urlsafe(12)
    with tempfile.TemporaryDirectory(prefix="pb-bench-worker-") as tmp:
        config = Path(tmp) / "workers.toml"
        config.write_text(config_text())
        env = emulator_env(key, admin)
        env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        command = emulator_command("--port", "0", "--config", str(config), "--rate-limits", "off")
        with ChildServer(
            command, ready_file=Path(tmp) / "ready.json", log_path=Path(tmp) / "emu.log", env=env
        ) as server:
            client = Client(server.url, key, admin)
            deadline = time.monotonic() + 60
            while client.get("proc/health")["workers"]["idle"] < 1:
                if time.monotonic() > deadline:
                    raise SystemExit("the worker process did not take a job within 60 s")
                time.sleep(0.1)
            results: dict[str, Any] = {}
            for endpoint in ("proc", "inproc"):  # same emulator, same run, one after the other
                results[endpoint] = {"jobs_per_s": throughput(client, endpoint, jobs)}
                results[endpoint].update(
                    added_latency(client, endpoint, sequential, 1.2 if endpoint == "proc" else 0.05)
                )
    proc, inproc = results["proc"], results["inproc"]
    print(f"{'':24}{'worker process':>16}{'in-process':>14}{'ratio':>8}")
    print(
        f"{'jobs/s, one worker':24}{proc['jobs_per_s']:>16.2f}{inproc['jobs_per_s']:>14.1f}"
        f"{proc['jobs_per_s'] / inproc['jobs_per_s']:>8.3f}"
    )
    for name in ("e2e_median_ms", "run_median_ms", "added_median_ms", "added_p90_ms"):
        print(f"{name:24}{proc[name]:>16.1f}{inproc[name]:>14.1f}")
    verdict = proc["added_median_ms"] <= GOAL_ADDED_MS
    print(
        f"emulator's added latency per process job: {proc['added_median_ms']:.1f} ms median "
        f"(goal <= {GOAL_ADDED_MS:.0f} ms beyond the SDK's own loop): {'met' if verdict else 'MISSED'}"
    )
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "worker_process.json").write_text(json.dumps(results, indent=2))
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
