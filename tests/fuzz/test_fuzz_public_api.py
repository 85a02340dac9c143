"""Property-based fuzzing of the emulator's public API, driven by its OpenAPI document.

A real `python -m emulator` (manual clock, so nothing moves unless a request moves it) gets
thousands of malformed, oversized and wrong-typed requests: bodies, query values, path ids,
headers, content types and methods. Every generated request is wrong by construction, so every
reply must be a refusal: a 4xx with `Content-Type: application/json` and a body matching the
document's `Error` (or `BodyTooLarge`) schema; never a 5xx, never a 2xx. The emulator's state
(`GET /_emulator/endpoints/{id}/stats` less its refusal counters, the job list, `/health`) is the
same after every batch as before it.

Every reply, refusal or not, has a status the document declares for its operation (a 405 carries
`Allow` with the path's documented methods), and a body that matches the declared schema; an
integral JSON number (`713004.0`) where the document says `integer` is accepted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests
from emulator_process import ROOT, EmulatorProcess
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from contract.states import STATUS_NAMES
from emulator.operations import ROUTES

DOC = json.loads((ROOT / "emulator" / "openapi.json").read_text())
EP = "fuzz"
KEY, ADMIN = "fuzz-key-1", "fuzz-admin-1"
FUZZ = settings(
    max_examples=420,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
DAY7 = 7 * 86_400_000
EXECUTION_TIMEOUT_MS = (5_000, DAY7)  # the document's Policy bounds
TTL_MS = (10_000, DAY7)


def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": DOC["components"]})


ERROR = _validator("Error")
TOO_LARGE = _validator("BodyTooLarge")
# Each documented path as a pattern: a parameter is one percent-encoded path segment.
PATH_PATTERNS = [
    (re.compile(re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(path))), path) for path in DOC["paths"]
]


class Target:
    def __init__(self, emu: EmulatorProcess, job_id: str) -> None:
        self.emu, self.job_id = emu, job_id
        self.session = requests.Session()
        self.sent = 0

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {"Authorization": f"Bearer {KEY}"})
        self.sent += 1
        return self.session.request(method, f"{self.emu.url}{path}", headers=headers, timeout=10, **kwargs)

    def state(self) -> dict[str, Any]:
        stats = self.emu.stats()
        stats.pop("rejected_by_status_code")  # counts refusals: it is meant to move
        jobs = self.emu.control("GET", f"endpoints/{EP}/jobs")["jobs"]
        health = self.session.get(
            f"{self.emu.base_v2}/{EP}/health", headers={"Authorization": f"Bearer {KEY}"}, timeout=10
        ).json()
        return {"stats": stats, "jobs": jobs, "health": health}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    emu = EmulatorProcess(
        tmp_path_factory.mktemp("fuzz"),
        api_key=KEY,
        admin_key=ADMIN,
        endpoint_id=EP,
        args=["--clock", "manual", "--rate-limits", "off"],
    )
    try:
        # One queued job that never runs (no workers): requests about it must not change it.
        emu.control("PATCH", f"endpoints/{EP}", json={"workers_min": 0, "workers_max": 0})
        reply = requests.post(
            f"{emu.base_v2}/{EP}/run",
            json={"input": {"n": 1}},
            headers=emu.admin_auth | {"Authorization": f"Bearer {KEY}"},
            timeout=10,
        )
        assert reply.status_code == 200, reply.text
        yield Target(emu, reply.json()["id"])
    finally:
        output = emu.stop()
        assert "Traceback" not in output, output[-3000:]


@pytest.fixture
def unchanged(target: Target) -> Iterator[Target]:
    before = target.state()
    yield target
    assert target.state() == before


def documented_path(url: str) -> str | None:
    path = urlsplit(url).path
    return next((template for pattern, template in PATH_PATTERNS if pattern.fullmatch(path)), None)


def _response(spec: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in spec:
        spec = DOC["components"]["responses"][spec["$ref"].rsplit("/", 1)[1]]
    return spec


def assert_declared(resp: requests.Response) -> None:
    """The reply's status is one the document declares for the operation asked for; its body
    matches that response's schema; a 405 lists the path's documented methods in `Allow`."""
    method, status = resp.request.method or "", str(resp.status_code)
    where = f"{method} {resp.request.url} -> {status} {resp.text[:300]!r}"
    template = documented_path(resp.request.url or "")
    if template is None:  # not a documented path: unknown route (after auth under /v2)
        assert resp.status_code in (401, 404), where
        return
    item = DOC["paths"][template]
    operation = item.get(method.lower())
    if operation is None:  # the path exists, the method does not: 405 (or 401 first, under /v2)
        assert resp.status_code in (401, 405), where
        declared = {s: r for op in item.values() for s, r in op["responses"].items()}
    else:
        declared = operation["responses"]
    assert status in declared, f"{where}: not declared (declared: {sorted(declared)})"
    if resp.status_code == 405:
        assert resp.headers.get("Allow") == ", ".join(sorted(m.upper() for m in item)), where
    if method == "HEAD" or "application/json" not in resp.headers.get("Content-Type", ""):
        return
    content = _response(declared[status]).get("content", {})
    assert "application/json" in content, f"{where}: JSON body where the document declares none"
    schema = content["application/json"]["schema"]
    Draft202012Validator({**schema, "components": DOC["components"]}).validate(resp.json())


def assert_refused(resp: requests.Response, *statuses: int) -> None:
    where = f"{resp.request.method} {resp.request.url} -> {resp.status_code} {resp.text[:300]!r}"
    assert 400 <= resp.status_code < 500, where
    if statuses:
        assert resp.status_code in statuses, where
    assert_declared(resp)
    if resp.request.method == "HEAD":
        return
    assert resp.headers.get("Content-Type", "").startswith("application/json"), where
    body = resp.json()
    if "detail" in body:
        TOO_LARGE.validate(body)
    else:
        ERROR.validate(body)
        assert body["status"] == resp.status_code, where


# -- generators of wrong input -------------------------------------------------------------------
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
not_an_object = json_values.filter(lambda v: not isinstance(v, dict))
no_input = st.dictionaries(
    st.text(max_size=8).filter(lambda k: k != "input"), json_values, max_size=4
) | st.fixed_dictionaries({"input": st.none()})
bad_ms = st.one_of(
    st.text(max_size=6),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()),
    st.integers(max_value=-1).map(float),
    st.integers(min_value=DAY7 + 1, max_value=2**60).map(float),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.integers(max_value=-1),
    st.integers(min_value=DAY7 + 1),
)
bad_policy = st.one_of(
    not_an_object.filter(lambda v: v is not None),
    st.fixed_dictionaries({"executionTimeout": bad_ms | st.integers(0, 4999)}),
    st.fixed_dictionaries({"ttl": bad_ms | st.integers(0, 9999)}),
    st.fixed_dictionaries({"lowPriority": json_values.filter(lambda v: not isinstance(v, bool))}),
    st.dictionaries(
        st.text(min_size=1, max_size=10).filter(
            lambda k: k not in ("executionTimeout", "ttl", "lowPriority")
        ),
        json_values,
        min_size=1,
        max_size=3,
    ),
)
bad_webhook = st.one_of(
    json_values.filter(lambda v: v is not None and not isinstance(v, str)),
    st.text(max_size=30).filter(lambda s: not s.lower().startswith(("http:", "https:"))),
)
wrong_field = st.one_of(
    st.builds(lambda p: {"input": {"x": 1}, "policy": p}, bad_policy),
    st.builds(lambda w: {"input": {"x": 1}, "webhook": w}, bad_webhook),
    st.builds(
        lambda s: {"input": {"x": 1}, "s3Config": s},
        json_values.filter(lambda v: v is not None and not isinstance(v, dict)),
    ),
)
bad_json_bytes = st.binary(max_size=200).filter(lambda b: _not_json(b)) | st.sampled_from(
    [b"", b"{", b'{"input": 1', b"\xff\xfe{}", b'{"input": NaN', b'{"input": "' + b"\x00" * 10 + b'"']
)
bad_query_ms = st.one_of(
    st.text(max_size=8).filter(lambda s: not _is_int(s)),
    st.integers(max_value=999).map(str),
    st.integers(min_value=300_001).map(str),
    st.just("1e3"),
    st.just("0x10"),
    st.just(""),
)
job_ids = st.text(min_size=1, max_size=60).map(lambda s: quote(s, safe=""))
operations_with_job = st.sampled_from(["status", "status-sync", "stream", "cancel", "retry"])


def _not_json(raw: bytes) -> bool:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return True
    return not isinstance(value, dict) or "input" not in value or value["input"] is None


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


# -- the document ---------------------------------------------------------------------------------
def test_the_document_is_openapi_3_1_and_lists_every_public_route() -> None:
    assert DOC["openapi"].startswith("3.1")
    documented = {(method.upper(), path) for path, item in DOC["paths"].items() for method in item}
    served = {(method, route.full_path) for route in ROUTES for method in route.methods}
    assert served - documented == set(), "routes the emulator serves but the document does not describe"
    assert {p for _, p in documented - served} <= {"/openapi.json"}
    for schema in DOC["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_the_documents_job_states_are_the_contracts() -> None:
    """The document is a static file, so its status enums are checked against contract.states."""
    enums = [schema["properties"]["status"]["enum"] for schema in _status_schemas()]
    assert len(enums) == 4 and all(enum == list(STATUS_NAMES) for enum in enums)


def _status_schemas() -> Iterator[dict[str, Any]]:
    schemas = DOC["components"]["schemas"]
    yield from (schemas[name] for name in ("RunAccepted", "JobStatus", "StreamChunks"))
    yield schemas["RecentRequests"]["properties"]["requests"]["items"]


def test_every_operation_declares_its_refusals() -> None:
    """What the emulator can refuse on every public route is in the document, so a generated
    client knows it: 400 (the HTTP request itself may be malformed), 401, 404, 405 with Allow,
    429, and 500 (the emulator's own error, or an injected fault)."""
    for path, item in DOC["paths"].items():
        for method, operation in item.items():
            declared = set(operation["responses"])
            assert "405" in declared, (method, path)
            if path.startswith("/v2/"):
                assert {"400", "401", "404", "429", "500"} <= declared, (method, path)
    assert "Allow" in DOC["components"]["responses"]["MethodNotAllowed"]["headers"]
    retry = DOC["paths"]["/v2/{endpoint_id}/retry/{job_id}"]["post"]["responses"]["400"]
    assert retry == {"$ref": "#/components/responses/JobNotRetryable"}


def test_the_document_is_served_without_a_key(target: Target) -> None:
    resp = target.send("GET", "/openapi.json", headers={})
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    assert resp.json() == DOC


# -- properties -------------------------------------------------------------------------------------
@FUZZ
@given(op=st.sampled_from(["run", "runsync"]), body=st.one_of(not_an_object, no_input, wrong_field))
def test_wrong_job_bodies_are_refused(unchanged: Target, op: str, body: Any) -> None:
    assert_refused(unchanged.send("POST", f"/v2/{EP}/{op}", json=body), 400)


@FUZZ
@given(
    op=st.sampled_from(["run", "runsync"]),
    raw=bad_json_bytes,
    content_type=st.sampled_from(
        ["application/json", "text/plain", "application/x-www-form-urlencoded", "", "nonsense/*;;"]
    ),
)
def test_bodies_that_are_not_json_are_refused(
    unchanged: Target, op: str, raw: bytes, content_type: str
) -> None:
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": content_type}
    assert_refused(unchanged.send("POST", f"/v2/{EP}/{op}", data=raw, headers=headers), 400)


@FUZZ
@given(
    name=st.sampled_from(["runsync?wait", "status-sync/JOB?wait", "stream/JOB?wait", "status/JOB?ttl"]),
    value=bad_query_ms,
    method=st.sampled_from(["GET", "POST"]),
)
def test_bad_query_values_are_refused(unchanged: Target, name: str, value: str, method: str) -> None:
    if name.startswith("runsync"):
        method = "POST"
    path, _, param = name.replace("JOB", unchanged.job_id).partition("?")
    if param == "ttl" and _is_int(value) and 0 <= int(value) <= DAY7:
        value = "-1"
    body = {"input": {"x": 1}} if method == "POST" else None
    resp = unchanged.send(method, f"/v2/{EP}/{path}", params={param: value}, json=body)
    assert_refused(resp, 400)


@FUZZ
@given(op=operations_with_job, job_id=job_ids)
def test_unknown_job_ids_get_404(unchanged: Target, op: str, job_id: str) -> None:
    method = "POST" if op in ("cancel", "retry") else "GET"
    assert_refused(unchanged.send(method, f"/v2/{EP}/{op}/{job_id}"), 404)


@FUZZ
@given(
    authorization=st.one_of(
        st.none(), st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
    ),
    path=st.sampled_from(
        [
            "run",
            "runsync",
            "health",
            "purge-queue",
            "requests",
            "status/JOB",
            "cancel/JOB",
            "retry/JOB",
            "stream/JOB",
            "openai/v1/models",
        ]
    ),
    method=st.sampled_from(["GET", "POST"]),
    extra=st.dictionaries(
        st.from_regex(r"\AX-[A-Za-z]{1,12}\Z"), st.text(alphabet="abcxyz0123-_.", max_size=50), max_size=3
    ),
)
def test_wrong_keys_get_401_on_every_route(
    unchanged: Target, authorization: str | None, path: str, method: str, extra: dict[str, str]
) -> None:
    headers = dict(extra)
    if authorization is not None and authorization.strip() and KEY not in authorization:
        headers["Authorization"] = authorization.strip()
    resp = unchanged.send(
        method, f"/v2/{EP}/{path.replace('JOB', unchanged.job_id)}", headers=headers, json={"input": 1}
    )
    assert_refused(resp, 401)


@FUZZ
@given(
    route=st.sampled_from(sorted(DOC["paths"])),
    method=st.sampled_from(["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "GET", "POST"]),
    endpoint=st.sampled_from([EP, "no-such-endpoint"]),
)
def test_wrong_methods_and_endpoints_are_refused(
    unchanged: Target, route: str, method: str, endpoint: str
) -> None:
    allowed = {m.upper() for m in DOC["paths"][route]}
    if route == "/openapi.json" and method in allowed:
        return
    if method in allowed and endpoint == EP:
        endpoint = "no-such-endpoint"
    path = route.replace("{endpoint_id}", endpoint).replace("{job_id}", unchanged.job_id)
    if "{" in path:
        return
    resp = unchanged.send(
        method,
        path,
        data=b"{}",
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    assert_refused(resp, 404 if method in allowed else 405)


# Accepted, these would change the state (purge, cancel) or hold on the manual clock (long-polls,
# and the OpenAI routes, which wait for a job no worker takes): `unchanged` could not hold.
_HOLDS_OR_CHANGES = {
    "/v2/{endpoint_id}/purge-queue",
    "/v2/{endpoint_id}/cancel/{job_id}",
    "/v2/{endpoint_id}/status-sync/{job_id}",
    "/v2/{endpoint_id}/stream/{job_id}",
    "/v2/{endpoint_id}/openai/v1/models",
    "/v2/{endpoint_id}/openai/v1/chat/completions",
    "/v2/{endpoint_id}/openai/v1/completions",
}


def _is_json_object(body: bytes | None) -> bool:
    try:
        return isinstance(json.loads(body or b""), dict)
    except ValueError:
        return False


def _would_hold_or_change(route: str, known_job: bool, body: bytes | None) -> bool:
    if route not in _HOLDS_OR_CHANGES:
        return False
    if "{job_id}" in route:
        return known_job  # an unknown job is a 404
    if route.endswith("completions"):
        return _is_json_object(body)  # anything else is a 400
    return True


@FUZZ
@given(
    route=st.sampled_from(sorted(DOC["paths"])),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
    endpoint=st.sampled_from([EP, "no-such-endpoint"]),
    key=st.sampled_from([KEY, "wrong-key", None]),
    known_job=st.booleans(),
    body=st.sampled_from([None, b"", b"{", b"null", b"[]", b'{"input": null}', b'{"policy": {}}']),
)
def test_every_reply_is_declared_for_its_operation(
    unchanged: Target,
    route: str,
    method: str,
    endpoint: str,
    key: str | None,
    known_job: bool,
    body: bytes | None,
) -> None:
    """Whatever is asked, right or wrong: the status is declared for that operation (a retry of a
    queued job, a status read, a 405, a 401 ...) and the body matches the declared schema."""
    job_id = unchanged.job_id if known_job else "no-such-job"
    path = route.replace("{endpoint_id}", endpoint).replace("{job_id}", job_id)
    admitted = method.lower() in DOC["paths"][route] and endpoint == EP and key == KEY
    if admitted and _would_hold_or_change(route, known_job, body):
        return
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {key}"} if key else {})
    resp = unchanged.send(method, path, data=body, headers=headers)
    assert resp.status_code < 500, f"{method} {path} -> {resp.status_code} {resp.text[:300]!r}"
    assert_declared(resp)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    op=st.sampled_from(["run", "runsync"]),
    timeout_ms=st.integers(*EXECUTION_TIMEOUT_MS),
    ttl_ms=st.integers(*TTL_MS),
)
def test_integral_json_numbers_are_integers(target: Target, op: str, timeout_ms: int, ttl_ms: int) -> None:
    """The document says `integer`; JSON Schema takes 713004.0 as one, and so does the emulator."""
    policy = {"executionTimeout": float(timeout_ms), "ttl": float(ttl_ms)}
    Draft202012Validator(DOC["components"]["schemas"]["Policy"]).validate(policy)  # valid, says the document
    body = json.dumps({"input": {"n": 2}, "policy": policy})
    assert f"{timeout_ms}.0" in body
    if op == "run":
        resp = target.send("POST", f"/v2/{EP}/run", data=body)
    else:  # runsync holds `wait` on the manual clock: move the clock until it answers
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(target.send, "POST", f"/v2/{EP}/runsync?wait=1000", data=body)
            for _ in range(20):
                if pending.done():
                    break
                target.emu.control("POST", "clock/advance", json={"seconds": 1})
                wait([pending], timeout=0.2)
            resp = pending.result(timeout=10)
    assert resp.status_code == 200, resp.text
    assert_declared(resp)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(size=st.integers(10 * 1024 * 1024 + 1, 12 * 1024 * 1024))
def test_oversized_bodies_are_refused_by_content_length(unchanged: Target, size: int) -> None:
    """Only the header is sent with a body: the emulator answers from Content-Length alone."""
    import socket

    head = (
        f"POST /v2/{EP}/run HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\n"
        f'Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n{{"input": '
    )
    with socket.create_connection(("127.0.0.1", unchanged.emu.port), timeout=10) as sock:
        sock.sendall(head.encode())
        raw = b""
        while b"\r\n\r\n" not in raw or len(raw) < raw.index(b"\r\n\r\n") + 4 + _length(raw):
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    unchanged.sent += 1
    status_line, _, rest = raw.partition(b"\r\n")
    assert status_line.split()[1] == b"400", raw[:300]
    assert b"application/json" in rest.split(b"\r\n\r\n")[0].lower()
    TOO_LARGE.validate(json.loads(rest.split(b"\r\n\r\n", 1)[1]))


def _length(raw: bytes) -> int:
    for line in raw.split(b"\r\n\r\n")[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


@pytest.mark.parametrize("raw", [b"[" * 5000, b'{"input": ' * 3000])
def test_deeply_nested_json_is_refused(unchanged: Target, raw: bytes) -> None:
    assert_refused(unchanged.send("POST", f"/v2/{EP}/run", data=raw), 400)


@pytest.mark.parametrize("raw", [b'{"input": NaN}', b'{"input": {"x": Infinity}}'])
def test_non_standard_json_numbers_are_refused(unchanged: Target, raw: bytes) -> None:
    assert_refused(unchanged.send("POST", f"/v2/{EP}/run", data=raw), 400)


def test_thousands_of_requests_were_sent(target: Target) -> None:
    """Runs last in this module: the properties above really did send the requests they claim to have sent."""
    if target.sent < 2000:
        pytest.fail(f"only {target.sent} fuzz requests were sent")
    print(f"fuzz requests sent: {target.sent}")


def test_generators_are_wrong_by_construction() -> None:
    """Teeth: a valid body is not something the generators make (else a 2xx would be no bug)."""
    assert _not_json(b'{"input": null}') and not _not_json(b'{"input": 1}')
    assert not _is_int("1e3") and _is_int("12")
