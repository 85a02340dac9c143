"""`podbench trace`: write a trace file, from a result folder's jobs or from a shape.

podbench trace extract DIR [--out FILE] [--input plan|execution|none]
podbench trace shape --shape diurnal --rate 5 --duration 24h --out FILE
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from contract.traces import DEFAULT_FLOW, FLOWS, Arrival, write_trace
from podbench.errors import UsageError
from podbench.trace_args import add_trace_arguments, trace_from_args

HELP = "write a trace (arrival times, inputs, flows) from a result folder's jobs.csv or from a shape"
INPUTS = ("none", "plan", "execution")


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="trace_command", metavar="extract|shape", parser_class=type(parser))
    extract = sub.add_parser("extract", help="arrivals of a load run's jobs (jobs.csv) as a trace")
    extract.add_argument("folder", type=Path, metavar="DIR", help="a `podbench load` result folder")
    extract.add_argument("--out", type=Path, help="trace file to write (default DIR/trace-extracted.jsonl)")
    extract.add_argument(
        "--input",
        choices=INPUTS,
        default="none",
        help="each row's input: none (the replaying profile's), plan (the run's flow input), "
        "execution ({'sleep': measured execution time}, for the emulator)",
    )
    shape = sub.add_parser("shape", help="arrivals of a seeded shape (poisson, diurnal, spike) as a trace")
    add_trace_arguments(shape, shapes=True)
    shape.add_argument("--out", type=Path, required=True, help="trace file to write (.jsonl)")


def run(args: argparse.Namespace) -> int:
    if args.trace_command == "extract":
        return _extract(args)
    if args.trace_command == "shape":
        if args.trace is not None:
            raise UsageError("trace shape makes a trace from --shape; --trace is for the other commands")
        trace = trace_from_args(args)
        written = _write(args.out, trace.arrivals)
        print(f"{written:,} arrivals over {trace.duration_s:,.0f} s ({trace.source}) written to {args.out}")
        return 0
    raise UsageError("say which: podbench trace extract DIR | podbench trace shape --shape ...")


def _write(out: Path, arrivals: list[Arrival]) -> int:
    if not out.parent.is_dir():
        raise UsageError(f"cannot write {out}: folder {out.parent} does not exist")
    try:
        return write_trace(out, arrivals)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror}") from None


def _extract(args: argparse.Namespace) -> int:
    folder: Path = args.folder
    jobs_csv = folder / "jobs.csv"
    if not jobs_csv.is_file():
        raise UsageError(f"{folder} has no jobs.csv (a `podbench load` result folder has one)")
    flow, flow_input = _plan_flow(folder)
    try:
        with open(jobs_csv, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {jobs_csv}: {exc}") from None
    timed: list[tuple[float, Any]] = []
    for number, row in enumerate(rows, 2):
        try:
            t = float(row["submitted_t"])
        except (KeyError, TypeError, ValueError):
            raise UsageError(f"{jobs_csv}:{number}: no submitted_t") from None
        job_input: Any = None
        if args.input == "plan":
            job_input = flow_input
        elif args.input == "execution" and row.get("execution_time_ms"):
            job_input = {"sleep": round(float(row["execution_time_ms"]) / 1000, 6)}
        timed.append((t, job_input))
    if not timed:
        raise UsageError(f"{jobs_csv} lists no job")
    timed.sort(key=lambda item: item[0])
    first = min(0.0, timed[0][0])
    arrivals = [Arrival(t - first, job_input, flow) for t, job_input in timed]
    out = args.out or folder / "trace-extracted.jsonl"
    written = _write(out, arrivals)
    _warn_if_sampled(folder, written)
    print(f"{written:,} arrivals ({flow}) written to {out}")
    return 0


def _plan_flow(folder: Path) -> tuple[str, Any]:
    """The run's job flow and its input, from plan.json (run_poll when it cannot tell)."""
    try:
        flows = json.loads((folder / "plan.json").read_text(encoding="utf-8")).get("flows", {})
    except (OSError, json.JSONDecodeError, AttributeError):
        return DEFAULT_FLOW, None
    named = [name for name in FLOWS if name in flows]
    if not named:
        return DEFAULT_FLOW, None
    return named[0], flows[named[0]].get("input")


def _warn_if_sampled(folder: Path, written: int) -> None:
    try:
        submitted = json.loads((folder / "summary.json").read_text(encoding="utf-8"))["jobs"]["submitted"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError):
        return
    if isinstance(submitted, int) and submitted > written:
        print(
            f"podbench trace: jobs.csv holds {written:,} of the run's {submitted:,} jobs (only jobs that "
            "ended, at most 100 000): the trace has those",
            file=sys.stderr,
        )
