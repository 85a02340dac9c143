"""The arrival flags `podbench load` and `podbench simulate` share: a trace file or a shape."""

from __future__ import annotations

import argparse
from pathlib import Path

from contract.traces import FLOWS, SHAPES, Shape, Trace, TraceError, read_trace, shape_trace
from podbench.errors import UsageError
from podbench.load_profile import parse_duration


def add_trace_arguments(parser: argparse.ArgumentParser, *, shapes: bool) -> None:
    group = parser.add_argument_group("arrivals")
    group.add_argument("--trace", type=Path, help="CSV or JSONL with t (seconds), optional input and flow")
    if not shapes:
        return
    group.add_argument("--shape", help=f"arrivals from a shape instead: {' | '.join(SHAPES)}")
    group.add_argument("--rate", type=float, help="the shape's rate R in jobs/s (diurnal: the mean)")
    group.add_argument("--duration", dest="shape_duration", help="the shape's length, e.g. 10m, 24h")
    group.add_argument("--peak-ratio", type=float, default=4.0, help="diurnal: peak / trough (default 4)")
    group.add_argument("--spike-factor", type=float, default=10.0, help="spike: rate multiplier (default 10)")
    group.add_argument("--spike-length", help="spike: how long (default a tenth of the duration)")
    group.add_argument("--flow", default="run_poll", help=f"the shape's flow: {' | '.join(FLOWS)}")
    group.add_argument(
        "--seed", type=int, help="seed of the shape's arrivals and the simulated draws (default 1)"
    )


def trace_from_args(args: argparse.Namespace) -> Trace:
    """The trace the flags name; a bad file or shape is a UsageError (one line, exit 2)."""
    shape = getattr(args, "shape", None)
    try:
        if args.trace is not None and shape is not None:
            raise UsageError("give --trace or --shape, not both")
        if args.trace is not None:
            if not args.trace.is_file():
                raise UsageError(f"trace file not found: {args.trace}")
            return read_trace(args.trace)
        if shape is None:
            raise UsageError("give --trace FILE or --shape poisson|diurnal|spike --rate R --duration D")
        if args.rate is None or args.shape_duration is None:
            raise UsageError("--shape needs --rate R (jobs/s) and --duration D (e.g. 24h)")
        spike = parse_duration(args.spike_length, "--spike-length") if args.spike_length else None
        return shape_trace(
            Shape(
                name=shape,
                rate=args.rate,
                duration_s=parse_duration(args.shape_duration, "--duration"),
                seed=1 if args.seed is None else args.seed,
                peak_ratio=args.peak_ratio,
                spike_factor=args.spike_factor,
                spike_s=spike,
                flow=args.flow,
            )
        )
    except TraceError as exc:
        raise UsageError(str(exc)) from None
