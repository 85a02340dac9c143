"""Plain check functions: no I/O, each raises `Violation` naming the claim it guards."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from conformance.client import Reply
from conformance.violations import Severity, Violation
from contract.states import FINAL_NAMES

SCHEMAS = Path(__file__).parent / "schemas"
FINAL = FINAL_NAMES
# What polling may see next: states can be skipped between polls, never revisited
# (a retry, FAILED|TIMED_OUT -> IN_QUEUE, is checked by its own test).
NEXT = {
    "IN_QUEUE": frozenset({"IN_QUEUE", "IN_PROGRESS"}) | FINAL,
    "IN_PROGRESS": frozenset({"IN_PROGRESS"}) | FINAL,
    **{state: frozenset({state}) for state in FINAL},
}


@cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_errors(name: str, body: Any) -> list[str]:
    errors = sorted(validator(name).iter_errors(body), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]


def matches_schema(claim_id: str, name: str, body: Any, *, severity: Severity = Severity.MAJOR) -> None:
    errors = schema_errors(name, body)
    if errors:
        raise Violation(
            claim_id, f"a body valid against schemas/{name}.json", body, severity, "; ".join(errors[:3])
        )


def status_is(
    claim_id: str, reply: Reply, expected: int | Iterable[int], *, severity: Severity = Severity.CRITICAL
) -> None:
    allowed = {expected} if isinstance(expected, int) else set(expected)
    if reply.status not in allowed:
        shown: Any = expected if isinstance(expected, int) else sorted(allowed)
        raise Violation(
            claim_id,
            f"HTTP {shown}",
            f"HTTP {reply.status}: {reply.text[:200]}",
            severity,
            excerpt=reply.exchange,
        )


def json_reply(claim_id: str, reply: Reply) -> dict[str, Any]:
    """The reply's JSON object, or a violation: every operation answers with a JSON object."""
    if not reply.is_json or not isinstance(reply.body, dict):
        raise Violation(
            claim_id,
            "a JSON object with Content-Type application/json",
            f"{reply.headers.get('content-type', '')!r}: {reply.text[:200]!r}",
            excerpt=reply.exchange,
        )
    return reply.body


def client_error_with_message(claim_id: str, reply: Reply) -> None:
    """Bad input gets a 4xx and a JSON object saying why, never a 5xx or an HTML page."""
    if not 400 <= reply.status < 500:
        raise Violation(
            claim_id, "HTTP 4xx", f"HTTP {reply.status}: {reply.text[:200]}", excerpt=reply.exchange
        )
    body = json_reply(claim_id, reply)
    matches_schema(claim_id, "error", body, severity=Severity.MINOR)


def that(
    claim_id: str,
    condition: bool,
    *,
    expected: Any,
    observed: Any,
    severity: Severity = Severity.CRITICAL,
    detail: str = "",
) -> None:
    if not condition:
        raise Violation(claim_id, expected, observed, severity, detail)


def legal_transitions(claim_id: str, seen: Sequence[str]) -> None:
    for before, after in zip(seen, seen[1:], strict=False):
        if after not in NEXT.get(before, frozenset()):
            raise Violation(
                claim_id, f"a legal move from {before}", f"{before} -> {after} (sequence {list(seen)})"
            )


def within(
    claim_id: str, value: float, low: float, high: float, *, what: str, severity: Severity = Severity.MAJOR
) -> None:
    if not low <= value <= high:
        raise Violation(claim_id, f"{what} in [{low:g}, {high:g}]", value, severity)
