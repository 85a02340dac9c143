"""Room package: a result folder in, one self-contained report.html out; see reports/README.md.

Public entry points (the `podbench report` and `podbench compare` commands call these):
`build_report(folder, thresholds=None)` and `build_comparison(base, candidate, out, thresholds=None)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reports.compare import ComparisonOutcome, build_comparison
    from reports.page import ReportOutcome, build_report

__all__ = ["ComparisonOutcome", "ReportOutcome", "build_comparison", "build_report"]


def __getattr__(name: str) -> Any:
    # pandas and jinja2 load only when a report is built, so `podbench --help` stays fast.
    if name in ("build_report", "ReportOutcome"):
        from reports import page

        return getattr(page, name)
    if name in ("build_comparison", "ComparisonOutcome"):
        from reports import compare

        return getattr(compare, name)
    raise AttributeError(name)
