"""`podbench load --web`: Locust's web UI on loopback while the run lasts, with podbench's rates.

The UI answers on 127.0.0.1 during the run (Locust's page, and its `/stats/requests` carrying the
podbench tab: scheduled sends against the offered rate, follow-ups apart, 429s), is gone after
it, and the result folder is written as usual. Its stop button ends the run with results kept.
Without `--web` the load generator listens on nothing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

pytestmark = pytest.mark.slow
URL = re.compile(r"live view \(Locust web UI\) at (http://127\.0\.0\.1:\d+/)")


class LoadRun:
    """`podbench load` in the background, its output collected line by line."""

    def __init__(self, out: Path, *args: str) -> None:
        cmd = [sys.executable, "-m", "podbench", "load", "--profile", "smoke", "--out", str(out)]
        cmd += ["--emulator-arg=--rate-limits=off", *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = pattern.search(self.output)
            if match:
                return match
            assert self.proc.poll() is None, self.output[-2000:]
            time.sleep(0.1)
        raise AssertionError(f"no {pattern.pattern!r} in: {self.output[-2000:]}")

    def finish(self, timeout: float = 90) -> int:
        code = self.proc.wait(timeout)
        self.reader.join(10)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.reader.join(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def runs() -> Iterator[list[LoadRun]]:
    started: list[LoadRun] = []
    yield started
    for run in started:
        run.kill()


def podbench_rows(url: str, timeout: float = 60) -> dict[str, dict[str, Any]]:
    """The podbench tab's rows, once the merged counters have some (they trail by ~2 s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            resp = requests.get(url + "stats/requests", timeout=5)
        except requests.ConnectionError:  # Locust is still starting
            time.sleep(0.2)
            continue
        assert resp.status_code == 200
        [tab] = [t for t in resp.json().get("extended_stats", []) if t["key"] == "podbench"]
        rows = {r["row"]: r for r in tab["data"]}
        if rows.get("status", {}).get("requests") and "status follow-ups" in rows:
            return rows
        time.sleep(0.5)
    raise AssertionError("the podbench tab never filled")


def refused(url: str) -> bool:
    try:
        requests.get(url, timeout=2)
    except requests.ConnectionError:
        return True
    return False


def test_the_ui_answers_on_loopback_during_the_run_and_is_gone_after_it(
    tmp_path: Path, runs: list[LoadRun]
) -> None:
    run = LoadRun(tmp_path / "web", "--duration", "6s", "--web")
    runs.append(run)
    url = run.wait_for(URL).group(1)
    rows = podbench_rows(url)
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and "templateArgs" in page.text and "podbench rates" in page.text
    assert rows["status"]["kind"] == "scheduled" and rows["status"]["offered"] == 4.0
    assert rows["status follow-ups"]["offered"] == "" and rows["status follow-ups"]["requests"] > 0
    assert rows["status"]["limited"] == 0 and "dropped" in rows["status"]
    assert run.finish() == 0, run.output[-2000:]
    assert refused(url)
    summary = json.loads((tmp_path / "web" / "summary.json").read_text())
    assert summary["interrupted"] is False and summary["follow_ups"]["status_follow_up"]["requests"] > 0
    for name in ("intervals.csv", "histograms.jsonl", "manifest.json", "locust_stats.csv"):
        assert (tmp_path / "web" / name).stat().st_size > 0, name


@pytest.mark.parametrize("processes", ["1", "2"])
def test_the_stop_button_ends_the_run_and_keeps_its_results(
    tmp_path: Path, runs: list[LoadRun], processes: str
) -> None:
    out = tmp_path / "stopped"
    run = LoadRun(out, "--duration", "60s", "--web", "--processes", processes)
    runs.append(run)
    url = run.wait_for(URL).group(1)
    podbench_rows(url)
    children = psutil.Process(run.proc.pid).children(recursive=True)  # emulator, locust (+ workers)
    assert len(children) >= 1 + int(processes)
    stopped = time.monotonic()
    assert requests.post(url + "stop", timeout=30).json()["success"] is True
    assert run.finish() == 1, run.output[-2000:]  # cut short, like any run that stopped early
    assert time.monotonic() - stopped < 30
    assert "run stopped early, stop button pressed in the web UI at t=" in run.output
    assert refused(url)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] is True
    assert summary["interrupted_reason"].startswith("stop button pressed in the web UI at t=")
    assert summary["duration_s"] < 30
    for name, flow in summary["flows"].items():  # no send after the stop: rates hold up to it
        if flow["offered_rps"] * summary["duration_s"] >= 10:
            assert flow["achieved_rps"] <= flow["offered_rps"] * 1.1 + 0.2, (name, flow)
    assert json.loads((out / "manifest.json").read_text())["interrupted"] is True
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, [p.cmdline() for p in alive]  # every locust worker process ended too


def _listening(pid: int) -> list[str]:
    """Listening sockets of the load generator (podbench and its locust child; not the emulator)."""
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    found = []
    for proc in procs:
        try:
            if "emulator" in " ".join(proc.cmdline()):
                continue
            found += [f"{c.laddr}" for c in proc.net_connections("inet") if c.status == psutil.CONN_LISTEN]
        except psutil.NoSuchProcess:
            continue
    return found


def test_without_web_nothing_listens(tmp_path: Path, runs: list[LoadRun]) -> None:
    run = LoadRun(tmp_path / "quiet", "--duration", "4s")
    runs.append(run)
    run.wait_for(re.compile(r"load: \d+ s elapsed"))
    assert _listening(run.proc.pid) == []
    assert run.finish() == 0, run.output[-2000:]
