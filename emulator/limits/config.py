"""The `[endpoint.limits]` table: the documented defaults, merging, and validation.

Shape (TOML; the control API's `PATCH /_emulator/endpoints/{id}` takes the same keys as JSON):

    [endpoint.limits]
    enabled = true                 # false: no limit at all on this endpoint
    algorithm = "sliding_window"   # or "fixed_window", "token_bucket"
    ietf_headers = false           # RateLimit-Policy / RateLimit on every limited reply
    per_worker_allowance = 0       # dynamic limit: rate = max(rate, running workers x this); 0 = off

    [endpoint.limits.queue]        # the source document's queue rule
    enabled = true
    min_jobs = 50                  # 429 when queue > min_jobs AND queue > workersMax x jobs_per_worker
    jobs_per_worker = 500
    operations = ["run", "runsync"]

    [endpoint.limits.run]          # one table per operation (budget)
    rate = 1000                    # accepted per window; false = no rate limit
    window_s = 10
    concurrency = 200              # in flight at once; false = no concurrency limit
    burst = 1000                   # token_bucket only: bucket size (default: rate)
    algorithm = "..."              # optional override of the endpoint's algorithm
    per_worker_allowance = 0       # optional override of the endpoint's allowance

Budgets: an operation with its own table has its own budget. `status_sync` and `stream` have no
table by default and share `status`'s budget (the documentation gives the three one row with one
pair of numbers); `retry` shares `cancel`'s (not in the documented table; it is the other per-job
control call). `health` is unlimited unless given a table. Giving `stream` its own table splits it
off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contract.limits import QUEUE_RULE, ROWS, WINDOW_S
from contract.operations import SHARES_BUDGET_OF
from emulator.limits.algorithms import ALGORITHMS
from emulator.operations import OPERATIONS

# The documented table (`contract.limits`, with its source) as the default `[endpoint.limits.NAME]`
# table of each budget; `concurrency = false` where the documentation says N/A.
DOCUMENTED: dict[str, dict[str, Any]] = {
    row.budget: {
        "rate": row.rate,
        "window_s": row.window_s,
        "concurrency": row.concurrency if row.concurrency is not None else False,
    }
    for row in ROWS
}
DEFAULT_WINDOW_S = WINDOW_S

_TOP_KEYS = {"enabled", "algorithm", "ietf_headers", "per_worker_allowance", "queue", *OPERATIONS}
_OP_KEYS = {"rate", "window_s", "concurrency", "burst", "algorithm", "per_worker_allowance"}
_QUEUE_KEYS = {"enabled", "min_jobs", "jobs_per_worker", "operations"}


class LimitsConfigError(ValueError):
    """A bad `limits` value; the message names the key (`limits.run.rate: ...`)."""


@dataclass(frozen=True)
class BudgetSpec:
    name: str
    rate: int | None
    window_s: float
    concurrency: int | None
    burst: int | None
    algorithm: str
    per_worker_allowance: int


@dataclass(frozen=True)
class QueueRuleSpec:
    enabled: bool
    min_jobs: int
    jobs_per_worker: int
    operations: frozenset[str]


@dataclass(frozen=True)
class LimitsSpec:
    enabled: bool
    ietf_headers: bool
    queue: QueueRuleSpec
    budgets: dict[str, BudgetSpec]
    budget_of: dict[str, str | None]  # operation -> budget name (None: not limited)


def parse_limits(raw: Mapping[str, Any] | None) -> LimitsSpec:
    """Validate a `limits` table (missing keys take the documented defaults)."""
    raw = {} if raw is None else raw
    if not isinstance(raw, Mapping):
        raise LimitsConfigError("limits: must be a table")
    _reject_unknown(raw, _TOP_KEYS, "limits")
    algorithm = _algorithm(raw.get("algorithm", "sliding_window"), "limits.algorithm")
    allowance = _count(raw.get("per_worker_allowance", 0), "limits.per_worker_allowance", zero_ok=True)
    tables: dict[str, Mapping[str, Any]] = {}
    for op in OPERATIONS:
        given = raw.get(op)
        if given is not None and not isinstance(given, Mapping):
            raise LimitsConfigError(f"limits.{op}: must be a table")
        if given is not None or op in DOCUMENTED:
            tables[op] = {**DOCUMENTED.get(op, {}), **(given or {})}
    budgets = {op: _budget(op, table, algorithm, allowance) for op, table in tables.items()}
    budget_of: dict[str, str | None] = {}
    for op in OPERATIONS:
        if op in budgets:
            budget_of[op] = op
        else:
            budget_of[op] = SHARES_BUDGET_OF.get(op)
    return LimitsSpec(
        enabled=_flag(raw.get("enabled", True), "limits.enabled"),
        ietf_headers=_flag(raw.get("ietf_headers", False), "limits.ietf_headers"),
        queue=_queue(raw.get("queue", {})),
        budgets=budgets,
        budget_of=budget_of,
    )


def _budget(op: str, table: Mapping[str, Any], algorithm: str, allowance: int) -> BudgetSpec:
    where = f"limits.{op}"
    _reject_unknown(table, _OP_KEYS, where)
    rate = _optional_count(table.get("rate", False), f"{where}.rate")
    burst = _optional_count(table.get("burst", False), f"{where}.burst")
    window_s = table.get("window_s", DEFAULT_WINDOW_S)
    if isinstance(window_s, bool) or not isinstance(window_s, int | float) or not window_s > 0:
        raise LimitsConfigError(f"{where}.window_s: must be a number of seconds above 0, got {window_s!r}")
    return BudgetSpec(
        name=op,
        rate=rate,
        window_s=float(window_s),
        concurrency=_optional_count(table.get("concurrency", False), f"{where}.concurrency"),
        burst=burst if burst is not None else rate,
        algorithm=_algorithm(table.get("algorithm", algorithm), f"{where}.algorithm"),
        per_worker_allowance=_count(
            table.get("per_worker_allowance", allowance), f"{where}.per_worker_allowance", zero_ok=True
        ),
    )


def _queue(table: Any) -> QueueRuleSpec:
    if not isinstance(table, Mapping):
        raise LimitsConfigError("limits.queue: must be a table")
    _reject_unknown(table, _QUEUE_KEYS, "limits.queue")
    operations = table.get("operations", list(QUEUE_RULE.operations))
    if not isinstance(operations, list | tuple) or any(op not in OPERATIONS for op in operations):
        raise LimitsConfigError(
            f"limits.queue.operations: must be a list of operations ({', '.join(OPERATIONS)}), got {operations!r}"
        )
    return QueueRuleSpec(
        enabled=_flag(table.get("enabled", True), "limits.queue.enabled"),
        min_jobs=_count(table.get("min_jobs", QUEUE_RULE.min_jobs), "limits.queue.min_jobs", zero_ok=True),
        jobs_per_worker=_count(
            table.get("jobs_per_worker", QUEUE_RULE.jobs_per_worker),
            "limits.queue.jobs_per_worker",
            zero_ok=True,
        ),
        operations=frozenset(operations),
    )


def _reject_unknown(table: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(str(k) for k in table if k not in known)
    if unknown:
        raise LimitsConfigError(
            f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(sorted(known))}"
        )


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise LimitsConfigError(f"{where}: must be true or false, got {value!r}")
    return value


def _count(value: Any, where: str, *, zero_ok: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if zero_ok else 1):
        floor = "0 or more" if zero_ok else "1 or more"
        raise LimitsConfigError(f"{where}: must be a whole number, {floor}, got {value!r}")
    return value


def _optional_count(value: Any, where: str) -> int | None:
    if value is False:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LimitsConfigError(
            f"{where}: must be a whole number, 1 or more, or false for no limit, got {value!r}"
        )
    return value


def _algorithm(value: Any, where: str) -> str:
    if value not in ALGORITHMS:
        raise LimitsConfigError(f"{where}: must be one of {', '.join(ALGORITHMS)}, got {value!r}")
    return str(value)
