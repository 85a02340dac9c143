"""A run cut short gets a neutral INCOMPLETE verdict (never PASS), and every report names the
requests that got no reply apart from the exact statuses (500 vs 503) per operation."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from podbench.cli import main
from reports.page import verdict

REASON = "target unreachable since t=1.2 s"


def _cut_short(folder: Path) -> Path:
    """load_small, with a summary.json whose run was stopped because the target went away."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(interrupted=True, interrupted_reason=REASON)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    row = {
        "offered_rps": 10.0,
        "achieved_rps": 9.0,
        "failures": 9,
        "rate_limited": 0,
        "timeouts": 1,
        "late_sends": 0,
        "dropped_sends": 0,
        "p95_ms": 40.0,
    }
    summary = {
        "profile": "smoke",
        "duration_s": 2.0,
        "interrupted": True,
        "interrupted_reason": REASON,
        "operations": {
            "run": {**row, "requests": 20, "status_codes": {"0": 5, "200": 11, "500": 3, "503": 1}},
            "status": {**row, "requests": 10, "failures": 0, "timeouts": 0, "status_codes": {"200": 10}},
        },
        "total": {**row, "requests": 30, "status_codes": {"0": 5, "200": 21, "500": 3, "503": 1}},
    }
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def _badge(html: str) -> str:
    match = re.search(r'<div class="verdict (\w+)" id="verdict"><span class="badge">(\w+)</span>', html)
    assert match, "no verdict line"
    return f"{match.group(1)}:{match.group(2)}"


def _rules(tmp_path: Path, rule: str) -> str:
    path = tmp_path / f"rules-{abs(hash(rule))}.toml"
    path.write_text(f'[thresholds]\nrules = ["{rule}"]\n')
    return str(path)


def test_an_interrupted_run_is_incomplete_not_pass() -> None:
    assert verdict([], {}, interrupted=True, reason=REASON) == {
        "state": "incomplete",
        "label": "INCOMPLETE",
        "text": f"no thresholds given · run was cut short: {REASON}",
    }
    assert verdict([], {"violations": 0.0}, interrupted=False)["label"] == "PASS"


def test_a_conformance_violation_still_fails_an_interrupted_run() -> None:
    assert (
        verdict([], {"violations": 1.0}, interrupted=True)["label"] == "FAIL"
    )  # thresholds: end to end below


def test_report_of_a_cut_short_run(
    result_folder: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _cut_short(result_folder("load_small"))
    # Thresholds are still judged; none broken: INCOMPLETE and exit 0 (documented in reports/README.md).
    assert main(["report", str(folder), "--thresholds", _rules(tmp_path, "run.requests >= 1")]) == 0
    html = (folder / "report.html").read_text()
    assert _badge(html) == "incomplete:INCOMPLETE" and "PASS</span>" not in html
    assert "all 1 thresholds met" in html and REASON in html
    assert f"The run was cut short</strong> ({REASON})" in html
    # A broken one: FAIL, exit 1, and the cut is still said.
    assert main(["report", str(folder), "--thresholds", _rules(tmp_path, "run.p95_ms <= 1")]) == 1
    html = (folder / "report.html").read_text()
    assert _badge(html) == "fail:FAIL" and "run was cut short" in html
    capsys.readouterr()


def test_no_reply_and_exact_status_codes_per_operation(result_folder: Callable[[str], Path]) -> None:
    folder = _cut_short(result_folder("load_small"))
    assert main(["report", str(folder)]) == 0
    html = (folder / "report.html").read_text()
    table = html[html.index('id="status-codes"') :]
    table = table[: table.index("</table>")]
    assert re.findall(r"<th>(\d+)</th>", table) == ["200", "500", "503"]
    assert "No reply / connection errors" in table
    run = re.search(r"<tr><td>run</td>(.*?)</tr>", table)
    assert run
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", run.group(1))
    assert cells == [
        "11",
        "3",
        "1",
        "4",
        "1",
    ]  # 200, 500, 503, connection errors (5 no reply - 1 timeout), timeouts
    assert "run: 4 responses with status 5xx (3 × 500, 1 × 503)" in html
    assert "No reply</th>" in html  # and its own column in the operations table


def test_connection_errors_can_gate_a_build(
    result_folder: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _cut_short(result_folder("load_small"))
    assert main(["report", str(folder), "--thresholds", _rules(tmp_path, "run.connection_errors <= 3")]) == 1
    assert "run.connection_errors <= 3" in capsys.readouterr().out
