"""The whole report from each hand-made folder, and the `podbench report` command's exit codes."""

from __future__ import annotations

import re

import pytest

from podbench.cli import main
from reports import build_report

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?!data:|#)""", re.IGNORECASE)


def render(folder, thresholds=None):
    outcome = build_report(folder, thresholds)
    assert outcome.path == folder / "report.html"
    return outcome, outcome.path.read_text()


def test_load_only_report(rendered):
    html = rendered("load_small")
    assert not EXTERNAL.search(html) and "http://" not in html.replace("http://127.0.0.1:8000/v2", "")
    assert html.count('src="data:image/svg+xml;base64,') >= 7
    assert "Not in this folder: conformance run (conformance.json)" in html
    assert "No conformance run in this folder" in html and "No rate-limit discovery in this folder" in html
    assert "REPORT</span>" in html and "no thresholds given" in html
    assert "load generator&#39;s CPU was above 90%" in html and "2 sends more than 50 ms late" in html
    # the stuck-queue finding from health.csv, with its documented remedy
    assert (
        "queue depth grew from 0.0 to 7.0 jobs" in html
        and "Increase max workers, check endpoint health" in html
    )


def test_full_report_redacts_and_orders(rendered):
    html = rendered("full")
    assert "LEAKEDKEY" not in html and "SHOULDNOTAPPEAR" not in html
    assert "Bearer &lt;redacted&gt;" in html
    assert "The run was cut short" in html and "run was cut short" in html
    claims = re.findall(r'<td class="mono">([a-z.]+)</td><td class="left"><span class="pill (\w+)"', html)
    assert claims[0] == ("status.retention.run", "violated")  # violations first
    assert [c[1] for c in claims] == ["violated", "recorded", "passed", "passed"]
    assert "75% of documented" in html and "as documented" in html  # runsync 1500 of 2000; run 1000 of 1000
    assert (
        "5 workers keep p95 under 500 ms at 20 jobs/s" in html
        and "knee (highest rate meeting the SLO)" in html
    )
    assert "capacity = c / E[S]" in html and "p95_ms&lt;=500" in html
    assert "FAIL</span>" in html and "1 conformance violation" in html
    for issue in ("Job stuck in queue", "Timeout errors", "Failed jobs", "Rate limiting", "Missing results"):
        assert issue in html
    assert "status: 3 responses 404" in html  # missing results evidence from status codes


def test_conformance_only_report(rendered):
    html = rendered("conformance_only")
    assert "No load run in this folder" in html and "Findings" in html
    assert "PASS</span>" in html and "0 conformance violations · 1 harness errors" in html
    assert "connection refused" in html


def test_broken_and_empty_folders_still_render(rendered, tmp_path):
    html = rendered("broken")
    assert "summary.json could not be read" in html
    empty = tmp_path / "empty"
    empty.mkdir()
    _, html = render(empty)
    assert "No manifest.json in this folder" in html and "No load run in this folder" in html


def test_thresholds_decide_the_verdict(result_folder, tmp_path):
    rules = tmp_path / "t.toml"
    rules.write_text(
        '[thresholds]\nrules = ["run.p95_ms <= 250", "run.p95_ms.regression <= 10%", "run.p95_ms <= 100", '
        '"conformance.violations == 0"]\n'
    )
    outcome, html = render(result_folder("conformance_only"), rules)  # the cheapest folder to render
    assert [r.status for r in outcome.results] == ["broken", "skipped", "broken", "met"]
    assert outcome.breached and "2 of 4 thresholds broken" in html and "no value for run.p95_ms" in html


def test_report_command_exit_codes(result_folder, tmp_path, capsys):
    folder = result_folder("conformance_only")
    assert main(["report", str(folder)]) == 0
    good, bad, malformed = tmp_path / "good.toml", tmp_path / "bad.toml", tmp_path / "malformed.toml"
    good.write_text('[thresholds]\nrules = ["conformance.passed >= 1"]\n')
    bad.write_text('[thresholds]\nrules = ["conformance.harness_errors == 0"]\n')
    malformed.write_text('[thresholds]\nrules = ["all.rate_limited_share <= 1%"]\n')
    assert main(["report", str(folder), "--thresholds", str(good)]) == 0
    assert main(["report", str(folder), "--thresholds", str(bad)]) == 1
    assert "threshold broken: conformance.harness_errors == 0" in capsys.readouterr().out
    assert main(["report", str(folder), "--thresholds", str(malformed)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "only for .regression" in err
    assert main(["report", str(tmp_path / "absent")]) == 2


@pytest.mark.parametrize("name", ["load_small", "full", "conformance_only"])
def test_report_has_no_script_but_the_print_helper(rendered, name):
    html = rendered(name)
    assert html.count("<script") == 1 and "beforeprint" in html
    assert "<link" not in html and "@import" not in html and "url(" not in html


def test_the_conformance_section_names_the_worker_mode_and_why_claims_were_skipped(result_folder):
    import json

    from reports import build_report

    folder = result_folder("conformance_only")
    verdict = json.loads((folder / "conformance.json").read_text())
    verdict["worker"] = {"mode": "foreign", "inputs": {"sample": "/somewhere/test_input.json"}}
    claim = verdict["claims"][0]
    claim["outcome"] = "skipped"
    claim["results"] = [{"message": "foreign worker: needs a job that fails; pass --fail-input FILE"}]
    (folder / "conformance.json").write_text(json.dumps(verdict))
    html = build_report(folder).path.read_text()
    assert "Worker: <strong>foreign</strong>" in html and "sample: test_input.json" in html
    assert "pass --fail-input FILE" in html


def test_a_worker_run_names_the_file_its_sdk_its_cold_starts_and_its_hub_tests(result_folder):
    import json

    from reports import build_report

    folder = result_folder("conformance_only")
    worker = {"worker_file": "/src/handler.py", "runpod_version": "1.12.0", "workers": 2}
    worker |= {"cold_start_ms": [900.0, 1100.0, 1500.0], "restarts": 1}
    (folder / "worker.json").write_text(json.dumps(worker))
    tests = [
        {"name": "reverses", "passed": True, "status": "COMPLETED", "seconds": 0.4, "timeout_ms": 10000},
        {"name": "too slow", "passed": False, "status": "not final within 10 ms", "timeout_ms": 10},
    ]
    (folder / "hub_tests.json").write_text(json.dumps({"source": ".runpod/tests.json", "tests": tests}))
    html = build_report(folder).path.read_text()
    assert "/src/handler.py" in html and "1.12.0" in html
    assert "3 measured (process start + import): median 1,100 ms, max 1,500 ms" in html, html[
        html.find("Cold") :
    ][:300]
    assert "reverses" in html and "not final within 10 ms" in html and "1 restarts" in html
