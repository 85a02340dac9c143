"""Room package: a result folder in, one self-contained report.html out; see reports/README.md.

Public entry points (the `podbench report` and `podbench compare` commands call these):
`build_report(folder, thresholds=None)` and `build_comparison(base, candidate, out, thresholds=None)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reports.compare import build_comparison
    from reports.page import build_report
    from reports.thresholds import Outcome

__all__ = ["Outcome", "build_comparison", "build_report"]


def __getattr__(name: str) -> Any:
    # pandas and jinja2 load only when a report is built, so `podbench --help` stays fast.
    if name == "build_report":
        from reports import page

        return page.build_report
    if name == "build_comparison":
        from reports import compare

        return compare.build_comparison
    if name == "Outcome":
        from reports import thresholds

        return thresholds.Outcome
    raise AttributeError(name)
