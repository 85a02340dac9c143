"""The arithmetic behind bench/llm_streams.py: tokens matched to the emulator's schedule by job
and index, the clock turned into epoch seconds, first rounds apart, sequences at once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from llm_streams import compare


def test_receive_times_are_set_against_due_times_on_one_clock() -> None:
    # emulator clock 100 s = epoch 1000 s; two sequences at once, then a second request on slot a
    rows = [
        ["a", 0, 100.0, 100.0005],
        ["a", 1, 100.1, 100.1005],
        ["b", 0, 100.05, 100.05],
        ["c", 0, 100.3, 100.3],
    ]
    schedule = {"now": 101.0, "wall": 1001.0, "rows": rows}
    received = [
        ["a", 0, 1000.001, 1000.001],
        ["a", 1, 1000.103, 1000.103],
        ["b", 0, 1000.050, 1000.050],
        ["c", 0, 1000.302, 1000.307],  # read 5 ms after it arrived
    ]
    result = compare(schedule, {"cpu_s": 1.0, "wall_s": 4.0, "received": received}, sequences=2)
    assert result["tokens_matched"] == 4 and result["max_sequences_at_once"] == 2
    assert result["receive_minus_due_ms_first_round"]["n"] == 3  # jobs a and b started first
    assert result["receive_minus_due_ms"]["p99"] == pytest.approx(2.0, abs=1e-3)  # job c, 2 ms late
    assert result["read_minus_due_ms"]["p99"] == pytest.approx(7.0, abs=1e-3)  # and read 5 ms later
    assert result["emitted_minus_due_ms"]["max"] == pytest.approx(0.5, abs=1e-3)
    assert result["itl_error_ms"]["n"] == 1 and result["itl_error_ms"]["p50"] == pytest.approx(2.0, abs=1e-3)
    assert result["generator_cpu_share"] == 0.25
