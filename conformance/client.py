"""A thin `requests` wrapper, one method per operation; no assertions here (those are checks).

Every exchange is journalled (redacted: no key ever leaves this module) so a failing test can
show what was sent and what came back. A refused key or an unreachable target is a
HarnessError, not a finding: the suite cannot judge an endpoint it cannot talk to.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import requests

from conformance.violations import HarnessError

EXCERPT_CHARS = 600
TIMEOUT_S = 60.0
RATE_LIMIT_RETRIES = 5
RATE_LIMIT_WAIT_CAP_S = 15.0


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    text: str
    body: Any
    """Parsed JSON, or None when the reply was not JSON."""
    exchange: str = field(default="", compare=False, repr=False)
    """The redacted request/response excerpt, for a violation found later from this reply."""

    @property
    def is_json(self) -> bool:
        return self.body is not None and "json" in self.headers.get("content-type", "").lower()


@dataclass
class Journal:
    secrets: list[str] = field(default_factory=list)
    entries: deque[str] = field(default_factory=lambda: deque(maxlen=12))
    requests_sent: int = 0
    jobs_submitted: int = 0
    rate_limited: int = 0

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "<redacted>")
        return text

    def add(self, method: str, url: str, sent: str, reply: Reply | None, error: str = "") -> str:
        lines = [f"> {method} {url}"]
        if sent:
            lines.append(f"> {_clip(sent)}")
        if reply is not None:
            lines.append(f"< {reply.status} {reply.headers.get('content-type', '')}")
            lines.append(f"< {_clip(reply.text)}")
        if error:
            lines.append(f"! {error}")
        entry = self.redact("\n".join(lines))
        self.entries.append(entry)
        return entry

    def take(self) -> list[str]:
        taken = list(self.entries)
        self.entries.clear()
        return taken


def _clip(text: str) -> str:
    return text if len(text) <= EXCERPT_CHARS else f"{text[:EXCERPT_CHARS]}… ({len(text)} chars)"


class ApiClient:
    """The public API of one endpoint: {base_url}/{endpoint_id}/{operation}."""

    def __init__(self, base_url: str, endpoint_id: str, api_key: str, journal: Journal) -> None:
        self.base_url = base_url.rstrip("/")
        self.endpoint_id = endpoint_id
        self.journal = journal
        journal.secrets.append(api_key)
        self._api_key = api_key
        self.session = requests.Session()
        self.on_rate_limited: Callable[[float], None] = time.sleep
        """How to wait out a 429: the conftest hands in the suite's clock (manual on the emulator)."""

    def url(self, path: str, endpoint_id: str | None = None) -> str:
        return f"{self.base_url}/{endpoint_id or self.endpoint_id}/{path}"

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"}

    def send(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
        params: dict[str, Any] | None = None,
        timeout: float = TIMEOUT_S,
        allow_key_refusal: bool = False,
        retry_429: bool = True,
        attempt: int = 0,
    ) -> Reply:
        """One request; `auth=False` sends exactly the headers given (for auth tests)."""
        all_headers = dict(self.auth_headers()) if auth else {}
        all_headers.update(headers or {})
        if json_body is not None:
            data = json.dumps(json_body)
            all_headers.setdefault("Content-Type", "application/json")
        sent = (
            data[: EXCERPT_CHARS * 2] if isinstance(data, str) else (f"<{len(data)} bytes>" if data else "")
        )
        self.journal.requests_sent += 1
        try:
            raw = self.session.request(
                method, url, data=data, headers=all_headers, params=params, timeout=timeout
            )
        except requests.RequestException as exc:
            self.journal.add(method, url, sent, None, error=type(exc).__name__)
            raise HarnessError(
                f"target unreachable: {method} {self.journal.redact(url)}: {type(exc).__name__}"
            ) from exc
        reply = _reply(raw)
        reply = replace(reply, exchange=self.journal.add(method, raw.url, sent, reply))
        if reply.status == 429 and retry_429 and attempt < RATE_LIMIT_RETRIES:
            # a 429 is not what these tests examine (the 429 suite sends with retry_429=False):
            # wait as told, on the target's clock, and send again
            self.journal.rate_limited += 1
            self.on_rate_limited(_retry_after(reply, attempt))
            return self.send(
                method,
                url,
                json_body=json_body,
                data=data,
                headers=headers,
                auth=auth,
                params=params,
                timeout=timeout,
                allow_key_refusal=allow_key_refusal,
                attempt=attempt + 1,
            )
        if reply.status == 401 and auth and not allow_key_refusal:
            raise HarnessError(
                f"the target refused the suite's API key ({method} {self.journal.redact(raw.url)} -> 401)"
            )
        return reply

    # operations ---------------------------------------------------------------------------
    def run(self, job_input: Any, **extra: Any) -> Reply:
        self.journal.jobs_submitted += 1
        return self.send("POST", self.url("run"), json_body={"input": job_input, **extra})

    def runsync(
        self, job_input: Any, *, wait_ms: int | None = None, timeout: float = TIMEOUT_S, **extra: Any
    ) -> Reply:
        self.journal.jobs_submitted += 1
        params = {"wait": wait_ms} if wait_ms is not None else None
        return self.send(
            "POST",
            self.url("runsync"),
            json_body={"input": job_input, **extra},
            params=params,
            timeout=timeout,
        )

    def status(self, job_id: str, *, ttl_ms: int | None = None, method: str = "GET") -> Reply:
        params = {"ttl": ttl_ms} if ttl_ms is not None else None
        return self.send(method, self.url(f"status/{job_id}"), params=params)

    def stream(self, job_id: str, *, wait_ms: int | None = None, timeout: float = TIMEOUT_S) -> Reply:
        params = {"wait": wait_ms} if wait_ms is not None else None
        return self.send("GET", self.url(f"stream/{job_id}"), params=params, timeout=timeout)

    def cancel(self, job_id: str) -> Reply:
        return self.send("POST", self.url(f"cancel/{job_id}"))

    def retry(self, job_id: str) -> Reply:
        return self.send("POST", self.url(f"retry/{job_id}"))

    def purge_queue(self) -> Reply:
        return self.send("POST", self.url("purge-queue"))

    def health(self) -> Reply:
        return self.send("GET", self.url("health"))

    def close(self) -> None:
        self.session.close()


class ControlClient:
    """The emulator's control API (/_emulator/...); only emulator-only tests get one."""

    def __init__(self, admin_url: str, admin_key: str, endpoint_id: str, journal: Journal) -> None:
        self.admin_url = admin_url.rstrip("/")
        self.endpoint_id = endpoint_id
        self.journal = journal
        journal.secrets.append(admin_key)
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {admin_key}"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        url = f"{self.admin_url}/{path.lstrip('/')}"
        try:
            raw = self.session.request(method, url, json=body, timeout=TIMEOUT_S)
        except requests.RequestException as exc:
            raise HarnessError(f"emulator control API unreachable: {type(exc).__name__}") from exc
        reply = _reply(raw)
        self.journal.add(method, url, json.dumps(body) if body is not None else "", reply)
        if reply.status >= 300:
            raise HarnessError(
                f"control API {method} {path} -> {reply.status}: {self.journal.redact(reply.text[:300])}"
            )
        return reply.body

    def advance(self, seconds: float) -> None:
        self.call("POST", "clock/advance", {"seconds": seconds})

    def clock(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "clock")
        return result

    def patch_endpoint(self, patch: dict[str, Any]) -> Any:
        return self.call("PATCH", f"endpoints/{self.endpoint_id}", patch)

    def endpoint(self) -> Any:
        return self.call("GET", f"endpoints/{self.endpoint_id}")

    def reset(self) -> None:
        self.call("POST", "reset")

    def close(self) -> None:
        self.session.close()


def _retry_after(reply: Reply, attempt: int) -> float:
    try:
        told = float(reply.headers.get("retry-after", ""))
    except ValueError:
        told = 0.0
    return min(RATE_LIMIT_WAIT_CAP_S, told if told > 0 else 2.0**attempt)


def _reply(raw: requests.Response) -> Reply:
    text = raw.text
    try:
        body = raw.json() if text else None
    except ValueError:
        body = None
    return Reply(raw.status_code, {k.lower(): v for k, v in raw.headers.items()}, text, body)
