"""The arithmetic behind bench/emulator_throughput.py's verdicts: span counts, steal, quiet repetitions."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from emulator_bench_support import QUIET_STEAL, cpu_ticks, format_table, span_counts
from emulator_throughput import quiet_p99, quiet_ratio

STAT = "cpu  100 5 20 800 10 0 5 60 0 0\ncpu0 50 2 10 400 5 0 2 30 0 0\n"


def test_cpu_ticks_reads_steal_and_the_total_of_the_first_eight_fields() -> None:
    assert cpu_ticks(STAT) == (60, 100 + 5 + 20 + 800 + 10 + 0 + 5 + 60)


def test_cpu_ticks_reads_this_machine() -> None:
    steal, total = cpu_ticks()
    assert 0 <= steal <= total and total > 0


def test_span_counts_of_an_even_stream_at_the_limit() -> None:
    accepts = [i * 0.01 for i in range(3000)]  # 100 per s for 30 s: 1000 per 10 s exactly
    spans = span_counts(accepts, 10.0)
    assert spans["max_in_span"] == 1000
    assert spans["windows"] == 2
    assert spans["min_in_window"] == 1000


def test_span_counts_catch_a_burst_over_the_limit() -> None:
    accepts = sorted([i * 0.01 for i in range(3000)] + [15.0001, 15.0002])
    spans = span_counts(accepts, 10.0)
    assert spans["max_in_span"] == 1002


def test_span_counts_catch_a_gap() -> None:
    accepts = [i * 0.01 for i in range(3000) if not 1200 <= i < 1300]  # one second without accepts
    spans = span_counts(accepts, 10.0)
    assert spans["min_in_window"] == 900
    # A span starting just after an accept leaves that accept out: one fewer than a window.
    assert spans["min_in_any_span"] == 899


def test_span_counts_of_nothing() -> None:
    assert span_counts([], 10.0)["max_in_span"] == 0


def run(p99_ms: float, steal: float) -> dict[str, float]:
    return {"p99_ms": p99_ms, "steal": steal}


def test_quiet_p99_keeps_only_repetitions_below_the_steal_threshold() -> None:
    quiet = quiet_p99([run(6.0, 0.0), run(40.0, 0.2), run(8.0, QUIET_STEAL / 2)])
    assert quiet["reps"] == 2 and quiet["of"] == 3
    assert quiet["p99_ms"] == pytest.approx(7.0)


def test_quiet_p99_judges_nothing_when_no_repetition_was_quiet() -> None:
    quiet = quiet_p99([run(6.0, QUIET_STEAL), run(40.0, 0.3)])
    assert quiet["reps"] == 0 and quiet["p99_ms"] is None


def pair(bare_rps: float, bare_steal: float, rps: float, steal: float) -> dict[str, object]:
    return {
        "bare": {"steal": bare_steal},
        "emulator": {"steal": steal},
        "ratio": {"emulator": rps / bare_rps},
    }


def test_quiet_ratio_uses_only_pairs_where_neither_side_lost_cpu() -> None:
    runs = [pair(10_000, 0.0, 7_000, 0.0), pair(10_000, 0.3, 3_000, 0.0), pair(10_000, 0.0, 9_000, 0.0)]
    quiet = quiet_ratio(runs, "bare", "emulator")
    assert quiet == {"pairs": 2, "median": pytest.approx(0.8)}


def test_quiet_ratio_is_none_without_a_quiet_pair() -> None:
    assert quiet_ratio([pair(10_000, 0.2, 7_000, 0.0)], "bare", "emulator") == {"pairs": 0, "median": None}


def throughput_report(
    bare_steal: float, emulator_steal: float, emulator_p99: float, emulator_rps: float = 7_000
) -> dict[str, object]:
    def server(rps: float, p99: float, steal: float) -> dict[str, object]:
        return {"rps": rps, "p50_ms": 1.0, "p99_ms": p99, "steal": steal}

    runs = [
        {
            "bare": server(10_000, 5.0, bare_steal),
            "emulator": server(emulator_rps, emulator_p99, emulator_steal),
        }
    ]
    runs[0]["ratio"] = {"emulator": emulator_rps / 10_000}
    return {
        "throughput": {
            "run": {
                "median": {
                    name: {k: runs[0][name][k] for k in ("rps", "p50_ms", "p99_ms")}
                    for name in ("bare", "emulator")
                },
                "ratio_median": {"emulator": emulator_rps / 10_000},
                "quiet_ratio": {"emulator": quiet_ratio(runs, "bare", "emulator")},
                "quiet": {name: quiet_p99([runs[0][name]]) for name in ("bare", "emulator")},
            }
        }
    }


def test_table_judges_p99_on_quiet_repetitions() -> None:
    table = format_table(throughput_report(0.0, 0.0, 12.0), {"run": 0.6}, 10.0, 0.1)
    emulator_row = next(line for line in table.splitlines() if "| emulator |" in line)
    assert ">= 0.6x: ok" in emulator_row
    assert "<= 10 ms: MISSED" in emulator_row


def test_table_leaves_p99_unjudged_when_the_host_stole_time() -> None:
    table = format_table(throughput_report(0.0, 0.2, 40.0), {"run": 0.6}, 10.0, 0.1)
    emulator_row = next(line for line in table.splitlines() if "| emulator |" in line)
    assert "not judged" in emulator_row and "MISSED" not in emulator_row


def test_table_judges_the_ratio_on_quiet_pairs_and_falls_back_to_all() -> None:
    quiet = format_table(throughput_report(0.0, 0.0, 8.0, emulator_rps=5_000), {"run": 0.6}, 10.0, 0.1)
    assert "0.50 (1 pairs) | >= 0.6x: MISSED" in quiet
    noisy = format_table(throughput_report(0.3, 0.0, 8.0, emulator_rps=6_500), {"run": 0.6}, 10.0, 0.1)
    assert "no quiet pair | >= 0.6x: ok" in noisy
