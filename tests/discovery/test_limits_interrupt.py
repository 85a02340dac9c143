"""Ctrl-C during `podbench limits`: a real SIGINT to the command's process. What was measured
is kept in `limits.json`, marked incomplete, and the command exits 130.

Not `timing` (tests/README.md): the finished operation's limit is the count a sliding window lets
through a fast burst (20 of the first requests whatever their pace within the 1 s window), and the
interrupted one is asserted to have some answers and to be unfinished (it runs for seconds)."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

WAIT_S = 90.0


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)


@pytest.mark.slow
def test_sigint_writes_what_was_measured_and_exits_130(tmp_path: Path) -> None:
    config = tmp_path / "limits.toml"
    config.write_text(
        """
[[endpoint]]
id = "limits-test"
[endpoint.limits]
algorithm = "sliding_window"
[endpoint.limits.status]
rate = 20
window_s = 1.0
[endpoint.limits.cancel]
rate = 20
window_s = 1.0
""",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    argv = [sys.executable, "-u", "-m", "podbench", "limits", "--emulator-config", str(config)]
    argv += ["--operation", "status", "--operation", "cancel", "--no-concurrency"]
    argv += ["--expect", "status=20/1s", "--expect", "cancel=20/1s", "--out", str(out)]
    err_file = tmp_path / "stderr.txt"
    with (
        err_file.open("w") as err,
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True) as proc,
    ):
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
        try:
            deadline = time.monotonic() + WAIT_S
            seen = ""
            while "cancel: probing the rate limit" not in seen:  # status is done, cancel under way
                assert proc.poll() is None, f"exited early ({proc.returncode}): {seen}"
                try:
                    seen += lines.get(timeout=max(0.1, deadline - time.monotonic()))
                except queue.Empty:
                    pytest.fail(f"no 'cancel' probe within {WAIT_S} s: {seen}")
            # let the cancel probe get answers, at the lowest CPU priority too (it runs 4 s or more)
            time.sleep(2.0)
            os.kill(proc.pid, signal.SIGINT)
            code = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    stderr = err_file.read_text()
    assert code == 130, stderr
    assert "Traceback" not in stderr
    doc = json.loads((out / "limits.json").read_text())
    assert doc["complete"] is False and "Ctrl-C" in doc["interrupted"]
    status, cancel = doc["operations"]["status"], doc["operations"]["cancel"]
    assert status["complete"] is True and status["limit"] == 20  # measured before the interrupt
    assert cancel["complete"] is False and cancel["timeline"]  # what it got so far, kept
    assert any("Ctrl-C" in note for note in cancel["evidence"]["notes"])
    assert json.loads((out / "manifest.json").read_text())["interrupted"] is True
