"""Shared plumbing of the chart modules: a lazily imported matplotlib (Agg), one look, SVG out.

matplotlib costs about a second to import, so nothing imports it until a chart is drawn.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PALETTE = (
    "#2563eb",
    "#d97706",
    "#059669",
    "#dc2626",
    "#7c3aed",
    "#0891b2",
    "#db2777",
    "#65a30d",
    "#475569",
    "#ea580c",
)
STATUS_COLORS = {"2xx": "#059669", "4xx": "#d97706", "429": "#dc2626", "5xx": "#7c3aed", "other": "#94a3b8"}
WIDTH_IN = 9.0
RIGHT_IN = 1.5
"""Right margin, in inches, for legends placed outside the axes."""
MAX_POINTS = 1500
"""Longer time series are averaged into this many bins so the SVG stays small."""


@cache
def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, imported on first use."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    matplotlib.rcParams.update(
        {
            "font.family": "DejaVu Sans",
            "font.size": 9,
            "axes.titlesize": 10,
            "axes.titleweight": "bold",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.color": "#e2e8f0",
            "grid.linewidth": 0.6,
            "axes.edgecolor": "#94a3b8",
            "axes.labelcolor": "#334155",
            "xtick.color": "#475569",
            "ytick.color": "#475569",
            "legend.frameon": False,
            "legend.fontsize": 8,
            "svg.hashsalt": "podbench",
            "path.simplify": True,
        }
    )
    return plt


def color_for(name: str, names: Sequence[str]) -> str:
    """The same operation keeps the same colour in every chart of a report."""
    index = list(names).index(name) if name in names else len(names)
    return PALETTE[index % len(PALETTE)]


def new_figure(rows: int = 1, height_in: float = 3.2, sharex: bool = True) -> tuple[Figure, list[Axes]]:
    """Fixed margins in inches (room for a legend on the right): cheaper than tight_layout, same look."""
    plt = pyplot()
    top_in, bottom_in, gap_in = 0.45, 0.55, 0.55
    total_in = top_in + bottom_in + height_in * rows
    fig, axes = plt.subplots(rows, 1, figsize=(WIDTH_IN, total_in), sharex=sharex, squeeze=False)
    fig.subplots_adjust(
        left=0.8 / WIDTH_IN,
        right=1.0 - RIGHT_IN / WIDTH_IN,
        top=1.0 - top_in / total_in,
        bottom=bottom_in / total_in,
        hspace=gap_in / max(height_in - gap_in, 0.5),
    )
    return fig, [ax for row in axes for ax in row]


def to_svg(fig: Figure) -> bytes:
    """Serialize and close the figure (open figures leak memory across a report)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    pyplot().close(fig)
    return buffer.getvalue()


def no_data(title: str, message: str = "no data") -> bytes:
    """A small image that says the chart had nothing to draw."""
    fig, (ax,) = new_figure(height_in=1.2)
    ax.set_axis_off()
    ax.set_title(title, loc="left")
    ax.text(0.5, 0.4, message, ha="center", va="center", color="#64748b", transform=ax.transAxes)
    return to_svg(fig)


def time_label(ax: Axes) -> None:
    ax.set_xlabel("time since start (s)")


def legend(ax: Axes, count: int) -> None:
    """Legend outside, right of the axes, so it never hides a line."""
    if count > 0:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def plain_log(ax: Axes, axis: str = "y") -> None:
    """Log scale with ticks written 1, 10, 200 rather than 10^0, 2x10^2."""
    import matplotlib.ticker as ticker

    target = ax.yaxis if axis == "y" else ax.xaxis
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    target.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
    target.set_minor_formatter(ticker.LogFormatter(labelOnlyBase=False, minor_thresholds=(1.5, 0.5)))
