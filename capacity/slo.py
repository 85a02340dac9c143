"""Latency objectives such as `p95_ms<=500`, parsed once at the command line."""

from __future__ import annotations

import re
from dataclasses import dataclass

from capacity.errors import BadSlo

_SLO = re.compile(r"^\s*p(?P<pct>\d{1,2}(?:\.\d+)?)_ms\s*<=?\s*(?P<ms>\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class TokenSlo:
    """An LLM objective: thresholds one request must meet to count in goodput (None: not part of it),
    the same thresholds as a load profile's `[llm] slo`."""

    ttft_ms: float | None = None
    tpot_ms: float | None = None
    e2e_ms: float | None = None

    def met(self, ttft_ms: float | None, tpot_ms: float | None, e2e_ms: float | None) -> bool:
        """Every threshold holds; a request with one token has no TPOT, so that threshold passes."""
        checks: tuple[tuple[float | None, float | None], ...] = (
            (self.ttft_ms, ttft_ms),
            (self.tpot_ms, tpot_ms if tpot_ms is not None else 0.0),
            (self.e2e_ms, e2e_ms),
        )
        return all(limit is None or (value is not None and value <= limit) for limit, value in checks)

    def as_dict(self) -> dict[str, float]:
        return {k: v for k, v in vars(self).items() if v is not None}

    def describe(self) -> str:
        return ", ".join(f"{k}<={v:g}" for k, v in self.as_dict().items())


@dataclass(frozen=True)
class Slo:
    """End-to-end job latency objective: the `percentile` must be at most `limit_ms`.

    With `tokens` (an LLM sweep) a step is judged by goodput instead: at least `percentile` % of
    its requests must meet every token threshold (`ttft_ms<=1500` for 95 % is TTFT p95 <= 1.5 s);
    `limit_ms` is then the age after which an unfinished request is judged (late by then)."""

    percentile: float
    limit_ms: float
    tokens: TokenSlo | None = None

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
        if self.tokens is not None:
            return f"{self.tokens.describe()} for {self.percentile:g} % of requests"
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


def token_slo(table: object, share: float, source: str = "profile") -> Slo:
    """An LLM sweep's objective from a profile's `[llm] slo` table and the share of requests
    (e.g. 0.95) that must meet it."""
    if not isinstance(table, dict) or not table:
        raise BadSlo(f"{source}: an LLM sweep needs [llm] slo, e.g. {{ ttft_ms = 1500, tpot_ms = 75 }}")
    unknown = set(table) - {"ttft_ms", "tpot_ms", "e2e_ms"}
    if unknown:
        raise BadSlo(
            f"{source}: unknown [llm] slo key {sorted(unknown)[0]!r} (known: e2e_ms, tpot_ms, ttft_ms)"
        )
    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise BadSlo(f"{source}: [llm] slo {key} must be a positive number of milliseconds")
    if not 0 < share < 1:
        raise BadSlo(f"{source}: the goodput share must be between 0 and 1 (e.g. 0.95)")
    tokens = TokenSlo(table.get("ttft_ms"), table.get("tpot_ms"), table.get("e2e_ms"))
    # Mid-step, a request older than the TTFT limit has its first token or is already bad, so
    # steps are judged on those (the e2e limit would leave a short step almost nothing to judge).
    judged_after = float(tokens.ttft_ms or tokens.e2e_ms or max(table.values()))
    return Slo(100 * share, judged_after, tokens)
