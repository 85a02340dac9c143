"""The reference for bench/load_accuracy.py: a bare FastHttpUser hitting /health with no wait.

Run only as a Locust subprocess (importing locust gevent-patches the importing process). Writes
its process CPU seconds and request count, from the first request on, to $BARE_STATS_OUT.
"""

from __future__ import annotations

import json
import os
from typing import Any

import psutil
from locust import FastHttpUser, constant, events, task

STATE: dict[str, float] = {"requests": 0}


class BareHealthUser(FastHttpUser):
    wait_time = constant(0)
    concurrency = 1

    def on_start(self) -> None:
        self.path = f"/{os.environ.get('RUNPOD_ENDPOINT_ID', 'podbench')}/health"
        self.headers = {"Authorization": f"Bearer {os.environ.get('RUNPOD_API_KEY', '')}"}

    @task
    def health(self) -> None:
        if "cpu_start" not in STATE:
            STATE["cpu_start"] = _cpu()
        self.client.get(self.path, headers=self.headers)
        STATE["requests"] += 1


def _cpu() -> float:
    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


@events.quitting.add_listener  # type: ignore[untyped-decorator]
def _write(**_: Any) -> None:
    path = os.environ.get("BARE_STATS_OUT")
    if path:
        cpu = _cpu() - STATE.get("cpu_start", _cpu())
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"cpu_s": cpu, "requests": STATE["requests"]}, fh)
