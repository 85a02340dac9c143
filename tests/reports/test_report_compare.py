"""Comparison: a change is flagged only when it beats both the threshold and the runs' own noise."""

from __future__ import annotations

import json

import pytest

from podbench.cli import main
from reports import build_comparison
from reports.folder import INTERVAL_COLUMNS, read_folder
from reports.noise import change_noise, interval_series

RULES = '[thresholds]\nrules = ["run.p95_ms.regression <= 10%", "run.p95_ms <= 1000"]\n'


def make_run(folder, p95_per_interval, p95_overall):
    """A load run of one operation: 10 requests per 1-second interval with the given p95s."""
    folder.mkdir()
    lines = [",".join(INTERVAL_COLUMNS)]
    for t, p95 in enumerate(p95_per_interval):
        lines.append(f"{t},run,10,0,0,0,0,10,{p95 / 2},{p95 * 0.9},{p95},{p95 * 1.2},{p95 * 1.5},10,0,0,0,0")
    (folder / "intervals.csv").write_text("\n".join(lines) + "\n")
    summary = {
        "operations": {
            "run": {
                "requests": 10 * len(p95_per_interval),
                "failures": 0,
                "rate_limited": 0,
                "timeouts": 0,
                "p95_ms": p95_overall,
            }
        }
    }
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def steady(level, n=20):
    return [level + d for d in ([-2, 0, 2, 1, -1] * (n // 5))]


def test_noise_is_the_welch_interval_of_the_interval_means(tmp_path):
    base = read_folder(make_run(tmp_path / "b", [10, 20] * 5, 15))
    cand = read_folder(make_run(tmp_path / "c", [10, 20] * 5, 15))
    series = interval_series(base, "run", "p95_ms")
    assert series is not None
    assert list(series) == [10, 20] * 5
    # var = 27.78 (ddof=1) on each side, n = 10: 1.96 * sqrt(2 * 27.78 / 10) = 4.62
    assert change_noise(series, interval_series(cand, "run", "p95_ms")) == pytest.approx(
        1.96 * (2 * (250 / 9) / 10) ** 0.5
    )
    assert change_noise(series.iloc[:1], series) is None


def test_clear_regression_breaks_the_rule(tmp_path, capsys):
    base = make_run(tmp_path / "base", steady(100), 100.0)
    cand = make_run(tmp_path / "cand", steady(130), 130.0)
    rules = tmp_path / "t.toml"
    rules.write_text(RULES)
    out = tmp_path / "out"
    assert main(["compare", str(base), str(cand), "--thresholds", str(rules), "--out", str(out)]) == 1
    assert "threshold broken: run.p95_ms.regression <= 10%" in capsys.readouterr().out
    report = json.loads((out / "comparison.json").read_text())
    assert report["breached"] is True
    assert [t["status"] for t in report["thresholds"]] == ["broken", "met"]
    p95 = next(m for m in report["metrics"] if m["op"] == "run" and m["metric"] == "p95_ms")
    assert p95["verdict"] == "worse" and p95["change_pct"] == 30.0
    html = (out / "comparison.html").read_text()
    assert "side by side" in html.lower() and html.count("data:image/svg+xml;base64,") >= 2


def test_same_change_inside_the_noise_is_not_flagged(tmp_path):
    base = make_run(tmp_path / "base", [40, 160] * 10, 100.0)
    cand = make_run(tmp_path / "cand", [50, 210] * 10, 130.0)
    rules = tmp_path / "t.toml"
    rules.write_text(RULES)
    outcome = build_comparison(base, cand, tmp_path / "out", rules)
    assert not outcome.breached
    assert "within noise, not flagged" in outcome.results[0].detail


def test_improvement_is_better_not_worse(tmp_path):
    base = make_run(tmp_path / "base", steady(130), 130.0)
    cand = make_run(tmp_path / "cand", steady(100), 100.0)
    outcome = build_comparison(base, cand, tmp_path / "out")
    assert outcome.results == [] and not outcome.breached
    metrics = json.loads((tmp_path / "out" / "comparison.json").read_text())["metrics"]
    assert next(m for m in metrics if m["metric"] == "p95_ms" and m["op"] == "run")["verdict"] == "better"


def test_compare_without_load_runs(result_folder, tmp_path):
    folder = result_folder("conformance_only")
    outcome = build_comparison(folder, folder, tmp_path / "out")
    html = outcome.path.read_text()
    assert "Neither folder holds a load run" in html and "No claim changed its outcome" in html


def test_compare_usage_errors(tmp_path, result_folder, capsys):
    folder = result_folder("conformance_only")
    assert main(["compare", str(folder), str(tmp_path / "absent"), "--out", str(tmp_path / "o")]) == 2
    assert "no such result folder" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("[thresholds]\nrules = ['run.p95_ms <<= 3']\n")
    assert (
        main(["compare", str(folder), str(folder), "--thresholds", str(bad), "--out", str(tmp_path / "o")])
        == 2
    )
