"""The run plan the load users follow: which flows, at what rates, against which endpoint.

`podbench load` turns a TOML profile into this JSON plan and points `PODBENCH_LOAD_PLAN` at it.
Without a plan (a bare `locust -f locustfiles/`), every flow runs the small built-in smoke plan
against `--host` and `$RUNPOD_ENDPOINT_ID`. Pure data: no locust or gevent import here, so
tests and the CLI side can read it without gevent patching anything.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contract import env
from contract.operations import LOAD_OPERATIONS

PLAN_ENV = "PODBENCH_LOAD_PLAN"

OPERATIONS = LOAD_OPERATIONS
"""The operations a profile can offer a rate of (names as in every result file)."""

SCENARIOS = ("run_poll", "runsync_fallback", "stream_consumer")
"""Lifecycle flows: one token starts a whole job (submit, then poll or stream until final)."""

LLM_FLOWS = ("openai_chat_stream", "openai_chat", "openai_completions", "run_stream_tokens")
"""Language-model requests measured in tokens (TTFT, ITL, TPOT): `locustfiles/llm.py`."""

FLOWS = OPERATIONS + SCENARIOS + LLM_FLOWS


def user_class(flow: str) -> str:
    """The name of the Locust user class that runs `flow` (`purge_queue` -> `PurgeQueueUser`)."""
    return "".join(part.capitalize() for part in flow.split("_")) + "User"


REQUEST_ROWS = (*OPERATIONS, "openai")
"""Operations a result file may have a request row for: the flows' own, and the OpenAI route LLM flows call."""

SUBMIT_OP = {
    "run_poll": "run",
    "runsync_fallback": "runsync",
    "stream_consumer": "run",
    "openai_chat_stream": "openai",
    "openai_chat": "openai",
    "openai_completions": "openai",
    "run_stream_tokens": "run",
}
"""Which operation a scenario's scheduled send is (its offered rate counts there)."""


@dataclass(frozen=True)
class Stage:
    start_s: float
    duration_s: float
    scale: float

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True)
class Flow:
    name: str
    rate: float
    """Requests (operations) or jobs (scenarios) per second across the whole run, before stage scale."""
    slots: int
    """Concurrent users for this flow: how many sends may be in flight at once."""
    input: Any = field(default_factory=dict)
    payload_bytes: int = 0
    timeout_s: float = 30.0
    poll_initial_ms: float = 200.0
    poll_max_ms: float = 2000.0
    poll_factor: float = 1.5
    job_timeout_s: float = 60.0
    runsync_wait_ms: int | None = None
    concurrency: int | None = None
    """A fixed number of requests in flight (closed model) instead of a rate; `slots` equals it."""
    llm: dict[str, Any] | None = None
    """LLM flows: `max_tokens`, `prompt_tokens` (a number or a distribution table), `prompts`
    (texts to sample), `model`, `stream` (openai_completions)."""

    @property
    def submit_op(self) -> str:
        return SUBMIT_OP.get(self.name, self.name)


@dataclass(frozen=True)
class Plan:
    profile: str
    duration_s: float
    seed: int
    flows: dict[str, Flow]
    stages: tuple[Stage, ...]
    base_url: str = ""
    endpoint_id: str = ""
    api_key_env: str = env.API_KEY
    target: dict[str, Any] = field(default_factory=dict)
    out_dir: str = ""
    arrival: str = "uniform"
    late_ms: float = 10.0
    drop_ms: float = 1000.0
    health_interval_s: float = 1.0
    description: str = ""
    notes: tuple[str, ...] = ()
    trace: dict[str, Any] | None = None
    """A replayed trace: `file` (its times already divided by `speed`), `speed`, `source`."""
    burstiness: float = 1.0
    """With `arrival = "gamma"`: the shape of the gaps (1 is Poisson; lower is burstier)."""
    llm_slo: dict[str, float] = field(default_factory=dict)
    """Goodput thresholds of LLM requests: `ttft_ms`, `tpot_ms`, `e2e_ms` (each optional)."""
    job_inputs: tuple[Any, ...] = ()
    """A user's own job inputs (a worker that does not speak the contract): each job's input is
    drawn from these instead of its flow's `input` (the retry flow keeps its failing one)."""

    def scale_at(self, t: float) -> float:
        """The stage multiplier in force `t` seconds after the schedule started."""
        for stage in self.stages:
            if stage.start_s <= t < stage.end_s:
                return stage.scale
        return 0.0

    def segments(self, flow: str, share: float = 1.0) -> list[tuple[float, float, float]]:
        """(start_s, end_s, rate) pieces of one flow's schedule, for a process taking `share` of it."""
        rate = self.flows[flow].rate * share
        return [(s.start_s, s.end_s, rate * s.scale) for s in self.stages]

    def offered(self, op: str, t0: float, t1: float) -> float:
        """Sends the schedule asked for on `op` between t0 and t1 (seconds since start), all processes."""
        total = 0.0
        for flow in self.flows.values():
            if flow.submit_op != op:
                continue
            for start, end, rate in self.segments(flow.name):
                overlap = min(end, t1) - max(start, t0)
                if overlap > 0:
                    total += overlap * rate
        return total

    def total_slots(self) -> int:
        return sum(f.slots for f in self.flows.values())


def smoke_plan() -> Plan:
    """Every flow at a gentle rate for 10 s: what a bare `locust -f locustfiles/` runs."""
    flows = {name: Flow(name, rate=2.0, slots=4, input={"sleep": 0.05}) for name in FLOWS}
    flows["purge_queue"] = Flow("purge_queue", rate=0.1, slots=1)
    flows["stream_consumer"] = Flow(
        "stream_consumer", 1.0, 4, input={"stream": ["a", "b", "c"], "sleep": 0.05}
    )
    return Plan("builtin-smoke", 10.0, 1, flows, (Stage(0.0, 10.0, 1.0),))


def plan_from_dict(data: Mapping[str, Any]) -> Plan:
    flows = {name: Flow(name=name, **spec) for name, spec in data["flows"].items()}
    stages = tuple(Stage(**s) for s in data["stages"])
    scalars = {k: v for k, v in data.items() if k not in ("flows", "stages", "notes", "job_inputs")}
    return Plan(
        flows=flows,
        stages=stages,
        notes=tuple(data.get("notes", ())),
        job_inputs=tuple(data.get("job_inputs", ())),
        **scalars,
    )


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    return {
        **{
            k: getattr(plan, k)
            for k in Plan.__dataclass_fields__
            if k not in ("flows", "stages", "notes", "job_inputs")
        },
        "notes": list(plan.notes),
        "job_inputs": list(plan.job_inputs),
        "stages": [vars(s) for s in plan.stages],
        "flows": {name: {k: v for k, v in vars(f).items() if k != "name"} for name, f in plan.flows.items()},
    }


def load_plan(environ: Mapping[str, str] | None = None) -> Plan:
    env = os.environ if environ is None else environ
    path = env.get(PLAN_ENV)
    if not path:
        return smoke_plan()
    with open(path, encoding="utf-8") as fh:
        return plan_from_dict(json.load(fh))
