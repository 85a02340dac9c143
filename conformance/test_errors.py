"""Auth and bad input: a 4xx with a JSON message, never a 5xx."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from conformance import checks
from conformance.client import ApiClient
from conformance.jobs import Jobs
from conformance.plugin import verifies
from conformance.violations import Recording
from conformance.workload import Workload

pytestmark = pytest.mark.budget(jobs=0, requests=4)

AUTH_CASES = {
    "missing": {},
    "wrong_bearer": {"Authorization": "Bearer not-the-key-" + uuid.uuid4().hex},
    "wrong_bare": {"Authorization": "not-the-key-" + uuid.uuid4().hex},
    "empty_bearer": {"Authorization": "Bearer "},
}


@pytest.mark.portable
@pytest.mark.parametrize("case", sorted(AUTH_CASES))
@verifies("errors.auth")
def test_a_missing_or_wrong_key_gets_401(api: ApiClient, case: str) -> None:
    for path in ("health", "run"):
        method = "GET" if path == "health" else "POST"
        reply = api.send(method, api.url(path), auth=False, headers=AUTH_CASES[case], json_body={"input": {}})
        checks.status_is("errors.auth", reply, 401)


@pytest.mark.portable
@verifies("errors.auth_reply")
def test_the_401_reply_is_recorded(api: ApiClient, record: Recording) -> None:
    reply = api.send("GET", api.url("health"), auth=False)
    record(
        http_status=reply.status,
        content_type=reply.headers.get("content-type"),
        body=reply.body or reply.text[:300],
        www_authenticate=reply.headers.get("www-authenticate"),
    )


@pytest.mark.portable
@verifies("errors.unknown_endpoint")
def test_an_unknown_endpoint_gets_404(api: ApiClient) -> None:
    other = "no-such-endpoint-" + uuid.uuid4().hex[:8]
    for method, path in (("GET", "health"), ("POST", "run")):
        reply = api.send(
            method, api.url(path, endpoint_id=other), json_body={"input": {}}, allow_key_refusal=True
        )
        checks.status_is("errors.unknown_endpoint", reply, 404)


@pytest.mark.portable
@verifies("errors.unknown_job")
def test_an_unknown_job_gets_404_on_every_job_operation(api: ApiClient) -> None:
    job_id = f"{uuid.uuid4()}-u1"
    for name, reply in (
        ("status", api.status(job_id)),
        ("stream", api.stream(job_id, wait_ms=1000)),
        ("cancel", api.cancel(job_id)),
        ("retry", api.retry(job_id)),
    ):
        checks.that(
            "errors.unknown_job",
            reply.status == 404,
            expected=f"HTTP 404 from /{name}",
            observed=f"HTTP {reply.status}: {reply.text[:200]}",
        )


@pytest.mark.portable
@verifies("errors.not_found_reply")
def test_the_404_reply_is_recorded(api: ApiClient, record: Recording) -> None:
    reply = api.status(f"{uuid.uuid4()}-u1")
    record(
        http_status=reply.status,
        content_type=reply.headers.get("content-type"),
        body=reply.body or reply.text[:300],
    )


BAD_INPUT: dict[str, dict[str, Any]] = {
    "malformed_json": {
        "data": '{"input": {"prompt": "unterminated"',
        "headers": {"Content-Type": "application/json"},
    },
    "empty_body": {"data": "", "headers": {"Content-Type": "application/json"}},
    "json_array": {"data": "[1, 2, 3]", "headers": {"Content-Type": "application/json"}},
    "missing_input": {"json_body": {"prompt": "no input key"}},
    "null_input": {"json_body": {"input": None}},
    "policy_not_an_object": {"json_body": {"input": {}, "policy": "fast"}},
    "execution_timeout_not_a_number": {"json_body": {"input": {}, "policy": {"executionTimeout": "soon"}}},
    "webhook_not_a_string": {"json_body": {"input": {}, "webhook": 42}},
    "form_encoded": {"data": "input=hello", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    "plain_text": {"data": "hello", "headers": {"Content-Type": "text/plain"}},
}


@pytest.mark.portable
@pytest.mark.parametrize("case", sorted(BAD_INPUT))
@verifies("errors.bad_input")
def test_bad_input_gets_a_4xx_with_a_json_message(api: ApiClient, case: str, record: Recording) -> None:
    reply = api.send("POST", api.url("run"), **BAD_INPUT[case])
    record(http_status=reply.status, body=reply.body or reply.text[:200])
    checks.client_error_with_message("errors.bad_input", reply)


@pytest.mark.portable
@verifies("errors.bad_input")
def test_huge_headers_get_a_4xx_with_a_json_message(api: ApiClient, record: Recording) -> None:
    reply = api.send("GET", api.url("health"), headers={"X-Padding": "p" * 65536})
    record(http_status=reply.status, content_type=reply.headers.get("content-type"), body=reply.text[:200])
    checks.client_error_with_message("errors.bad_input", reply)


@pytest.mark.portable
@pytest.mark.parametrize("value", ["a string", [1, 2], 7])
@verifies("errors.input_type_reply")
def test_non_object_input_is_recorded(api: ApiClient, value: object, record: Recording) -> None:
    reply = api.run(value)
    record(**{f"input_{type(value).__name__}": [reply.status, reply.body or reply.text[:200]]})


@pytest.mark.portable
@verifies("errors.bare_key")
def test_a_bare_key_without_bearer_is_accepted(api: ApiClient) -> None:
    key = api.auth_headers()["Authorization"].removeprefix("Bearer ")
    reply = api.send("GET", api.url("health"), auth=False, headers={"Authorization": key})
    checks.status_is("errors.bare_key", reply, 200)


@pytest.mark.portable
@verifies("policy.out_of_range_reply")
def test_out_of_range_policy_values_are_recorded(
    api: ApiClient, jobs: Jobs, workload: Workload, record: Recording
) -> None:
    cases = {
        "executionTimeout_1000": {"executionTimeout": 1000},
        "ttl_1000": {"ttl": 1000},
        "executionTimeout_8_days": {"executionTimeout": 8 * 86_400_000},
    }
    for name, policy in cases.items():
        reply = api.run(workload.completing(name), policy=policy)
        record(**{name: [reply.status, reply.body or reply.text[:200]]})
        if reply.status == 200 and isinstance(reply.body, dict):
            jobs.to_cancel.append(reply.body["id"])
