"""`podbench report DIR [--thresholds FILE]`: write DIR/report.html; exit 1 when a threshold is broken."""

from __future__ import annotations

import argparse
from pathlib import Path

from podbench.errors import UsageError

HELP = "write DIR/report.html from a result folder (exit 1 when --thresholds are broken)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, metavar="DIR", help="result folder (docs/results-format.md)")
    parser.add_argument("--thresholds", type=Path, metavar="FILE", help="TOML rules, see reports/README.md")


def run(args: argparse.Namespace) -> int:
    # Imported here: pandas and jinja2 are not needed by any other command.
    from reports import build_report
    from reports.errors import ReportInputError

    try:
        outcome = build_report(args.folder, args.thresholds)
    except ReportInputError as exc:
        raise UsageError(str(exc)) from None
    print(f"report: {outcome.path}")
    for result in outcome.broken:
        print(f"threshold broken: {result.rule.text} ({result.detail})")
    return 1 if outcome.breached else 0
