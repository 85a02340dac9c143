"""Capacity planning: a step runner that finds an endpoint's knee, and the queueing model
(Little's law, M/M/c with Erlang C) that turns measured execution times into worker counts.

`podbench capacity` drives this room; see capacity/README.md. The front door (the modules are
the room's own business):
- settings and objective: `Ramp`, `load_ramp(path, overrides)`, `Slo`, `parse_slo(text)`, and for
  an LLM sweep `token_slo([llm] slo table, share)` (`TokenSlo`);
- a run: `StepRunner(base_url, endpoint_id, api_key, ramp, slo, progress).run()` → `RunData`;
- the document: `summarize_run(data, slo)`, `build_capacity(...)`, `write_json`,
  `update_manifest`;
- the model, pure and usable alone: `ServiceTime`, `forecast(rate, workers, service)`,
  `predict(...)`;
- what the room refuses: `CapacityError` (`BadSettings`, `BadSlo`).
"""

from __future__ import annotations

from capacity.errors import BadSettings, BadSlo, CapacityError
from capacity.model import ServiceTime, SteadyState, forecast, predict
from capacity.output import build_capacity, summarize_run, update_manifest, write_json
from capacity.ramp import Ramp, load_ramp
from capacity.runner import RunData, StepRunner
from capacity.slo import Slo, TokenSlo, parse_slo, token_slo

__all__ = [
    "BadSettings",
    "BadSlo",
    "CapacityError",
    "Ramp",
    "RunData",
    "ServiceTime",
    "Slo",
    "SteadyState",
    "StepRunner",
    "TokenSlo",
    "build_capacity",
    "forecast",
    "load_ramp",
    "parse_slo",
    "predict",
    "summarize_run",
    "token_slo",
    "update_manifest",
    "write_json",
]
