"""Shared plumbing of the chart modules: a lazily imported matplotlib (Agg), one look, SVG out.

matplotlib costs about a second to import, so nothing imports it until a chart is drawn.
"""

from __future__ import annotations

import io
import math
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
            # linear axes: plain numbers, no "1e6" offset or exponent above the axis
            "axes.formatter.useoffset": False,
            "axes.formatter.limits": (-9, 12),
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


def plain_number(value: float) -> str:
    """3 significant digits, never in scientific notation: 0.0005, 0.6, 12.5, 200, 3,600."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    decimals = max(0, 2 - math.floor(math.log10(abs(value))))
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def ms_label(value: float) -> str:
    """A duration in ms as a tick label: 0.5 ms, 1 ms, 250 ms, 1 s, 30 s."""
    if value >= 1000:
        return f"{plain_number(value / 1000.0)} s"
    return f"{plain_number(value)} ms"


@cache
def _formatter_classes() -> tuple[Any, Any]:
    """Tick formatters (defined on first use: matplotlib is imported lazily)."""
    import matplotlib.ticker as ticker

    class MsLogFormatter(ticker.LogFormatter):
        """matplotlib's choice of which log ticks to label, with ms_label's text."""

        def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
            return ms_label(x)

    class PlainLogFormatter(ticker.LogFormatter):
        def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
            return plain_number(x)

    return MsLogFormatter, PlainLogFormatter


def plain_log(ax: Axes, axis: str = "y", unit: str = "ms") -> None:
    """Log scale with readable ticks: 0.5 ms, 1 ms, 10 ms, 1 s (or 1, 10, 200 without a unit), never 6e-01."""
    ms_formatter, plain_formatter = _formatter_classes()
    formatter = ms_formatter if unit == "ms" else plain_formatter
    target = ax.yaxis if axis == "y" else ax.xaxis
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    target.set_major_formatter(formatter(labelOnlyBase=False))
    target.set_minor_formatter(formatter(labelOnlyBase=False, minor_thresholds=(1.5, 0.5)))


def zero_floor(ax: Axes, what: str, floor: float) -> None:
    """Say on the chart where zero values of a log axis are drawn (a log axis has no 0)."""
    ax.axhline(floor, color="#94a3b8", linestyle=":", linewidth=0.9)
    ax.annotate(
        f"{what} drawn on this line ({ms_label(floor)}): a log axis has no zero",
        xy=(0.0, floor),
        xycoords=("axes fraction", "data"),
        xytext=(4, 3),
        textcoords="offset points",
        fontsize=7.5,
        color="#475569",
    )


def log_floor(positive: list[float], default: float = 0.001) -> float:
    """Where a log axis draws zeros: half the smallest value above zero, on a 1-2-5 step."""
    if not positive:
        return default
    target = min(positive) / 2.0
    exponent = math.floor(math.log10(target))
    step = max(m for m in (1.0, 2.0, 5.0) if m * 10**exponent <= target)
    return float(step * 10.0**exponent)
