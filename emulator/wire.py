"""Reading requests and writing replies: bounded body reads, request parsing, JSON replies, long-polls."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from emulator.clock import Clock
from emulator.errors import BadRequest, BodyTooLarge
from emulator.models import Job

JSON = "application/json"
MS_PER_DAY = 86_400_000
EXECUTION_TIMEOUT_RANGE_MS = (5_000, 7 * MS_PER_DAY)  # doc: min 5 s, max 7 days
TTL_RANGE_MS = (10_000, 7 * MS_PER_DAY)  # doc: min 10 s, max 7 days
WAIT_RANGE_MS = (1_000, 300_000)  # doc: runsync ?wait=, 1000-300000 ms; mcp: same for /stream


JSON_HEADERS = {"Content-Type": JSON}  # a plain header dict is about 2 us cheaper than content_type=


def reply(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(body).encode(), status=status, headers=JSON_HEADERS)


def reply_bytes(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, headers=JSON_HEADERS)


async def read_json(request: web.Request, limit: int) -> Any:
    """The JSON body, refusing one over `limit` bytes without buffering it (Content-Length first)."""
    length = request.content_length
    if length is not None:
        if length > limit:
            raise BodyTooLarge(limit)
        raw = await request.read()
    else:
        parts: list[bytes] = []
        size = 0
        async for part in request.content.iter_any():
            size += len(part)
            if size > limit:
                raise BodyTooLarge(limit)
            parts.append(part)
        raw = b"".join(parts)
    if not raw:
        raise BadRequest("request body is empty; expected a JSON object with an 'input' key")
    try:
        return _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))  # as json.loads does
    except RecursionError:
        raise BadRequest("request body is not valid JSON: nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None


def _refuse_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity; strict clients (Go, JSON.parse) would choke on the echo.
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(
    parse_constant=_refuse_constant
)  # built once: json.loads(..., kw) builds one per call


@dataclass(frozen=True, slots=True)
class JobRequest:
    input: Any
    webhook: str | None
    execution_timeout_s: float | None
    ttl_s: float | None
    low_priority: bool


def parse_job_request(body: Any) -> JobRequest:
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object with an 'input' key")
    if "input" not in body or body["input"] is None:
        raise BadRequest("missing required field 'input'")
    webhook = body.get("webhook")
    if webhook is not None:
        if not isinstance(webhook, str) or urlsplit(webhook).scheme not in ("http", "https"):
            raise BadRequest("'webhook' must be an http(s) URL")
    s3 = body.get("s3Config")
    if s3 is not None and not isinstance(s3, dict):
        raise BadRequest("'s3Config' must be an object")
    policy = body.get("policy")
    timeout_s = ttl_s = None
    low = False
    if policy is not None:
        if not isinstance(policy, dict):
            raise BadRequest("'policy' must be an object")
        unknown = set(policy) - {"executionTimeout", "lowPriority", "ttl"}
        if unknown:
            raise BadRequest(f"unknown policy field {sorted(unknown)[0]!r}")
        if "executionTimeout" in policy:
            timeout_s = (
                _ms(policy["executionTimeout"], "policy.executionTimeout", EXECUTION_TIMEOUT_RANGE_MS) / 1000
            )
        if "ttl" in policy:
            ttl_s = _ms(policy["ttl"], "policy.ttl", TTL_RANGE_MS) / 1000
        if "lowPriority" in policy:
            low = policy["lowPriority"]
            if not isinstance(low, bool):
                raise BadRequest("'policy.lowPriority' must be true or false")
    return JobRequest(body["input"], webhook, timeout_s, ttl_s, low)


def _ms(value: Any, name: str, bounds: tuple[int, int]) -> int:
    # An integral JSON number is an integer whatever its spelling (JSON Schema: 713004.0 is an
    # "integer"); NaN and Infinity never get here (the decoder refuses them).
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{name!r} must be an integer number of milliseconds")
    low, high = bounds
    if not low <= value <= high:
        raise BadRequest(f"{name!r} must be between {low} and {high} ms (got {value})")
    return value


def query_ms(query: Mapping[str, str], name: str, default: int | None, bounds: tuple[int, int]) -> int | None:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"query parameter {name!r} must be an integer number of milliseconds") from None
    low, high = bounds
    if not low <= value <= high:
        raise BadRequest(f"query parameter {name!r} must be between {low} and {high} ms (got {value})")
    return value


async def wait_for_change(clock: Clock, job: Job, timeout_s: float) -> None:
    """Hold until the job changes (state, chunk, deletion) or `timeout_s` passes on the clock."""
    if timeout_s <= 0:
        return
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake() -> None:
        if not future.done():
            future.set_result(None)

    job.watch(wake)
    timer = clock.call_later(timeout_s, wake)
    try:
        await future
    finally:
        timer.cancel()
        job.unwatch(wake)
