"""Distribution and step charts: HDR percentile plots, job lifecycle, capacity steps, rate-limit probes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reports.chartkit import (
    STATUS_COLORS,
    color_for,
    legend,
    log_floor,
    new_figure,
    no_data,
    plain_log,
    to_svg,
    zero_floor,
)
from reports.hdr import Distribution

TICKS = ((0.0, "0%"), (90.0, "90%"), (99.0, "99%"), (99.9, "99.9%"), (99.99, "99.99%"), (99.999, "99.999%"))


def _nines(percentile: float) -> float:
    """x position on an HDR plot: 1/(1-p), so each extra nine is one step on a log axis."""
    return 1.0 / max(1.0 - percentile / 100.0, 1e-7)


def percentile_chart(curves: Mapping[str, Distribution | None], title: str) -> bytes:
    """HDR percentile distribution: latency (log ms) against percentile on a 1/(1-p) log axis."""
    usable = {label: curve for label, curve in curves.items() if curve is not None and curve.count > 0}
    if not usable:
        return no_data(title)
    fig, (ax,) = new_figure(height_in=3.6)
    labels = list(usable)
    top = 0.0
    positive = [v for curve in usable.values() for v in curve.values_ms if v > 0]
    floor = log_floor(positive)
    at_zero: list[str] = []
    for label, curve in usable.items():
        points = [(p, v) for p, v in zip(curve.percentiles, curve.values_ms, strict=True) if p < 100.0]
        xs = [_nines(p) for p, _ in points]
        ys = [v if v > 0 else floor for _, v in points]
        if any(v <= 0 for _, v in points):
            at_zero.append(label)
        top = max(top, xs[-1] if xs else 1.0)
        ax.step(
            xs,
            ys,
            where="post",
            color=color_for(label, labels),
            linewidth=1.3,
            label=f"{label} (n={curve.count:,}, max {curve.max_ms:,.1f} ms)",
        )
        if len(xs) == 1:
            ax.plot(xs, ys, "o", color=color_for(label, labels))
    ax.set_xscale("log")
    plain_log(ax)
    ticks = [(x, text) for x, text in ((_nines(p), t) for p, t in TICKS) if x <= max(top, 10.0) * 1.01]
    ax.set_xticks([x for x, _ in ticks], [t for _, t in ticks])
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())  # the percentile ticks above are the only labels
    ax.set_xlim(1.0, max(top, 10.0))
    if at_zero:
        zero_floor(ax, f"0 ms percentiles of {', '.join(at_zero)}", floor)
    ax.set_xlabel("percentile")
    ax.set_ylabel("ms (log)")
    ax.set_title(title, loc="left")
    ax.legend(loc="upper left")
    return to_svg(fig)


def job_summary_chart(jobs: Mapping[str, float]) -> bytes:
    """Queue delay vs execution vs end-to-end at p50/p95/p99/max, when only summary numbers exist."""
    title = "Job lifecycle (ms)"
    phases = (("delay", "queue delay"), ("execution", "execution"), ("end_to_end", "end to end"))
    stats = ("p50", "p95", "p99", "max")
    present = [(key, name) for key, name in phases if any(f"{key}_{s}_ms" in jobs for s in stats)]
    if not present:
        return no_data(title)
    fig, (ax,) = new_figure()
    width = 0.8 / len(present)
    for index, (key, name) in enumerate(present):
        xs = [i + index * width for i in range(len(stats))]
        ax.bar(
            xs,
            [jobs.get(f"{key}_{s}_ms", 0.0) for s in stats],
            width=width,
            label=name,
            color=color_for(name, [n for _, n in phases]),
        )
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(stats))], list(stats))
    ax.set_title(title, loc="left")
    ax.set_ylabel("ms")
    legend(ax, len(present))
    return to_svg(fig)


def capacity_chart(steps: Sequence[Mapping[str, Any]], knee_rps: float | None = None) -> bytes:
    """Achieved rate and p95 latency against offered rate, one point per capacity step."""
    title = "Capacity steps: achieved rate and p95 vs offered rate (jobs/s)"
    rows = [s for s in steps if isinstance(s.get("offered_rps"), (int, float))]
    if not rows:
        return no_data(title)
    rows.sort(key=lambda s: float(s["offered_rps"]))
    offered = [float(s["offered_rps"]) for s in rows]
    fig, (ax,) = new_figure(height_in=3.4)
    ax.plot(offered, offered, color="#94a3b8", linestyle=":", linewidth=1, label="ideal")
    achieved = [float(s.get("achieved_rps") or 0.0) for s in rows]
    ax.plot(offered, achieved, color="#2563eb", marker="o", linewidth=1.3, label="achieved")
    ax.set_xlabel("offered jobs/s")
    ax.set_ylabel("achieved jobs/s")
    ax.set_ylim(bottom=0)
    if knee_rps is not None:
        ax.axvline(knee_rps, color="#dc2626", linestyle="--", linewidth=1, label=f"knee {knee_rps:g} jobs/s")
    p95 = [
        (o, float(s["p95_ms"]))
        for o, s in zip(offered, rows, strict=True)
        if isinstance(s.get("p95_ms"), (int, float))
    ]
    handles, labels = ax.get_legend_handles_labels()
    if p95:
        twin = ax.twinx()
        twin.plot(
            [o for o, _ in p95],
            [v for _, v in p95],
            color="#d97706",
            marker="s",
            linewidth=1.1,
            label="p95 ms",
        )
        twin.set_ylabel("p95 ms")
        twin.set_ylim(bottom=0)
        twin.grid(False)
        more = twin.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    ax.legend(handles, labels, loc="upper left")
    ax.set_title(title, loc="left")
    return to_svg(fig)


def goodput_chart(rows: Sequence[Mapping[str, Any]], knee_rps: float | None = None) -> bytes:
    """An LLM sweep: goodput (requests/s meeting every token threshold) and completions against
    the offered rate, one point per step (capacity.json `llm.goodput_vs_offered`)."""
    title = "LLM sweep: goodput vs offered rate (requests/s)"
    points = [
        (float(r["offered_rps"]), float(r["goodput_rps"]), float(r.get("achieved_rps") or 0.0))
        for r in rows
        if isinstance(r.get("offered_rps"), (int, float)) and isinstance(r.get("goodput_rps"), (int, float))
    ]
    if not points:
        return no_data(title)
    points.sort()
    offered = [p[0] for p in points]
    fig, (ax,) = new_figure(height_in=3.4)
    ax.plot(offered, offered, color="#94a3b8", linestyle=":", linewidth=1, label="ideal")
    ax.plot(offered, [p[2] for p in points], color="#2563eb", marker="o", linewidth=1.1, label="completed")
    ax.plot(offered, [p[1] for p in points], color="#16a34a", marker="s", linewidth=1.4, label="goodput")
    if knee_rps is not None:
        ax.axvline(knee_rps, color="#dc2626", linestyle="--", linewidth=1, label=f"knee {knee_rps:g} req/s")
    ax.set_xlabel("offered requests/s")
    ax.set_ylabel("requests/s")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left")
    ax.set_title(title, loc="left")
    return to_svg(fig)


def limit_probe_chart(op: str, timeline: Sequence[Sequence[Any]], window_s: float | None = None) -> bytes:
    """Each probe request of one operation by send time: accepted vs 429, with the window marked."""
    title = f"{op}: rate-limit probe (answers per 100 ms: 429 vs any other status)"
    sends = [
        (float(row[0]), int(row[2])) for row in timeline if len(row) >= 3 and isinstance(row[0], (int, float))
    ]
    if not sends:
        return no_data(title)
    start = min(t for t, _ in sends)
    buckets: dict[int, list[int]] = {}
    for t, status in sends:
        slot = buckets.setdefault(int((t - start) * 10), [0, 0])
        slot[1 if status == 429 else 0] += 1
    xs = sorted(buckets)
    fig, (ax,) = new_figure(height_in=2.6)
    seconds = [x / 10 for x in xs]
    ok = [buckets[x][0] for x in xs]
    limited = [buckets[x][1] for x in xs]
    ax.bar(seconds, ok, width=0.1, align="edge", color=STATUS_COLORS["2xx"], label="not limited")
    ax.bar(seconds, limited, width=0.1, align="edge", bottom=ok, color=STATUS_COLORS["429"], label="429")
    if window_s:
        edge = window_s
        while edge < max(seconds) + 0.1:
            ax.axvline(edge, color="#64748b", linestyle=":", linewidth=0.8)
            edge += window_s
    ax.set_xlabel("seconds since first probe")
    ax.set_ylabel("requests")
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title, loc="left")
    legend(ax, 2)
    return to_svg(fig)
