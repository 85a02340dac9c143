"""The gate of `--rate-limits off`: admits everything, and no control-API patch turns limits on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator.limits.admission import UNLIMITED
from emulator.limits.protocols import Admission, QueueView


class NoLimits:
    def admit(self, endpoint_id: str, operation: str, now: float) -> Admission:
        return UNLIMITED

    def configure(self, endpoint_id: str, limits: Mapping[str, Any] | None) -> None:
        return None

    def describe(self, endpoint_id: str, *, with_accepts: bool = False) -> dict[str, Any]:
        return {"enabled": False}


def no_limits(limits_by_endpoint: Mapping[str, Mapping[str, Any]], queues: QueueView) -> NoLimits:
    """A `GateFactory` for `--rate-limits off`."""
    return NoLimits()
