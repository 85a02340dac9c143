"""Pass/fail rules from a TOML file, checked against one run or a base/candidate pair.

    [thresholds]
    rules = ["run.p95_ms <= 250", "all.rate_limited_share <= 0.01", "run.p95_ms.regression <= 10%"]
    missing = "fail"   # a rule whose metric the run lacks: "fail" (default) or "skip"

Grammar of a rule: `SCOPE.METRIC[.regression] OP NUMBER[%]` with OP one of <= < >= > == !=.
See reports/README.md for every scope and metric.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from contract import operations
from reports.errors import ReportInputError

OPERATIONS = (*operations.NAMES, "all")
_LATENCY = ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms")
OPERATION_METRICS = frozenset(
    (
        *_LATENCY,
        *(f"corrected_{m}" for m in _LATENCY),
        "requests",
        "failures",
        "errors",
        "rate_limited",
        "timeouts",
        "late_sends",
        "dropped_sends",
        "offered_rps",
        "achieved_rps",
        "error_rate",
        "failure_rate",
        "rate_limited_share",
        "timeout_rate",
        "no_reply",
        "connection_errors",
        "connection_error_rate",
    )
)
JOB_METRIC = re.compile(
    r"(submitted|completed|failed|cancelled|timed_out|unfinished|polls_per_job_mean|"
    r"(completed|failed|cancelled|timed_out|unfinished)_share|"
    r"(delay|execution|end_to_end|first_chunk|chunk_gap)_(p50|p95|p99|max)_ms)$"
)
OTHER_METRICS = {
    "conformance": frozenset(
        ("passed", "violations", "recorded", "harness_errors", "skipped", "uncovered", "claims")
    ),
    "capacity": frozenset(
        ("max_sustainable_rps", "knee_rps", "recommended_workers_min", "recommended_workers_max")
    ),
}
HIGHER_IS_BETTER = frozenset(
    (
        "requests",
        "offered_rps",
        "achieved_rps",
        "passed",
        "completed",
        "completed_share",
        "max_sustainable_rps",
        "knee_rps",
        "claims",
    )
)
COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
RULE = re.compile(
    r"^\s*([a-z_]+)\.([a-z0-9_]+?)(\.regression)?\s*(<=|>=|==|!=|<|>)\s*(-?[0-9]*\.?[0-9]+(?:e-?[0-9]+)?)\s*(%?)\s*$"
)
Status = Literal["met", "broken", "skipped", "no data"]


@dataclass(frozen=True)
class Rule:
    text: str
    scope: str
    metric: str
    regression: bool
    comparator: str
    limit: float
    percent: bool

    @property
    def key(self) -> str:
        return f"{self.scope}.{self.metric}"

    def holds(self, value: float) -> bool:
        return COMPARATORS[self.comparator](value, self.limit)


@dataclass(frozen=True)
class Thresholds:
    rules: tuple[Rule, ...]
    missing: Literal["fail", "skip"] = "fail"


@dataclass(frozen=True)
class RuleResult:
    rule: Rule
    status: Status
    value: float | None
    """The run's value, or the change (in % when the rule is in %) for a regression rule."""
    detail: str

    @property
    def breached(self) -> bool:
        return self.status == "broken"


@dataclass(frozen=True)
class Outcome:
    """A page written (report or comparison) and how its threshold rules came out."""

    path: Path
    results: list[RuleResult]

    @property
    def broken(self) -> list[RuleResult]:
        return [r for r in self.results if r.breached]

    @property
    def breached(self) -> bool:
        return any(r.breached for r in self.results)


def parse_rule(text: str) -> Rule:
    match = RULE.match(text)
    if not match:
        raise ReportInputError(
            f"bad threshold rule {text!r}: expected 'SCOPE.METRIC[.regression] OP NUMBER[%]'"
        )
    scope, metric, regression, comparator, number, percent = match.groups()
    if scope.removesuffix("_follow_up") in OPERATIONS and scope != "all_follow_up":  # status_follow_up: polls
        known = metric in OPERATION_METRICS
    elif scope == "jobs":
        known = JOB_METRIC.match(metric) is not None
    elif scope in OTHER_METRICS:
        known = metric in OTHER_METRICS[scope]
    else:
        raise ReportInputError(
            f"bad threshold rule {text!r}: unknown scope {scope!r} (an operation, all, jobs, conformance, capacity)"
        )
    if not known:
        raise ReportInputError(f"bad threshold rule {text!r}: unknown metric {metric!r} for scope {scope!r}")
    if percent and not regression:
        raise ReportInputError(f"bad threshold rule {text!r}: '%' is only for .regression rules")
    return Rule(text.strip(), scope, metric, bool(regression), comparator, float(number), bool(percent))


def load_thresholds(path: str | Path) -> Thresholds:
    """Parse the TOML file; any problem is one ReportInputError naming the file."""
    file = Path(path)
    try:
        data: dict[str, Any] = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportInputError(f"cannot read thresholds file {file}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ReportInputError(f"thresholds file {file} is not valid TOML: {exc}") from None
    section = data.get("thresholds")
    if not isinstance(section, dict) or not isinstance(section.get("rules"), list):
        raise ReportInputError(
            f'thresholds file {file}: expected a [thresholds] table with rules = ["...", ...]'
        )
    unknown = set(section) - {"rules", "missing"}
    if unknown:
        raise ReportInputError(
            f"thresholds file {file}: unknown key(s) {', '.join(sorted(unknown))} in [thresholds]"
        )
    missing = section.get("missing", "fail")
    if missing not in ("fail", "skip"):
        raise ReportInputError(f'thresholds file {file}: missing must be "fail" or "skip", not {missing!r}')
    if not all(isinstance(r, str) for r in section["rules"]):
        raise ReportInputError(
            f'thresholds file {file}: every rule must be a string like "run.p95_ms <= 250"'
        )
    try:
        rules = tuple(parse_rule(r) for r in section["rules"])
    except ReportInputError as exc:
        raise ReportInputError(f"thresholds file {file}: {exc}") from None
    return Thresholds(rules, missing)


def _missing(rule: Rule, thresholds: Thresholds, what: str) -> RuleResult:
    status: Status = "broken" if thresholds.missing == "fail" else "no data"
    return RuleResult(rule, status, None, f"no {what} for {rule.key}")


def evaluate(thresholds: Thresholds, values: Mapping[str, float]) -> list[RuleResult]:
    """Check each absolute rule against one run; regression rules need a baseline and are skipped."""
    results: list[RuleResult] = []
    for rule in thresholds.rules:
        if rule.regression:
            results.append(RuleResult(rule, "skipped", None, "needs a baseline run (podbench compare)"))
        elif rule.key not in values:
            results.append(_missing(rule, thresholds, "value"))
        else:
            value = values[rule.key]
            ok = rule.holds(value)
            results.append(RuleResult(rule, "met" if ok else "broken", value, f"{rule.key} = {value:.6g}"))
    return results


def evaluate_change(
    thresholds: Thresholds,
    base: Mapping[str, float],
    candidate: Mapping[str, float],
    noise: Callable[[Rule], float | None],
) -> list[RuleResult]:
    """Check every rule for a comparison: absolute rules on the candidate, regression rules on the change.

    A regression breaks only when it breaks the rule *and* exceeds the noise of the two runs.
    """
    results: list[RuleResult] = []
    for rule in thresholds.rules:
        if not rule.regression:
            results.extend(evaluate(Thresholds((rule,), thresholds.missing), candidate))
            continue
        if rule.key not in base or rule.key not in candidate:
            results.append(_missing(rule, thresholds, "value in both runs"))
            continue
        worse = worsening(rule.metric, base[rule.key], candidate[rule.key])
        if rule.percent:
            if base[rule.key] == 0:
                change = 0.0 if worse == 0 else float("inf")
            else:
                change = 100.0 * worse / abs(base[rule.key])
        else:
            change = worse
        unit = "%" if rule.percent else ""
        noise_abs = noise(rule)
        above_rule = not rule.holds(change)
        detail = f"worse by {change:+.3g}{unit} ({base[rule.key]:.6g} → {candidate[rule.key]:.6g})"
        if noise_abs is None:
            detail += "; noise unknown"
            status: Status = "broken" if above_rule else "met"
        else:
            detail += f"; noise ±{noise_abs:.3g}"
            status = "broken" if above_rule and abs(worse) > noise_abs else "met"
            if above_rule and status == "met":
                detail += " (within noise, not flagged)"
        results.append(RuleResult(rule, status, change, detail))
    return results


def worsening(metric: str, base: float, candidate: float) -> float:
    """How much worse the candidate is, in the metric's units (negative means better)."""
    return base - candidate if metric in HIGHER_IS_BETTER else candidate - base
