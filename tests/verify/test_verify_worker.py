"""`--worker PATH`: a user's worker file found with its inputs and Hub tests, and `podbench verify
--worker` over a real example worker, end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from locustfiles._plan import plan_from_dict, plan_to_dict, smoke_plan
from podbench.errors import UsageError
from podbench.worker_file import WorkerFile, read_hub_tests, read_job_inputs

ROOT = Path(__file__).resolve().parents[2]
TOKEN_STREAM = ROOT / "examples" / "workers" / "token_stream" / "handler.py"


def test_a_worker_files_inputs_and_hub_tests_are_found_beside_it_or_above(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / ".runpod").mkdir()
    (repo / "src" / "handler.py").write_text("import runpod\n")
    (repo / "test_input.json").write_text('{"input": {"prompt": "hi"}}')
    (repo / ".runpod" / "tests.json").write_text(
        '{"tests": [{"name": "hi", "input": {"prompt": "hi"}, "timeout": 5000}, {"input": {}}]}'
    )
    worker = WorkerFile.from_args(str(repo / "src" / "handler.py"))
    assert worker.sample_file() == repo / "test_input.json"
    source, tests = worker.hub_tests()
    assert source == repo / ".runpod" / "tests.json"
    assert [(t.name, t.timeout_ms) for t in tests] == [("hi", 5000), ("test 2", 60_000)]


def test_job_inputs_come_from_one_object_or_one_per_line(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text('{"input": {"prompt": "a"}}')
    many = tmp_path / "many.jsonl"
    many.write_text('{"input": {"prompt": "a"}}\n\n{"input": {"prompt": "b"}}\n')
    assert read_job_inputs(one) == [{"prompt": "a"}]
    assert read_job_inputs(many) == [{"prompt": "a"}, {"prompt": "b"}]
    many.write_text('{"input": 1}\n{"prompt": "no input key"}\n')
    with pytest.raises(UsageError, match=r"many.jsonl:2"):
        read_job_inputs(many)
    bad = tmp_path / "tests.json"
    bad.write_text('{"tests": [{"name": "x", "input": {}, "timeout": -1}]}')
    with pytest.raises(UsageError, match="timeout"):
        read_hub_tests(bad)


def test_the_load_plan_carries_the_users_job_inputs() -> None:
    data = plan_to_dict(smoke_plan())
    data["job_inputs"] = [{"prompt": "a"}, {"prompt": "b"}]
    plan = plan_from_dict(json.loads(json.dumps(data)))
    assert plan.job_inputs == ({"prompt": "a"}, {"prompt": "b"})
    assert plan_to_dict(plan)["job_inputs"] == data["job_inputs"]


def test_verify_runs_an_example_worker_end_to_end(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[thresholds]\nrules = ["conformance.violations == 0", "all.error_rate <= 0.001"]\n')
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "podbench", "verify", "--worker", str(TOKEN_STREAM), "--profile", "worker"]
    argv += ["--duration", "5s", "--thresholds", str(rules), "--out", str(out)]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=400, env=dict(os.environ), cwd=tmp_path
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    verify = json.loads((out / "verify.json").read_text())
    assert [s["step"] for s in verify["steps"]] == ["conformance", "hub tests", "load", "report"]
    conformance = json.loads((out / "conformance.json").read_text())
    assert conformance["worker"]["mode"] == "foreign"
    assert conformance["summary"]["violated"] == 0 and conformance["summary"]["harness_errors"] == 0
    hub = json.loads((out / "hub_tests.json").read_text())
    assert hub["passed"] == 2 and hub["failed"] == 0
    worker = json.loads((out / "worker.json").read_text())
    assert worker["runpod_version"] and worker["cold_start_ms"]
    html = (out / "report.html").read_text()
    assert str(TOKEN_STREAM) in html and worker["runpod_version"] in html
