"""Charts over the run's time axis, from intervals.csv and health.csv. Each returns SVG bytes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from contract.states import FINAL_NAMES
from reports.chartkit import (
    MAX_POINTS,
    STATUS_COLORS,
    color_for,
    legend,
    log_floor,
    new_figure,
    no_data,
    plain_log,
    time_label,
    to_svg,
    zero_floor,
)

BAND_PAIRS = (("p50_ms", "p90_ms", 0.35), ("p90_ms", "p99_ms", 0.22), ("p99_ms", "max_ms", 0.12))
WORKER_STATES = ("idle", "initializing", "running", "throttled", "unhealthy")
"""Disjoint /health worker states, so the stack is the worker count. `ready` is left out: on the
real service it counts the same workers as `idle` (equal in every captured body, docs/api-behaviour.md)."""
WORKER_COLORS = ("#cbd5e1", "#fbbf24", "#2563eb", "#f97316", "#dc2626")


def thin(frame: pd.DataFrame) -> pd.DataFrame:
    """Average rows into at most MAX_POINTS time bins (index is t)."""
    if len(frame) <= MAX_POINTS:
        return frame
    bins = pd.cut(frame.index.to_numpy(dtype=float), MAX_POINTS, labels=False)
    return frame.groupby(bins).mean().set_index(frame.index.to_series().groupby(bins).mean())


def _ops(intervals: pd.DataFrame, order: Sequence[str] | None) -> list[str]:
    present = [str(op) for op in intervals["op"].unique()]  # first-seen order, without a Python loop per row
    return (
        [op for op in order if op in present] + [op for op in present if op not in order]
        if order
        else present
    )


def _per_op(intervals: pd.DataFrame, column: str) -> pd.DataFrame:
    table = intervals.pivot_table(index="t", columns="op", values=column, aggfunc="sum").sort_index()
    return thin(table)


def throughput_chart(intervals: pd.DataFrame, order: Sequence[str] | None = None) -> bytes:
    """Achieved requests per second of each operation (and all together) over time."""
    title = "Throughput per operation (req/s)"
    if intervals is None or not len(intervals):
        return no_data(title)
    ops = _ops(intervals, order)
    table = _per_op(intervals, "requests")
    fig, (ax,) = new_figure()
    if len(ops) > 1:
        ax.plot(table.index, table.sum(axis=1), color="#0f172a", linewidth=1.4, label="all")
    for op in ops:
        ax.plot(
            table.index,
            table[op],
            color=color_for(op, ops),
            linewidth=1.1,
            label=op,
            marker="o" if len(table) == 1 else None,
        )
    ax.set_title(title, loc="left")
    ax.set_ylabel("req/s")
    ax.set_ylim(bottom=0)
    time_label(ax)
    legend(ax, len(ops) + (len(ops) > 1))
    return to_svg(fig)


def latency_bands_chart(intervals: pd.DataFrame, order: Sequence[str] | None = None) -> bytes:
    """One panel per operation: median line with p50-p90, p90-p99 and p99-max bands (log scale)."""
    title = "Latency percentiles over time (ms, log scale)"
    if intervals is None or not len(intervals) or intervals["p50_ms"].isna().all():
        return no_data(title)
    ops = [
        op for op in _ops(intervals, order) if intervals.loc[intervals["op"] == op, "p50_ms"].notna().any()
    ]
    fig, axes = new_figure(rows=len(ops), height_in=2.3)
    for ax, op in zip(axes, ops, strict=True):
        rows = thin(
            intervals[intervals["op"] == op]
            .set_index("t")[["p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms"]]
            .sort_index()
        )
        color = color_for(op, ops)
        for low, high, alpha in BAND_PAIRS:
            ax.fill_between(
                rows.index,
                rows[low],
                rows[high],
                color=color,
                alpha=alpha,
                linewidth=0,
                label=f"{low[:-3]}–{high[:-3]}",
            )
        ax.plot(
            rows.index,
            rows["p50_ms"],
            color=color,
            linewidth=1.2,
            label="p50",
            marker="o" if len(rows) == 1 else None,
        )
        ax.plot(rows.index, rows["p95_ms"], color=color, linewidth=0.8, linestyle="--", label="p95")
        plain_log(ax)
        ax.set_title(f"{op}: latency percentiles per interval (ms, log scale)", loc="left")
        ax.set_ylabel("ms")
        legend(ax, 5)
    time_label(axes[-1])
    return to_svg(fig)


def status_chart(intervals: pd.DataFrame, order: Sequence[str] | None = None) -> bytes:
    """Responses per second by status class, all operations stacked; then 429s per operation, if any."""
    title = "Status codes over time (responses/s, all operations)"
    columns = {
        "2xx": "status_2xx",
        "4xx": "status_4xx",
        "5xx": "status_5xx",
        "other": "status_other",
        "429": "status_429",
    }
    if intervals is None or not len(intervals) or all(intervals[c].isna().all() for c in columns.values()):
        return no_data(title)
    table = thin(intervals.groupby("t")[list(columns.values())].sum().sort_index())
    limited = intervals["status_429"].fillna(0).gt(0).any()
    fig, axes = new_figure(rows=2 if limited else 1, height_in=2.6 if limited else 3.2)
    ax = axes[0]
    # The five classes are disjoint (status_4xx excludes 429), so the stack sums to all requests.
    layers = {
        "2xx": table["status_2xx"],
        "4xx (not 429)": table["status_4xx"],
        "5xx": table["status_5xx"],
        "other": table["status_other"],
        "429": table["status_429"],
    }
    colors = [
        STATUS_COLORS["2xx"],
        STATUS_COLORS["4xx"],
        STATUS_COLORS["5xx"],
        STATUS_COLORS["other"],
        STATUS_COLORS["429"],
    ]
    if len(table) == 1:
        bottom = 0.0
        for (label, series), color in zip(layers.items(), colors, strict=True):
            ax.bar(table.index, series, bottom=bottom, color=color, label=label, width=0.8)
            bottom += float(series.fillna(0).iloc[0])
    else:
        ax.stackplot(
            table.index,
            *[s.fillna(0) for s in layers.values()],
            labels=list(layers),
            colors=colors,
            linewidth=0,
        )
    ax.set_title(title, loc="left")
    ax.set_ylabel("responses/s")
    ax.set_ylim(bottom=0)
    legend(ax, len(layers))
    if limited:
        ops = _ops(intervals, order)
        per_op = _per_op(intervals, "status_429")
        shown = [op for op in ops if per_op[op].fillna(0).gt(0).any()]
        for op in shown:
            axes[1].plot(
                per_op.index,
                per_op[op].fillna(0),
                color=color_for(op, ops),
                linewidth=1.2,
                label=op,
                marker="o" if len(per_op) == 1 else None,
            )
        axes[1].set_title("429 responses per operation (per second)", loc="left")
        axes[1].set_ylabel("429/s")
        axes[1].set_ylim(bottom=0)
        legend(axes[1], len(shown))
    time_label(axes[-1])
    return to_svg(fig)


FOLLOW_UP = "_follow_up"


def offered_achieved_table(intervals: pd.DataFrame) -> pd.DataFrame:
    """Per second: offered and achieved (`requests`) scheduled sends, late sends, follow-up calls."""
    follow_ups = intervals["op"].astype(str).str.endswith(FOLLOW_UP)
    columns = ["offered", "requests", "late_sends"]
    table = intervals[~follow_ups].groupby("t")[columns].sum(min_count=1)
    table = table.join(intervals[follow_ups].groupby("t")["requests"].sum().rename("follow_ups"), how="outer")
    return thin(table.sort_index())


def offered_achieved_chart(intervals: pd.DataFrame) -> bytes:
    """Offered vs achieved rate of the scheduled sends, with late sends: does the generator keep up?

    Follow-up calls (`OP_follow_up` rows: scenario polls and reads) have no offered rate; they
    are drawn as a line of their own, never added to the achieved rate."""
    title = "Offered vs achieved rate (scheduled sends, all operations)"
    if intervals is None or not len(intervals):
        return no_data(title)
    table = offered_achieved_table(intervals)
    fig, (ax,) = new_figure()
    marker = "o" if len(table) == 1 else None
    if table["offered"].notna().any():
        ax.plot(
            table.index,
            table["offered"],
            color="#64748b",
            linestyle="--",
            linewidth=1.3,
            label="offered",
            marker=marker,
        )
    ax.plot(table.index, table["requests"], color="#2563eb", linewidth=1.3, label="achieved", marker=marker)
    if table["follow_ups"].notna().any():
        ax.plot(
            table.index,
            table["follow_ups"].fillna(0),
            color="#94a3b8",
            linestyle=":",
            linewidth=1.2,
            label="follow-up calls (not scheduled)",
            marker=marker,
        )
    if table["late_sends"].fillna(0).gt(0).any():
        ax.bar(
            table.index,
            table["late_sends"].fillna(0),
            color="#f97316",
            alpha=0.6,
            width=1.0,
            label="late sends",
        )
    ax.set_title(title, loc="left")
    ax.set_ylabel("req/s")
    ax.set_ylim(bottom=0)
    time_label(ax)
    legend(ax, 3)
    return to_svg(fig)


def health_chart(health: pd.DataFrame) -> bytes:
    """Queue depth (in queue, in progress) and workers by state over time, from /health samples."""
    title = "Queue depth and workers (from /health)"
    if health is None or not len(health):
        return no_data(title)
    frame = thin(
        health.set_index("t").sort_index()[["in_queue", "in_progress", *WORKER_STATES]].astype(float)
    )
    fig, (top, bottom) = new_figure(rows=2, height_in=2.4)
    marker = "o" if len(frame) == 1 else None
    top.plot(frame.index, frame["in_queue"], color="#dc2626", linewidth=1.3, label="in queue", marker=marker)
    top.plot(
        frame.index, frame["in_progress"], color="#2563eb", linewidth=1.3, label="in progress", marker=marker
    )
    top.set_title(title, loc="left")
    top.set_ylabel("jobs")
    top.set_ylim(bottom=0)
    legend(top, 2)
    states = [s for s in WORKER_STATES if frame[s].notna().any()]
    if states:
        colors = [WORKER_COLORS[WORKER_STATES.index(s)] for s in states]
        if len(frame) == 1:
            bottom_value = 0.0
            for state, color in zip(states, colors, strict=True):
                bottom.bar(
                    frame.index,
                    frame[state].fillna(0),
                    bottom=bottom_value,
                    color=color,
                    label=state,
                    width=0.8,
                )
                bottom_value += float(frame[state].fillna(0).iloc[0])
        else:
            bottom.stackplot(
                frame.index, *[frame[s].fillna(0) for s in states], labels=states, colors=colors, linewidth=0
            )
        legend(bottom, len(states))
    bottom.set_title("Workers by state (disjoint states; ready = idle, not stacked again)", loc="left")
    bottom.set_ylabel("workers")
    bottom.set_ylim(bottom=0)
    time_label(bottom)
    return to_svg(fig)


def overlay_chart(series: Mapping[str, pd.Series], title: str, ylabel: str, log: bool = False) -> bytes:
    """Several labelled time series on one axis (base vs candidate in a comparison)."""
    usable = {
        label: s.dropna().sort_index() for label, s in series.items() if s is not None and len(s.dropna())
    }
    if not usable:
        return no_data(title)
    fig, (ax,) = new_figure()
    styles = ("-", "--", ":", "-.")
    for index, (label, values) in enumerate(usable.items()):
        values = thin(values.to_frame("v"))["v"]
        ax.plot(
            values.index,
            values,
            linewidth=1.2,
            linestyle=styles[index % len(styles)],
            label=label,
            color=color_for(label, list(usable)),
            marker="o" if len(values) == 1 else None,
        )
    if log:
        plain_log(ax)
    else:
        ax.set_ylim(bottom=0)
    ax.set_title(title, loc="left")
    ax.set_ylabel(ylabel)
    time_label(ax)
    legend(ax, len(usable))
    return to_svg(fig)


JOB_SAMPLE = 3000
"""At most this many jobs are drawn (evenly spaced): enough to see a trend, small enough to embed."""


def job_timeline_chart(jobs: pd.DataFrame) -> bytes:
    """Each sampled job at its submit time: queue delay and execution time (log ms); failures marked."""
    title = "Job lifecycle over time: queue delay vs execution (ms, log scale)"
    if jobs is None or not len(jobs) or jobs["submitted_t"].isna().all():
        return no_data(title)
    frame = jobs.dropna(subset=["submitted_t"]).sort_values("submitted_t")
    if len(frame) > JOB_SAMPLE:
        frame = frame.iloc[:: -(-len(frame) // JOB_SAMPLE)]
    fig, (ax,) = new_figure()
    phases = (("delay_time_ms", "queue delay", "#dc2626"), ("execution_time_ms", "execution", "#2563eb"))
    positive = [float(v) for column, _, _ in phases for v in frame[column].dropna() if v > 0]
    floor = log_floor(positive, default=0.01)
    zeros: list[str] = []
    for column, label, color in phases:
        values = frame[column]
        is_zero = values.notna() & (values <= 0)
        if is_zero.any():
            count = int(is_zero.sum())
            zeros.append(f"{count:,} job{'s' if count != 1 else ''} with 0 ms {label}")
        ax.scatter(
            frame["submitted_t"],
            values.where(~is_zero, floor),
            s=6,
            color=color,
            alpha=0.5,
            linewidths=0,
            label=label,
            rasterized=True,
        )
    failed = frame[frame["final_status"].astype(str).str.upper().isin(sorted(FINAL_NAMES - {"COMPLETED"}))]
    if len(failed):
        ends = failed["end_to_end_ms"]
        ax.scatter(
            failed["submitted_t"],
            ends.where(ends > 0, floor),
            s=14,
            marker="x",
            color="#0f172a",
            linewidths=0.8,
            label="failed / timed out / cancelled (end to end)",
        )
    if frame[["delay_time_ms", "execution_time_ms"]].notna().any().any():
        plain_log(ax)
        if zeros:
            zero_floor(ax, "; ".join(zeros), floor)
    ax.set_title(title, loc="left")
    ax.set_ylabel("ms")
    time_label(ax)
    legend(ax, 3)
    return to_svg(fig)
