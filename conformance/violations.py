"""The two ways a conformance test can go wrong, kept apart on purpose.

    AssertionError
     └── Violation      the endpoint broke a promise of the API (a finding about the target)
    Exception
     └── HarnessError   our side broke: target unreachable, key refused, bad profile (no finding)

Reports count them separately: a harness error says nothing about the endpoint.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    """A client written against the docs breaks (wrong status, missing field, lost result)."""
    MAJOR = "major"
    """A documented window or limit differs; clients keep working with changes."""
    MINOR = "minor"
    """Cosmetic: shapes of bodies the docs only show by example."""


@dataclass
class Violation(AssertionError):
    claim_id: str
    expected: Any
    observed: Any
    severity: Severity = Severity.CRITICAL
    detail: str = ""
    excerpt: str = ""
    """The exchange that showed it, when it is not among the test's own requests (cached results)."""

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"[{self.claim_id}] expected {self.expected!r}, observed {self.observed!r}"
        return f"{text}: {self.detail}" if self.detail else text


class HarnessError(Exception):
    """Setup or environment failure: the run cannot say anything about the claim."""


@dataclass
class Recording:
    """What a record-only test measured; attached to the test's report, never failed."""

    values: dict[str, Any] = field(default_factory=dict)

    def __call__(self, **values: Any) -> None:
        self.values.update(values)
