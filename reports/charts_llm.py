"""Charts of an LLM run: output tokens per second over time, and each worker's batch over time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from reports.chartkit import color_for, legend, new_figure, no_data, time_label, to_svg


def tokens_chart(llm: Mapping[str, Any]) -> bytes:
    """Output tokens per second and completed requests per second, from summary.json's llm timeline."""
    title = "Output tokens per second"
    columns = list(llm.get("timeline_columns") or [])
    rows = [r for r in llm.get("timeline") or [] if isinstance(r, Sequence) and len(r) == len(columns)]
    if not rows or "t" not in columns:
        return no_data(title)
    t = [float(r[columns.index("t")]) for r in rows]
    fig, (top, bottom) = new_figure(rows=2, height_in=2.2)
    top.step(
        t, [r[columns.index("output_tokens")] for r in rows], where="post", color="#2563eb", linewidth=1.1
    )
    top.set_ylabel("tokens/s")
    top.set_ylim(bottom=0)
    top.set_title(title, loc="left")
    bottom.step(
        t, [r[columns.index("completed")] for r in rows], where="post", color="#64748b", label="completed"
    )
    bottom.step(
        t, [r[columns.index("good")] for r in rows], where="post", color="#16a34a", label="met the SLO"
    )
    bottom.set_ylabel("requests/s")
    bottom.set_ylim(bottom=0)
    legend(bottom, 2)
    time_label(bottom)
    return to_svg(fig)


def batch_chart(batches: pd.DataFrame) -> bytes:
    """Sequences each worker held over time (a step per change), against the batch size."""
    title = "Batch occupancy per worker (sequences held)"
    if batches is None or batches.empty:
        return no_data(title)
    fig, (ax,) = new_figure(height_in=2.8)
    workers = list(dict.fromkeys(str(w) for w in batches["worker"]))
    for worker in workers:
        rows = batches[batches["worker"].astype(str) == worker]
        ax.step(
            rows["t"],
            rows["batch"],
            where="post",
            color=color_for(worker, workers),
            linewidth=1.0,
            label=worker,
        )
    limit = batches["max_concurrency"].max()
    if pd.notna(limit):
        ax.axhline(float(limit), color="#dc2626", linestyle="--", linewidth=0.9, label="max_concurrency")
    ax.set_ylim(bottom=0)
    ax.set_ylabel("sequences")
    ax.set_title(title, loc="left")
    legend(ax, len(workers) + 1)
    time_label(ax)
    return to_svg(fig)
