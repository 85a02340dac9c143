"""A folder holding simulation.json gets a what-if section: the cost/p95 chart and the timeline."""

from __future__ import annotations

import json
import re
from pathlib import Path

from reports.charts_simulation import cost_latency_chart
from reports.page import build_report


def _entry(p95: float, per_day: float, *, pareto: bool, slo_met: bool) -> dict[str, object]:
    return {
        "endpoint": {
            "workers_min": 0,
            "workers_max": 2,
            "idle_timeout_s": 5,
            "scaler": "queue_delay",
            "scaler_value": 4,
        },
        "end_to_end_ms": {"p50": p95 / 2, "p95": p95, "p99": p95 * 1.2},
        "delay_ms": {"p50": 0, "p95": 10, "p99": 20},
        "cold_starts": 3,
        "max_in_queue": 4,
        "worker_seconds": {"total": 100.0, "running": 50.0, "idle": 40.0, "initializing": 10.0},
        "billed_seconds": {"active": 0.0, "flex": 101.0},
        "cost": {"total": 1.0, "per_1k_jobs": 2.0, "per_day": per_day},
        "slo_met": slo_met,
        "pareto": pareto,
    }


def test_report_has_the_what_if_section(tmp_path: Path) -> None:
    doc = {
        "trace": {"source": "poisson shape", "jobs": 10, "duration_s": 60},
        "slo": "p95_ms<=2000",
        "pricing": {"flex_per_s": 0.001, "active_per_s": 0.001, "round_up_s": 1},
        "billing_rules": "docs/billing.md",
        "settings": [
            _entry(1500, 30, pareto=True, slo_met=True),
            _entry(3000, 20, pareto=True, slo_met=False),
            _entry(2500, 40, pareto=False, slo_met=False),
        ],
        "recommendation": {
            "setting": 0,
            "reason": "the lowest cost among the 1 settings meeting p95_ms<=2000",
        },
        "timeline": {
            "setting": 0,
            "columns": ["t", "in_queue_max", "in_queue_mean", "running", "idle", "initializing"],
            "rows": [[float(t), t % 3, 0.5, 1.0, 0.5, 0.0] for t in range(60)],
        },
    }
    (tmp_path / "simulation.json").write_text(json.dumps(doc))
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": ["simulation"]}))
    html = build_report(tmp_path).path.read_text()
    section = html[html.index('<section id="simulation">') :]
    section = section[: section.index("</section>")]
    assert len(re.findall(r'<img src="data:image/svg\+xml;base64,', section)) == 2
    assert "Recommended: the lowest cost" in section
    assert section.count("<tr") == 4  # header and three settings


def test_cost_chart_without_points_says_so() -> None:
    assert b"no data" in cost_latency_chart([], None)


def test_a_simulation_of_generation_requests_shows_ttft_and_sequences(tmp_path: Path) -> None:
    entry = _entry(3000, 20, pareto=True, slo_met=True)
    entry["ttft_ms"] = {"p50": 400.0, "p95": 987.0, "p99": 1500.0}
    entry["endpoint"]["llm"] = {"max_concurrency": 4}  # type: ignore[index]
    doc = {
        "trace": {"source": "poisson shape", "jobs": 10, "duration_s": 60},
        "llm": {"flow": "openai_chat_stream", "stream": True, "max_tokens": 64},
        "settings": [entry],
        "recommendation": {"setting": 0, "reason": "cheapest: 2 workers × 4 sequences (TTFT p95 987 ms)"},
        "timeline": None,
    }
    (tmp_path / "simulation.json").write_text(json.dumps(doc))
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": ["simulation"]}))
    html = build_report(tmp_path).path.read_text()
    section = html[html.index('<section id="simulation">') :]
    section = section[: section.index("</section>")]
    assert "TTFT p95 ms" in section and "Sequences / worker" in section and "987" in section
    assert "flow openai_chat_stream" in section and "2 workers × 4 sequences" in section
