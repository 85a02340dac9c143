"""Rate-limit evidence (limits.json `evidence`) as sentences and labelled tables, not raw JSON.

Each piece the discovery writes (discovery/README.md: the algorithm fit, the cold burst, the
straddle across a window boundary, the Retry-After check, concurrency, the client's own lag) gets
one sentence or one table; whatever else a producer adds is listed as label/value rows. The raw
JSON stays in the page, one click away, in a collapsed <details>.
"""

from __future__ import annotations

import json
from typing import Any

ALGORITHMS = {
    "sliding_window": "sliding window",
    "fixed_window": "fixed window",
    "token_bucket": "token bucket",
    "none": "no limit",
    "unknown": "unknown",
}
SHOWN = frozenset(
    (
        "answers_fitted",
        "mismatch_meaning",
        "best_fit",
        "mismatches",
        "candidates",
        "cold_burst_accepted",
        "cold_burst_achieved_rps",
        "burst_rate_rps",
        "watch_rate_rps",
        "watch_clustered_share",
        "straddle",
        "retry_after",
        "headers_seen",
        "concurrency",
        "max_send_lag_ms",
        "requests",
        "notes",
        "phases",
        "recovery_curve",
        "window_meaning",
    )
)
"""Keys told in words or tables below; `recovery_curve` is drawn by nobody here and stays in the raw JSON."""


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def plain(value: Any) -> str:
    """A value in words: numbers with separators, lists joined, objects as `key: value` pairs."""
    number = _num(value)
    if number is not None:
        return f"{number:,.0f}" if number == int(number) and abs(number) < 1e15 else f"{number:,.4g}"
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {plain(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list):
        if len(value) > 12 or any(isinstance(v, (dict, list)) for v in value):
            return f"{len(value):,} entries (in the raw JSON)"
        return ", ".join(plain(v) for v in value) or "—"
    return str(value)


def algorithm_name(name: Any) -> str:
    """`sliding_window` as a reader says it: sliding window."""
    return ALGORITHMS.get(str(name), str(name).replace("_", " "))


def _fit_sentence(evidence: dict[str, Any]) -> str | None:
    best = evidence.get("best_fit")
    mismatches = evidence.get("mismatches")
    if best is None or not isinstance(mismatches, dict):
        return None
    answers = _num(evidence.get("answers_fitted"))
    others = ", ".join(f"{algorithm_name(k)} {plain(v)}" for k, v in mismatches.items() if k != best)
    of = f" of {answers:,.0f} answers" if answers is not None else ""
    return (
        f"Best fit: {algorithm_name(best)}, {plain(mismatches.get(best))} misplaced accepts{of}"
        + (f" (other models: {others})" if others else "")
        + "."
    )


def _burst_sentence(evidence: dict[str, Any]) -> str | None:
    accepted = _num(evidence.get("cold_burst_accepted"))
    if accepted is None:
        return None
    sent_at, planned = _num(evidence.get("cold_burst_achieved_rps")), _num(evidence.get("burst_rate_rps"))
    rate = ""
    if sent_at is not None:
        rate = f", sent at {sent_at:,.0f} req/s" + (f" (planned {planned:,.0f})" if planned else "")
    return f"Cold burst: {accepted:,.0f} accepted before the first 429{rate}."


def _straddle_sentence(evidence: dict[str, Any]) -> str | None:
    straddle = evidence.get("straddle")
    if not isinstance(straddle, dict):
        return None
    ratio = _num(straddle.get("accepted_per_limit"))
    return (
        f"Straddle: {plain(straddle.get('accepted'))} of {plain(straddle.get('sent'))} accepted in "
        f"{plain(straddle.get('span_s'))} s across where a fixed window would turn over"
        + (f", {ratio:.2g}x the limit" if ratio is not None else "")
        + (f" ({straddle['reading']})" if straddle.get("reading") else "")
        + "."
    )


def _retry_sentence(evidence: dict[str, Any]) -> str | None:
    retry = evidence.get("retry_after")
    if not isinstance(retry, dict):
        return None
    if not retry.get("checked"):
        return f"Retry-After: not checked ({retry.get('reason', 'no reason given')})."
    parts = [f"Retry-After: header {plain(retry.get('header'))}"]
    for side in ("before", "after"):
        probe = retry.get(side)
        if isinstance(probe, dict):
            parts.append(f"a request {plain(probe.get('offset_s'))} s after got {plain(probe.get('status'))}")
    accurate = retry.get("accurate")
    verdict = "accurate" if accurate is True else "not accurate" if accurate is False else "not judged"
    return "; ".join(parts) + f": {verdict}."


def _concurrency_sentence(evidence: dict[str, Any]) -> str | None:
    concurrency = evidence.get("concurrency")
    if not isinstance(concurrency, dict):
        return None
    found = concurrency.get("concurrency")
    if found is None:
        return f"Concurrency: not measured ({concurrency.get('reason', 'no reason given')})."
    rest = {k: v for k, v in concurrency.items() if k != "concurrency"}
    return (
        f"Concurrency: {plain(found)} requests in flight at most"
        + (f" ({plain(rest)})" if rest else "")
        + "."
    )


def _client_sentence(evidence: dict[str, Any]) -> str | None:
    lag, requests = _num(evidence.get("max_send_lag_ms")), _num(evidence.get("requests"))
    if lag is None and requests is None:
        return None
    parts = []
    if requests is not None:
        parts.append(f"{requests:,.0f} probe requests")
    if lag is not None:
        parts.append(f"the client's largest send lag {lag:,.1f} ms")
    return "Client: " + ", ".join(parts) + "."


def candidate_rows(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per simulated algorithm: its fitted parameters and how many answers it misplaced."""
    candidates = evidence.get("candidates")
    if not isinstance(candidates, dict):
        return []
    mismatches = evidence.get("mismatches") if isinstance(evidence.get("mismatches"), dict) else {}
    rows = []
    for name, fitted in candidates.items():
        if isinstance(fitted, dict):
            rows.append(
                {
                    "algorithm": algorithm_name(name),
                    "best": name == evidence.get("best_fit"),
                    "mismatches": (mismatches or {}).get(name),
                    **{k: fitted.get(k) for k in ("limit", "window_s", "burst", "rate_per_s", "phase_s")},
                }
            )
    return rows


def phase_rows(evidence: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(phase, first timeline row, requests) for each probe phase."""
    phases = evidence.get("phases")
    if not isinstance(phases, dict):
        return []
    return [
        (str(name).replace("_", " "), plain(span[0]), plain(span[1]))
        for name, span in phases.items()
        if isinstance(span, list) and len(span) == 2
    ]


def evidence_view(evidence: Any) -> dict[str, Any]:
    """Sentences, tables and the raw JSON (for the collapsed details) of one operation's evidence."""
    if not isinstance(evidence, dict) or not evidence:
        return {}
    sentences = [
        s
        for s in (
            _fit_sentence(evidence),
            _burst_sentence(evidence),
            _straddle_sentence(evidence),
            _retry_sentence(evidence),
            _concurrency_sentence(evidence),
            _client_sentence(evidence),
        )
        if s
    ]
    if evidence.get("window_meaning"):
        sentences.append(str(evidence["window_meaning"]).capitalize() + ".")
    other = [(str(k).replace("_", " "), plain(v)) for k, v in evidence.items() if k not in SHOWN]
    headers = evidence.get("headers_seen")
    if isinstance(headers, dict) and headers:
        other.append(("headers seen", plain(headers)))
    notes = (
        [str(n) for n in evidence.get("notes") or [] if n] if isinstance(evidence.get("notes"), list) else []
    )
    return {
        "sentences": sentences,
        "candidates": candidate_rows(evidence),
        "mismatch_meaning": str(evidence.get("mismatch_meaning") or ""),
        "phases": phase_rows(evidence),
        "other": other,
        "notes": notes,
        "raw": json.dumps(evidence, indent=2, sort_keys=True, default=str),
    }
