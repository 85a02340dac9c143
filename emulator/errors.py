"""Wire errors: each class carries its HTTP status; `emulator.app`'s one middleware renders them.

ApiError (500)
├── BadRequest (400)             malformed JSON, missing/wrong-typed field, bad query value
│   ├── BodyTooLarge (400)       RFC 7807 problem body, as the real /run answers (docs/api-behaviour.md §4)
│   └── JobNotRetryable (400)    /retry of a job that is not FAILED/TIMED_OUT (emulator's choice)
├── Unauthorized (401)           missing or wrong API key / admin key
├── NotFound (404)               unknown route
│   ├── EndpointNotFound (404)
│   └── JobNotFound (404)        unknown, expired or TTL-deleted job
├── MethodNotAllowed (405)
├── Conflict (409)               e.g. advancing a real clock
├── RateLimited (429)            raised by a RequestGate (emulator.limits), with Retry-After
├── InjectedFault (any status)   fault injection through the control API
├── WorkerFailed (502)           an /openai job that ended without output
│   └── OpenAiWorkerFailed (502) the same, OpenAI-shaped, on the OpenAI routes
└── OpenAiBadRequest (400)       a bad OpenAI request body, OpenAI-shaped ({"error": {"message", "type", ...}})
"""

from __future__ import annotations

import json
from collections.abc import Mapping


class ApiError(Exception):
    status = 500
    title = "Internal Server Error"

    def __init__(self, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})

    def body(self) -> dict[str, object]:
        return {"error": self.message, "status": self.status}

    def render(self) -> bytes:
        return json.dumps(self.body()).encode()


class BadRequest(ApiError):
    status = 400
    title = "Bad Request"


class BodyTooLarge(BadRequest):
    def __init__(self, limit_bytes: int) -> None:
        self.limit_mib = limit_bytes // (1024 * 1024)
        super().__init__(f"bad request: body: exceeded max body size of {self.limit_mib}MiB")

    def body(self) -> dict[str, object]:
        return {"status": self.status, "title": self.title, "detail": self.message}


class JobNotRetryable(BadRequest):
    pass


class Unauthorized(ApiError):
    status = 401
    title = "Unauthorized"


class NotFound(ApiError):
    status = 404
    title = "Not Found"


class EndpointNotFound(NotFound):
    pass


class JobNotFound(NotFound):
    pass


class MethodNotAllowed(ApiError):
    status = 405
    title = "Method Not Allowed"


class Conflict(ApiError):
    status = 409
    title = "Conflict"


class RateLimited(ApiError):
    """A gate refused the request; `retry_after` (seconds) becomes the Retry-After header."""

    status = 429
    title = "Too Many Requests"

    def __init__(self, message: str, *, retry_after: float, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message, headers=headers)
        self.retry_after = retry_after
        # Retry-After takes whole seconds (RFC 9110); round up so a client that obeys is admitted.
        self.headers.setdefault("Retry-After", str(max(1, int(-(-retry_after // 1)))))


class InjectedFault(ApiError):
    def __init__(self, status: int) -> None:
        super().__init__(f"injected fault (HTTP {status})")
        self.status = status


class WorkerFailed(ApiError):
    status = 502
    title = "Bad Gateway"


def openai_error_body(message: str, kind: str, param: str | None = None) -> dict[str, object]:
    """The error object OpenAI clients parse (the official SDK raises it as APIError with .message)."""
    return {"error": {"message": message, "type": kind, "param": param, "code": None}}


class OpenAiBadRequest(BadRequest):
    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param

    def body(self) -> dict[str, object]:
        return openai_error_body(self.message, "invalid_request_error", self.param)


class OpenAiWorkerFailed(WorkerFailed):
    def body(self) -> dict[str, object]:
        return openai_error_body(self.message, "worker_error")
