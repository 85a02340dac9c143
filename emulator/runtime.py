"""The emulator's state: its endpoints (config + jobs + pool + faults), the gate and the webhooks."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from emulator.clock import Clock
from emulator.config import ConfigError, EmulatorConfig, EndpointConfig, endpoint_from_table
from emulator.errors import EndpointNotFound
from emulator.faults import FaultDice
from emulator.limits import GateFactory, RequestGate
from emulator.models import Job
from emulator.store import EndpointJobs
from emulator.webhooks import Webhooks
from emulator.worker_processes.backend import ProcessBackend
from emulator.worker_processes.host import WorkerHost
from emulator.workers import Pool, default_backend


class Endpoint:
    __slots__ = ("config", "dice", "jobs", "keys", "pool")

    def __init__(
        self, config: EndpointConfig, clock: Clock, seed: int, webhooks: Webhooks, host: WorkerHost
    ) -> None:
        self.config = config
        self.keys = frozenset(config.api_keys)
        self.dice = FaultDice(seed, config.id)
        self.jobs = EndpointJobs(
            config,
            clock,
            on_final=lambda job: webhooks.deliver(job, self.config),
            dispatch=self._dispatch,
            stop_running=self._stop_running,
        )
        if config.worker:
            self.pool = Pool(self.jobs, clock, self.dice, seed, lambda pool: ProcessBackend(pool, host))
        else:
            self.pool = Pool(self.jobs, clock, self.dice, seed, default_backend)

    # The store calls back into the pool it feeds; the pool is built on the store, so these forward.
    def _dispatch(self) -> None:
        self.pool.pump_soon()

    def _stop_running(self, job: Job) -> None:
        self.pool.stop(job)

    def health(self) -> dict[str, Any]:
        return {"jobs": self.jobs.health_jobs(), "workers": self.pool.health()}


class Emulator:
    def __init__(
        self,
        config: EmulatorConfig,
        clock: Clock,
        *,
        gate_factory: GateFactory,
        worker_host: WorkerHost | None = None,
    ) -> None:
        self.config = config
        self.worker_host = worker_host or WorkerHost()
        self.clock = clock
        self.gate_factory = gate_factory
        self.webhooks = Webhooks(clock)
        self.endpoints: dict[str, Endpoint] = {}
        self.all_keys: frozenset[str] = frozenset()
        self.gate: RequestGate
        self._build()

    def _build(self) -> None:
        self.endpoints = {
            c.id: Endpoint(c, self.clock, self.config.seed, self.webhooks, self.worker_host)
            for c in self.config.endpoints
        }
        self.all_keys = frozenset(k for e in self.endpoints.values() for k in e.keys)
        self.rebuild_gate()

    def rebuild_gate(self) -> None:
        limits = {eid: dict(e.config.limits) for eid, e in self.endpoints.items()}
        try:
            self.gate = self.gate_factory(limits, self)
        except ValueError as exc:  # the limits room's config errors are ValueErrors naming the key
            raise ConfigError(str(exc)) from exc

    def endpoint(self, endpoint_id: str) -> Endpoint:
        try:
            return self.endpoints[endpoint_id]
        except KeyError:
            raise EndpointNotFound(f"endpoint {endpoint_id!r} not found") from None

    def reset(self) -> None:
        """Forget all jobs, stats, faults and webhook records; keep the current endpoint configs."""
        for endpoint in self.endpoints.values():
            endpoint.pool.clear(refill=False)
            endpoint.jobs.clear()
        self.config = dataclasses.replace(
            self.config, endpoints=tuple(e.config for e in self.endpoints.values())
        )
        self.webhooks.clear()
        self._build()

    async def close(self) -> None:
        """Nothing the endpoints started (worker processes) outlives the emulator."""
        for endpoint in self.endpoints.values():
            await endpoint.pool.backend.close()

    def patch(self, endpoint_id: str, patch: Mapping[str, Any]) -> EndpointConfig:
        endpoint = self.endpoint(endpoint_id)
        previous = endpoint.config
        config = endpoint_from_table(patch, base=previous)
        self._apply(endpoint, config)
        if "limits" in patch:
            try:
                self._reconfigure_gate(endpoint_id, config)
            except ConfigError:
                self._apply(endpoint, previous)
                raise
        endpoint.pool.reconfigure()
        return config

    def _reconfigure_gate(self, endpoint_id: str, config: EndpointConfig) -> None:
        """Changed in place, so the gate keeps its windows and in-flight counts (rebuilding would
        forget them and briefly admit up to twice the concurrency)."""
        try:
            self.gate.configure(endpoint_id, dict(config.limits))
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc

    def limits_view(self, endpoint_id: str, *, with_accepts: bool) -> dict[str, Any]:
        self.endpoint(endpoint_id)
        return self.gate.describe(endpoint_id, with_accepts=with_accepts)

    def _apply(self, endpoint: Endpoint, config: EndpointConfig) -> None:
        endpoint.config = config
        endpoint.jobs.config = config
        endpoint.keys = frozenset(config.api_keys)
        self.all_keys = frozenset(k for e in self.endpoints.values() for k in e.keys)

    def job_list(self, endpoint_id: str, status: str | None) -> list[dict[str, Any]]:
        jobs = self.endpoint(endpoint_id).jobs
        now = self.clock.now()
        offset = self.clock.wall() - now
        return [
            j.describe(offset)
            for j in jobs.jobs.values()
            if j.expires_at > now and (status is None or j.status.value == status)
        ]

    # -- QueueView, for the rate-limit gate --------------------------------------------------
    def queue_length(self, endpoint_id: str) -> int:
        return self.endpoint(endpoint_id).jobs.queued

    def workers_max(self, endpoint_id: str) -> int:
        return self.endpoint(endpoint_id).config.workers_max

    def running_workers(self, endpoint_id: str) -> int:
        return self.endpoint(endpoint_id).pool.running_workers()

    def stats(self, endpoint_id: str) -> dict[str, Any]:
        endpoint = self.endpoint(endpoint_id)
        s = endpoint.jobs.stats
        return {
            "accepted": s.accepted,
            "completed": s.completed,
            "failed": s.failed,
            "cancelled": s.cancelled,
            "timed_out": s.timed_out,
            "expired": s.expired,
            "purged": s.purged,
            "evicted": s.evicted,
            "retried": s.retried,
            "rejected_by_status_code": {str(k): v for k, v in sorted(s.rejected.items())},
            "in_queue": endpoint.jobs.queued,
            "in_progress": endpoint.jobs.in_progress,
            "stored_jobs": len(endpoint.jobs.jobs),
            "workers": endpoint.pool.health(),
        }
