"""`LimitGate`: the emulator's `RequestGate` (`emulator.limits.protocols`), deciding per endpoint and operation.

Order of checks inside `admit` (all before the body is read; nothing here parses a body):
1. queue rule (submits only): 429 when queue > min_jobs AND queue > workersMax x jobs_per_worker;
2. concurrency: 429 when the budget already has `concurrency` requests in flight;
3. rate: the budget's algorithm (the only step that records anything, and only on acceptance).
Checks that cannot record come first, so a request refused for concurrency or queue length does
not use up rate budget. Work per request is O(1): a dict lookup, two comparisons, one ring slot.

`Retry-After` is exact for rate limits (the earliest whole second at which the same request
would be accepted). For concurrency and queue limits the moment depends on other requests and
jobs finishing, which the gate cannot know, so it answers 1 (the earliest possible whole second).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from emulator.limits.admission import (
    NO_HEADERS,
    UNLIMITED,
    Held,
    InFlight,
    LimitExceeded,
    Rejection,
    RejectionKind,
    Unlimited,
)
from emulator.limits.algorithms import (
    RateAlgorithm,
    SlidingWindow,
    TokenBucket,
    make_algorithm,
    retry_after_seconds,
)
from emulator.limits.config import BudgetSpec, LimitsSpec, parse_limits
from emulator.limits.headers import ratelimit_headers
from emulator.limits.protocols import Admission, QueueView

UNKNOWN_WAIT_S = 1


RejectionFactory = Callable[[Rejection], Exception]


class _Budget:
    __slots__ = ("accepted", "allowance", "base_rate", "in_flight", "name", "rate", "rejected", "spec")

    def __init__(self, spec: BudgetSpec) -> None:
        self.name = spec.name
        self.accepted = 0
        self.rejected: dict[str, int] = {"rate": 0, "concurrency": 0, "queue": 0}
        self.in_flight: InFlight | None = None
        self.rate: RateAlgorithm | None = None
        self.spec = spec
        self.apply(spec)

    def apply(self, spec: BudgetSpec) -> None:
        """Take a new spec, keeping what is in flight and what was accepted where it still applies."""
        kept = self.rate if self.rate is not None and self.spec.algorithm == spec.algorithm else None
        self.spec = spec
        self.base_rate = spec.rate
        self.allowance = spec.per_worker_allowance
        if spec.concurrency is None:
            self.in_flight = None
        elif self.in_flight is None:
            self.in_flight = InFlight(spec.concurrency)
        else:
            self.in_flight.limit = spec.concurrency
        if spec.rate is None:
            self.rate = None
        elif isinstance(kept, TokenBucket):
            kept.resize(spec.rate, spec.window_s, spec.burst)
        elif kept is not None:
            kept.resize(spec.rate, spec.window_s)
        else:
            self.rate = make_algorithm(spec.algorithm, spec.rate, spec.window_s, spec.burst)


class _Endpoint:
    __slots__ = (
        "budgets",
        "by_operation",
        "ietf",
        "queue_jobs_per_worker",
        "queue_min_jobs",
        "queue_ops",
        "spec",
    )

    def __init__(self, spec: LimitsSpec, previous: _Endpoint | None) -> None:
        self.spec = spec
        kept = previous.budgets if previous is not None else {}
        self.budgets: dict[str, _Budget] = {}
        for name, budget_spec in spec.budgets.items():
            budget = kept.get(name)
            if budget is None:
                budget = _Budget(budget_spec)
            else:
                budget.apply(budget_spec)
            self.budgets[name] = budget
        self.by_operation: dict[str, _Budget] = {}
        if spec.enabled:
            for op, budget_name in spec.budget_of.items():
                if budget_name is not None:
                    self.by_operation[op] = self.budgets[budget_name]
        queue = spec.queue
        self.queue_ops = queue.operations if spec.enabled and queue.enabled else frozenset()
        self.queue_min_jobs = queue.min_jobs
        self.queue_jobs_per_worker = queue.jobs_per_worker
        self.ietf = spec.ietf_headers


class LimitGate:
    def __init__(
        self,
        limits_by_endpoint: Mapping[str, Mapping[str, Any] | None] | None = None,
        *,
        default_limits: Mapping[str, Any] | None = None,
        queue_view: QueueView | None = None,
        rejection: RejectionFactory = LimitExceeded,
    ) -> None:
        """`default_limits` applies to endpoints not named in `limits_by_endpoint`."""
        self._default = parse_limits(default_limits)
        self._endpoints: dict[str, _Endpoint] = {}
        self._queue_view = queue_view
        self._rejection = rejection
        for endpoint_id, limits in (limits_by_endpoint or {}).items():
            self.configure(endpoint_id, limits)

    def configure(self, endpoint_id: str, limits: Mapping[str, Any] | None) -> None:
        """Validate and apply an endpoint's `limits` table at run time (raises LimitsConfigError).

        Requests in flight stay counted, and accept history is kept when the algorithm is unchanged.
        """
        spec = parse_limits(limits)
        self._endpoints[endpoint_id] = _Endpoint(spec, self._endpoints.get(endpoint_id))

    def set_queue_view(self, queue_view: QueueView | None) -> None:
        self._queue_view = queue_view

    def admit(self, endpoint_id: str, operation: str, now: float) -> Admission:
        endpoint = self._endpoints.get(endpoint_id)
        if endpoint is None:
            endpoint = self._endpoints[endpoint_id] = _Endpoint(self._default, None)
        budget = endpoint.by_operation.get(operation)
        if endpoint.queue_ops and operation in endpoint.queue_ops:
            self._check_queue(endpoint, endpoint_id, operation, budget)
        if budget is None:
            return UNLIMITED
        in_flight = budget.in_flight
        if in_flight is not None and in_flight.count >= in_flight.limit:
            raise self._reject(
                budget, operation, "concurrency", in_flight.limit, None, UNKNOWN_WAIT_S, endpoint, now
            )
        rate = budget.rate
        if rate is not None:
            if budget.allowance:
                self._apply_dynamic_limit(budget, rate, endpoint_id)
            wait = rate.try_acquire(now)
            if wait:
                raise self._reject(
                    budget,
                    operation,
                    "rate",
                    rate.limit,
                    rate.window_s,
                    retry_after_seconds(wait),
                    endpoint,
                    now,
                )
        budget.accepted += 1
        headers = (
            ratelimit_headers(budget.name, rate, now) if endpoint.ietf and rate is not None else NO_HEADERS
        )
        if in_flight is None:
            return UNLIMITED if headers is NO_HEADERS else Unlimited(headers)
        in_flight.count += 1
        return Held(in_flight, headers)

    def _check_queue(
        self, endpoint: _Endpoint, endpoint_id: str, operation: str, budget: _Budget | None
    ) -> None:
        view = self._queue_view
        if view is None:
            return
        queued = view.queue_length(endpoint_id)
        if queued <= endpoint.queue_min_jobs:
            return
        threshold = max(
            endpoint.queue_min_jobs, view.workers_max(endpoint_id) * endpoint.queue_jobs_per_worker
        )
        if queued > threshold:
            if budget is not None:
                budget.rejected["queue"] += 1
            raise self._rejection(Rejection(operation, "queue", "queue", threshold, None, UNKNOWN_WAIT_S))

    def _apply_dynamic_limit(self, budget: _Budget, rate: RateAlgorithm, endpoint_id: str) -> None:
        running = self._queue_view.running_workers(endpoint_id) if self._queue_view is not None else 0
        effective = max(budget.base_rate or 0, running * budget.allowance)
        if effective != rate.limit:
            rate.resize(effective, rate.window_s)

    def _reject(
        self,
        budget: _Budget,
        operation: str,
        kind: RejectionKind,
        limit: int,
        window_s: float | None,
        retry_after: int,
        endpoint: _Endpoint,
        now: float,
    ) -> Exception:
        budget.rejected[kind] += 1
        headers = ratelimit_headers(budget.name, budget.rate, now) if endpoint.ietf and budget.rate else {}
        return self._rejection(Rejection(operation, budget.name, kind, limit, window_s, retry_after, headers))

    def describe(self, endpoint_id: str, *, with_accepts: bool = False) -> dict[str, Any]:
        """The endpoint's effective limits and counters (for the control API and benchmarks)."""
        endpoint = self._endpoints.get(endpoint_id)
        if endpoint is None:
            endpoint = self._endpoints[endpoint_id] = _Endpoint(self._default, None)
        budgets: dict[str, Any] = {}
        for name, budget in endpoint.budgets.items():
            spec, rate = budget.spec, budget.rate
            entry: dict[str, Any] = {
                "operations": sorted(op for op, b in endpoint.by_operation.items() if b is budget),
                "algorithm": spec.algorithm if rate is not None else None,
                "rate": rate.limit if rate is not None else None,
                "base_rate": spec.rate,
                "window_s": spec.window_s,
                "burst": spec.burst if spec.algorithm == "token_bucket" else None,
                "concurrency": spec.concurrency,
                "in_flight": budget.in_flight.count if budget.in_flight is not None else None,
                "accepted": budget.accepted,
                "rejected": dict(budget.rejected),
            }
            if with_accepts and isinstance(rate, SlidingWindow):
                entry["recent_accepts"] = rate.recent()
            budgets[name] = entry
        queue = endpoint.spec.queue
        return {
            "enabled": endpoint.spec.enabled,
            "ietf_headers": endpoint.ietf,
            "queue_rule": {
                "enabled": bool(endpoint.queue_ops),
                "min_jobs": queue.min_jobs,
                "jobs_per_worker": queue.jobs_per_worker,
                "operations": sorted(queue.operations),
            },
            "budgets": budgets,
        }
