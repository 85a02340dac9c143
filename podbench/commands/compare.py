"""`podbench compare BASE CANDIDATE [--thresholds FILE] --out DIR`: side-by-side report; exit 1 on a breach."""

from __future__ import annotations

import argparse
from pathlib import Path

from podbench.errors import UsageError

HELP = "compare two result folders into DIR/comparison.html (exit 1 when --thresholds are broken)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("base", type=Path, metavar="BASE_DIR", help="result folder of the baseline run")
    parser.add_argument(
        "candidate", type=Path, metavar="CANDIDATE_DIR", help="result folder of the run to judge"
    )
    parser.add_argument("--thresholds", type=Path, metavar="FILE", help="TOML rules, see reports/README.md")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        required=True,
        help="folder for comparison.html and comparison.json",
    )


def run(args: argparse.Namespace) -> int:
    from reports import build_comparison
    from reports.errors import ReportInputError

    try:
        outcome = build_comparison(args.base, args.candidate, args.out, args.thresholds)
    except ReportInputError as exc:
        raise UsageError(str(exc)) from None
    print(f"comparison: {outcome.path}")
    for result in outcome.broken:
        print(f"threshold broken: {result.rule.text} ({result.detail})")
    return 1 if outcome.breached else 0
