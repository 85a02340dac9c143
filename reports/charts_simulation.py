"""Charts of a what-if simulation (simulation.json): cost against p95, and the chosen setting over time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reports.chartkit import legend, new_figure, no_data, time_label, to_svg

MAX_ROWS = 400


def _price(entry: Mapping[str, Any]) -> float | None:
    cost = entry.get("cost")
    if isinstance(cost, Mapping) and isinstance(cost.get("per_day"), (int, float)):
        return float(cost["per_day"])
    billed = entry.get("billed_seconds")
    if isinstance(billed, Mapping):
        return float(billed.get("active", 0) or 0) + float(billed.get("flex", 0) or 0)
    return None


def cost_latency_chart(entries: Sequence[Mapping[str, Any]], recommended: int | None) -> bytes:
    """One point per setting; the Pareto front joined and ringed; the recommendation starred."""
    priced = any(isinstance(e.get("cost"), Mapping) for e in entries)
    what = "cost per day" if priced else "billed worker-seconds"
    title = f"Settings: {what} against p95 end-to-end latency"
    points = []
    for index, entry in enumerate(entries):
        price = _price(entry)
        p95 = (entry.get("end_to_end_ms") or {}).get("p95")
        if price is not None and isinstance(p95, (int, float)):
            points.append((index, float(p95), price, bool(entry.get("pareto")), entry.get("slo_met")))
    if not points:
        return no_data(title)
    fig, (ax,) = new_figure(height_in=3.6)
    rest = [p for p in points if not p[3]]
    ax.scatter([p[1] for p in rest], [p[2] for p in rest], s=22, color="#94a3b8", label="setting", zorder=2)
    front = sorted((p for p in points if p[3]), key=lambda p: p[1])
    ax.plot([p[1] for p in front], [p[2] for p in front], color="#2563eb", linewidth=1.2, zorder=3)
    ax.scatter(
        [p[1] for p in front],
        [p[2] for p in front],
        s=40,
        facecolors="none",
        edgecolors="#2563eb",
        linewidths=1.4,
        label="Pareto front",
        zorder=4,
    )
    missed = [p for p in points if p[4] is False]
    if missed:
        ax.scatter(
            [p[1] for p in missed],
            [p[2] for p in missed],
            marker="x",
            s=18,
            color="#dc2626",
            label="misses the SLO",
            zorder=5,
        )
    for p in points:
        ax.annotate(
            f"#{p[0]}", (p[1], p[2]), textcoords="offset points", xytext=(4, 3), fontsize=7, color="#475569"
        )
    chosen = [p for p in points if p[0] == recommended]
    if chosen:
        ax.scatter(
            [chosen[0][1]],
            [chosen[0][2]],
            marker="*",
            s=160,
            color="#059669",
            label=f"recommended #{recommended}",
            zorder=6,
        )
    ax.set_xlabel("p95 end-to-end latency (ms)")
    ax.set_ylabel(what)
    ax.set_ylim(bottom=0)
    ax.set_title(title, loc="left")
    legend(ax, 4)
    return to_svg(fig)


def timeline_chart(timeline: Mapping[str, Any]) -> bytes:
    """Queue depth (max and mean per row) and workers by state, for the recommended setting."""
    title = f"Recommended setting #{timeline.get('setting')}: queue depth and workers over time"
    columns = list(timeline.get("columns") or [])
    rows = [r for r in timeline.get("rows") or [] if isinstance(r, Sequence) and len(r) == len(columns)]
    if not rows or "t" not in columns:
        return no_data(title)

    stride = max(1, -(-len(rows) // MAX_ROWS))

    def column(name: str) -> list[float]:
        """Every `stride` rows become one: the max of maxima, the mean of means (small SVG)."""
        i = columns.index(name)
        values = [float(r[i]) for r in rows]
        if name == "t":
            return values[::stride]
        pick = max if name.endswith("_max") else (lambda chunk: sum(chunk) / len(chunk))
        return [pick(values[j : j + stride]) for j in range(0, len(values), stride)]

    t = column("t")
    fig, (top, bottom) = new_figure(rows=2, height_in=2.4)
    top.step(t, column("in_queue_max"), where="post", color="#dc2626", linewidth=1.0, label="in queue (max)")
    top.plot(t, column("in_queue_mean"), color="#d97706", linewidth=1.0, label="in queue (mean)")
    top.set_ylabel("jobs")
    top.set_ylim(bottom=0)
    top.set_title(title, loc="left")
    legend(top, 2)
    running, idle, init = column("running"), column("idle"), column("initializing")
    bottom.stackplot(
        t,
        running,
        idle,
        init,
        labels=["running", "idle", "initializing"],
        colors=["#2563eb", "#94a3b8", "#d97706"],
        step="post",
    )
    bottom.set_ylabel("workers (mean)")
    bottom.set_ylim(bottom=0)
    legend(bottom, 3)
    time_label(bottom)
    return to_svg(fig)
