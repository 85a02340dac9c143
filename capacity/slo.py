"""Latency objectives such as `p95_ms<=500`, parsed once at the command line."""

from __future__ import annotations

import re
from dataclasses import dataclass

from capacity.errors import BadSlo

_SLO = re.compile(r"^\s*p(?P<pct>\d{1,2}(?:\.\d+)?)_ms\s*<=?\s*(?P<ms>\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class Slo:
    """End-to-end job latency objective: the `percentile` must be at most `limit_ms`."""

    percentile: float
    limit_ms: float

    @property
    def quantile(self) -> float:
        return self.percentile / 100

    @property
    def key(self) -> str:
        """The summary field it reads, e.g. `p95_ms` or `p99.9_ms`."""
        return f"p{self.percentile:g}_ms"

    def met_by(self, latency_ms: float) -> bool:
        return latency_ms <= self.limit_ms

    def describe(self) -> str:
        return f"{self.key}<={self.limit_ms:g}"


def parse_slo(text: str) -> Slo:
    """`p95_ms<=500` → Slo(95, 500); anything else is a usage error naming the expected form."""
    match = _SLO.match(text)
    if not match:
        raise BadSlo(
            f"bad --slo {text!r}: expected e.g. 'p95_ms<=500' (percentile of end-to-end job latency)"
        )
    percentile = float(match["pct"])
    limit_ms = float(match["ms"])
    if not 0 < percentile < 100:
        raise BadSlo(f"bad --slo {text!r}: the percentile must be between 0 and 100")
    if limit_ms <= 0:
        raise BadSlo(f"bad --slo {text!r}: the latency limit must be positive")
    return Slo(percentile, limit_ms)
