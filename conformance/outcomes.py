"""Per-test outcomes folded into per-claim verdicts, and the conformance.json writer."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from conformance.claims import CLAIMS, Kind
from conformance.client import Journal
from conformance.violations import HarnessError, Violation

SUITE = Path(__file__).parent
VERIFIES = re.compile(r"""verifies\(\s*["']([\w.]+)["']\s*\)""")


@cache
def suite_claims() -> frozenset[str]:
    """Claims some test of the whole suite verifies, even when this run collected only part of it."""
    return frozenset(
        m.group(1) for path in SUITE.glob("test_*.py") for m in VERIFIES.finditer(path.read_text())
    )


# Worst first: one violated test makes the claim violated.
RANK = ("violated", "harness_error", "passed", "recorded", "skipped")


def classify(report: pytest.TestReport, exc: BaseException | None, kind: Kind) -> str:
    if report.skipped:
        return "skipped"
    if report.passed:
        return "recorded" if kind is Kind.RECORD_ONLY else "passed"
    if isinstance(exc, Violation):
        return "recorded" if kind is Kind.RECORD_ONLY else "violated"
    if isinstance(exc, HarnessError) or report.when != "call":
        return "harness_error"
    return "harness_error"  # an unexpected exception in the suite is our bug, not the target's


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class TestResult:
    nodeid: str
    claim_id: str
    outcome: str
    duration_s: float
    measured: dict[str, Any]
    message: str = ""
    expected: Any = None
    observed: Any = None
    severity: str | None = None
    excerpt: list[str] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        nodeid: str,
        claim_id: str,
        outcome: str,
        report: pytest.TestReport,
        exc: BaseException | None,
        measured: dict[str, Any],
        excerpt: list[str],
    ) -> TestResult:
        result = cls(nodeid, claim_id, outcome, round(report.duration, 4), measured, excerpt=excerpt)
        if isinstance(exc, Violation):
            result.expected, result.observed, result.severity = exc.expected, exc.observed, exc.severity.value
            if outcome == "recorded":
                measured.setdefault("observed", exc.observed)
        if report.skipped and isinstance(report.longrepr, tuple):
            result.message = str(report.longrepr[2]).removeprefix("Skipped: ")
        elif exc is not None and outcome != "recorded":
            result.message = f"{type(exc).__name__}: {exc}"[:2000]
        return result


@dataclass
class ConformanceRun:
    real_target: bool
    has_control: bool
    covered: dict[str, list[str]] = field(default_factory=dict)
    results: list[TestResult] = field(default_factory=list)
    target: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)
    worker: dict[str, Any] = field(default_factory=lambda: {"mode": "not probed"})
    """Which worker the target runs: mode contract | foreign (| not probed), the user's input files."""
    journal: Journal | None = None
    estimate: dict[str, int] = field(default_factory=dict)
    started: str = field(default_factory=_now)
    selected: set[str] = field(default_factory=set)
    """Claims of the tests left after `-k`/`-m` selection."""
    interrupted: bool = False
    """Stopped early (Ctrl-C, SIGTERM): claims whose tests never ran are reported "not run (interrupted)"."""

    def record(self, result: TestResult) -> None:
        self.results.append(result)

    def claim_entries(self) -> list[dict[str, Any]]:
        by_claim: dict[str, list[TestResult]] = {}
        for result in self.results:
            by_claim.setdefault(result.claim_id, []).append(result)
        entries = []
        for claim_id, item in CLAIMS.items():
            results = by_claim.get(claim_id, [])
            if results:
                outcome = min((r.outcome for r in results), key=RANK.index)
            else:
                outcome = "uncovered" if claim_id not in suite_claims() else "skipped"
            measured: dict[str, Any] = {}
            for r in results:
                measured.update(r.measured)
            failing = [r for r in results if r.outcome in ("violated", "harness_error")]
            not_reached = self.interrupted and not results and claim_id in self.selected
            entries.append(
                {
                    "id": claim_id,
                    "kind": item.kind.value,
                    "source": item.source,
                    "quote": item.quote,
                    "owner": item.owner,
                    "outcome": outcome,
                    "tests": self.covered.get(claim_id, []),
                    "measured": measured,
                    "expected": failing[0].expected if failing else None,
                    "observed": failing[0].observed if failing else None,
                    "severity": failing[0].severity if failing else None,
                    "message": failing[0].message
                    if failing
                    else ("not run (interrupted)" if not_reached else ""),
                    "excerpt": "\n\n".join(failing[0].excerpt) if failing else "",
                    "results": [r.__dict__ for r in results],
                }
            )
        return entries

    def summary(self, entries: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        entries = entries if entries is not None else self.claim_entries()
        count = {o: sum(1 for e in entries if e["outcome"] == o) for o in RANK}
        return {
            "passed": count["passed"],
            "violated": count["violated"],
            "recorded": count["recorded"],
            "harness_errors": count["harness_error"],
            "skipped": count["skipped"],
            "uncovered_claims": [e["id"] for e in entries if e["outcome"] == "uncovered"],
            "tests": len(self.results),
            "interrupted": self.interrupted,
        }

    def write(self, path: str | Path) -> None:
        entries = self.claim_entries()
        document = {
            "format": "podbench.conformance/1",
            "target": self.target,
            "profile": self.profile,
            "worker": self.worker,
            "started": self.started,
            "ended": _now(),
            "traffic": {
                "estimate": self.estimate,
                "requests_sent": self.journal.requests_sent if self.journal else 0,
                "jobs_submitted": self.journal.jobs_submitted if self.journal else 0,
                "rate_limited_retries": self.journal.rate_limited if self.journal else 0,
            },
            "summary": self.summary(entries),
            "claims": entries,
        }
        text = json.dumps(document, indent=2, default=str)
        if self.journal is not None:
            text = self.journal.redact(text)
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
