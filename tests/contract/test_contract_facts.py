"""The contract's facts agree with each other and with the documentation's table."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from contract import env, health, limits, operations, states
from contract.states import JobStatus

ROOT = Path(__file__).resolve().parents[2]


def test_operation_names_are_the_short_names_in_documented_order() -> None:
    assert operations.NAMES == (
        "run",
        "runsync",
        "status",
        "status_sync",
        "stream",
        "cancel",
        "retry",
        "purge_queue",
        "health",
        "requests",
        "openai",
    )
    assert set(operations.LOAD_OPERATIONS) <= set(operations.NAMES)


def test_shared_budgets() -> None:
    assert operations.SHARES_BUDGET_OF == {"status_sync": "status", "stream": "status", "retry": "cancel"}
    assert operations.BUDGET_OF["health"] is None
    # a budget is always an operation that spends its own budget
    for name, budget in operations.BUDGET_OF.items():
        if budget is not None:
            assert operations.BUDGET_OF[budget] == budget, name


def test_routes_and_urls() -> None:
    status = operations.operation("status")
    assert status.methods == ("GET", "POST") and status.per_job
    assert (
        status.url("http://127.0.0.1:8000/v2/", "ep", "job-1") == "http://127.0.0.1:8000/v2/ep/status/job-1"
    )
    assert operations.operation("purge_queue").url("http://h/v2", "ep") == "http://h/v2/ep/purge-queue"
    with pytest.raises(ValueError, match="needs a job id"):
        operations.operation("cancel").url("http://h/v2", "ep")
    with pytest.raises(ValueError, match="unknown operation 'nope'; choose from run, runsync"):
        operations.operation("nope")
    assert [op.name for op in operations.ALL if op.creates_jobs] == ["run", "runsync", "openai"]


def test_documented_table_rows() -> None:
    table = {row.operations: (row.method, row.rate, row.window_s, row.concurrency) for row in limits.ROWS}
    assert table == {
        ("run",): ("POST", 1000, 10.0, 200),
        ("runsync",): ("POST", 2000, 10.0, 400),
        ("status", "status_sync", "stream"): ("GET/POST", 2000, 10.0, 400),
        ("cancel",): ("POST", 100, 10.0, 20),
        ("purge_queue",): ("POST", 2, 10.0, None),
        ("openai",): ("POST", 2000, 10.0, 400),
        ("requests",): ("GET", 10, 10.0, 2),
    }
    assert all(row.source.startswith("https://docs.runpod.io/") for row in limits.ROWS)
    assert limits.QUEUE_RULE.source.startswith("https://")
    assert (limits.QUEUE_RULE.min_jobs, limits.QUEUE_RULE.jobs_per_worker) == (50, 500)


def test_documented_rows_agree_with_the_budgets() -> None:
    for op, row in limits.DOCUMENTED_FOR.items():
        assert operations.BUDGET_OF[op] == row.budget, op
    assert limits.documented("retry") is None and limits.documented("health") is None
    assert limits.documented("stream") is limits.BY_BUDGET["status"]


def test_states_and_transitions() -> None:
    assert states.STATUS_NAMES == (
        "IN_QUEUE",
        "IN_PROGRESS",
        "COMPLETED",
        "FAILED",
        "CANCELLED",
        "TIMED_OUT",
    )
    assert states.FINAL_NAMES == {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}
    assert states.RETRYABLE == {JobStatus.FAILED, JobStatus.TIMED_OUT}
    assert states.RETRYABLE_NAMES == {"FAILED", "TIMED_OUT"}
    assert list(states.FINAL_COUNT_KEYS.items()) == [
        ("COMPLETED", "completed"),
        ("FAILED", "failed"),
        ("CANCELLED", "cancelled"),
        ("TIMED_OUT", "timed_out"),
    ]
    assert set(states.TRANSITIONS) == set(JobStatus)
    # a final state moves nowhere but back to the queue (retry)
    for final in states.FINAL:
        assert states.TRANSITIONS[final] <= {JobStatus.IN_QUEUE}
    assert states.is_legal(JobStatus.IN_QUEUE, JobStatus.IN_PROGRESS)
    assert not states.is_legal(JobStatus.COMPLETED, JobStatus.IN_QUEUE)
    assert states.is_final("CANCELLED") and not states.is_final("IN_QUEUE") and not states.is_final(None)


def test_every_state_is_reachable_from_the_queue() -> None:
    seen, todo = {JobStatus.IN_QUEUE}, [JobStatus.IN_QUEUE]
    while todo:
        for nxt in states.TRANSITIONS[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    assert seen == set(JobStatus)


def test_every_health_field_has_its_health_csv_column() -> None:
    from contract.results import HEALTH_COLUMNS

    assert health.csv_column("inProgress") == "in_progress"
    columns = [health.csv_column(f) for f in (*health.JOB_FIELDS, *health.WORKER_FIELDS)]
    assert set(columns) <= set(HEALTH_COLUMNS)


def test_health_fields_and_env_names() -> None:
    assert health.JOB_FIELDS == ("completed", "failed", "inProgress", "inQueue", "retried")
    assert len(health.WORKER_FIELDS) == 6
    assert env.CLIENT == ("RUNPOD_ENDPOINT_BASE_URL", "RUNPOD_ENDPOINT_ID", "RUNPOD_API_KEY")
    assert all(name.startswith("RUNPOD_") for name in env.WORKER)


def test_contract_imports_only_the_standard_library_and_itself() -> None:
    import sys

    for path in sorted((ROOT / "contract").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            for name in names:
                top = name.split(".")[0]
                assert top == "contract" or top == "__future__" or top in sys.stdlib_module_names, (
                    f"{path.name} imports {name}"
                )


@pytest.mark.parametrize("name", ["run.json", "stream.json", "job.json"])
def test_conformance_schema_status_enums_are_the_contract_states(name: str) -> None:
    import json

    schema = json.loads((ROOT / "conformance" / "schemas" / name).read_text())
    assert tuple(schema["properties"]["status"]["enum"]) == states.STATUS_NAMES


def test_conformance_health_schema_requires_the_contract_fields() -> None:
    import json

    schema = json.loads((ROOT / "conformance" / "schemas" / "health.json").read_text())
    assert tuple(schema["properties"]["jobs"]["required"]) == health.JOB_FIELDS
    assert tuple(schema["properties"]["workers"]["required"]) == health.WORKER_FIELDS
