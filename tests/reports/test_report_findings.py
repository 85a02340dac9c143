"""Troubleshooting findings and the last-line redaction, on small inputs."""

from __future__ import annotations

from reports.findings import findings
from reports.folder import read_folder
from reports.metrics import job_metrics, operation_rows
from reports.redact import redact_mapping, redact_text


def states(run):
    return {f.issue: f.state for f in findings(run, operation_rows(run), job_metrics(run))}


def test_load_run_findings(result_folder):
    run = read_folder(result_folder("load_small"))
    found = {f.issue: f for f in findings(run, operation_rows(run), job_metrics(run))}
    assert found["Job stuck in queue"].state == "seen"
    assert any("no idle workers" in e for e in found["Job stuck in queue"].evidence)
    assert found["Timeout errors"].evidence == ["run: 1 request timed out", "1 job ended TIMED_OUT"]
    assert found["Failed jobs"].evidence == [
        "1 job FAILED (25.00% of submitted)",
        "run: 1 response with status 5xx",
    ]
    assert found["Rate limiting"].evidence == ["run: 3 responses 429 (3.00% of requests)"]
    assert (
        found["Missing results"].state == "cannot tell"
    )  # no status codes per operation without summary.json
    assert found["Failed jobs"].remedy == "Check logs, verify input format, retry with fixed input"
    seen_first = [f.state for f in findings(run, operation_rows(run), job_metrics(run))]
    assert seen_first == sorted(seen_first, key=["seen", "cannot tell", "not seen"].index)


def test_nothing_to_judge_is_cannot_tell(tmp_path):
    assert set(states(read_folder(tmp_path)).values()) == {"cannot tell"}


def test_redaction():
    assert redact_text("Authorization: Bearer abcdefghijklmnop") == "Authorization: Bearer <redacted>"
    assert redact_text('{"api_key": "rpa_ABCDEFGHIJKLMNOP"}') == '{"api_key": "<redacted>"}'
    assert redact_text("key rpa_ABCDEFGHIJKLMNOP here") == "key <redacted> here"
    assert redact_text("GET /v2/ep/status/abc -> 404") == "GET /v2/ep/status/abc -> 404"
    clean = redact_mapping(
        {"api_key": "<from $X, redacted>", "token": "t0ps3cret", "nested": {"secret": "s"}, "base_url": "u"}
    )
    assert clean == {
        "api_key": "<from $X, redacted>",
        "token": "<redacted>",
        "nested": {"secret": "<redacted>"},
        "base_url": "u",
    }
