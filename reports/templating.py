"""The jinja2 environment: templates shipped in reports/templates, autoescaped, with number filters."""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import jinja2


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(float(value)):
        return None
    return float(value)


def fmt_count(value: Any) -> str:
    number = _number(value)
    return "—" if number is None else f"{number:,.0f}"


def fmt_ms(value: Any) -> str:
    number = _number(value)
    if number is None:
        return "—"
    if number >= 100:
        return f"{number:,.0f}"
    return f"{number:.1f}" if number >= 10 else f"{number:.2f}"


def fmt_rate(value: Any) -> str:
    number = _number(value)
    return "—" if number is None else (f"{number:,.1f}" if number < 1000 else f"{number:,.0f}")


def fmt_share(value: Any) -> str:
    number = _number(value)
    if number is None:
        return "—"
    if number == 0:
        return "0%"
    return f"{number:.2%}" if number >= 0.0001 else f"{number:.1e}"


def fmt_any(value: Any) -> str:
    if value is None:
        return "—"
    number = _number(value)
    return f"{number:,.6g}" if number is not None else str(value)


def fmt_kind(value: Any, kind: str) -> str:
    """Format by the metric's kind: count, rate, ms or share."""
    return {"count": fmt_count, "rate": fmt_rate, "ms": fmt_ms, "share": fmt_share}.get(kind, fmt_any)(value)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(count=fmt_count, ms=fmt_ms, rate=fmt_rate, share=fmt_share, any=fmt_any, kind=fmt_kind)
    return env


def render(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(**context)
