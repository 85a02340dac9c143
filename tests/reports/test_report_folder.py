"""Reading a result folder: every part optional, unreadable parts named, never a crash."""

from __future__ import annotations

import pytest

from reports.errors import ReportInputError
from reports.folder import read_folder


def test_missing_folder_is_a_usage_error(tmp_path):
    with pytest.raises(ReportInputError, match="no such result folder"):
        read_folder(tmp_path / "nope")


def test_empty_folder_has_no_parts(tmp_path):
    run = read_folder(tmp_path)
    assert not run.has_load and run.conformance is None and run.limits is None and run.notes == []
    assert run.operations() == []


def test_load_folder_parts(result_folder):
    run = read_folder(result_folder("load_small"))
    assert run.has_load and run.summary is None
    assert run.operations() == ["run", "status"]
    assert run.histograms is not None and run.health is not None
    histogram = run.histograms.get("run", "latency")
    assert histogram is not None and histogram.get_total_count() == 100
    assert list(run.health["in_queue"]) == [0, 0, 1, 4, 6, 8]
    assert run.notes == []


def test_broken_parts_are_named_and_left_out(result_folder):
    run = read_folder(result_folder("broken"))
    assert run.summary is None and run.intervals is None and run.histograms is None
    text = " | ".join(run.notes)
    assert "summary.json could not be read" in text
    assert "intervals.csv lacks the column(s) t, op, requests" in text
    assert "histograms.jsonl: 2 line(s) could not be decoded" in text
    # health.csv keeps its two columns; the others are said to be empty
    assert run.health is not None and "health.csv lacks the column(s) in_progress" in text


def test_wrong_json_shape_is_a_note(tmp_path):
    (tmp_path / "limits.json").write_text("[1, 2]")
    (tmp_path / "conformance.json").write_text('{"claims": 3}')
    run = read_folder(tmp_path)
    assert run.limits is None and run.conformance is None
    assert len(run.notes) == 2
