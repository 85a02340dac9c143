"""`podbench limits`: measure each operation's real rate limit, burst, window, concurrency and algorithm.

The measuring is the `discovery` room's (HTTP only); this command picks the target (the embedded
emulator by default), guards a real one (a request cap, no destructive operation unless allowed),
proves the client fast enough, and writes `limits.json` + the manifest (docs/results-format.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contract import env
from contract.results import machine, update_manifest, utc_iso, versions
from discovery import (
    OPERATIONS,
    ClientTooSlow,
    Discovery,
    Documented,
    Settings,
    client_capacity,
    operation,
    planned_requests,
)
from podbench import __version__
from podbench.embedded import embedded_emulator
from podbench.errors import UsageError
from podbench.target import Target, add_target_arguments, real_target_from_args

HELP = "measure each operation's rate limit, burst, window, concurrency and algorithm (limits.json)"
REAL_TARGET_DEFAULT_CAP = 20_000
MAX_BURST_RATE = 2000.0
EMULATOR_WATCH_RATE = 200.0
REAL_WATCH_RATE = 50.0  # 20 ms resolution is 0.2% of a 10 s window, at a quarter of the 429s
_HINT = re.compile(r"^(?P<op>[a-z_]+)=(?P<limit>\d+)/(?P<window>\d+(\.\d+)?)s?(/(?P<conc>\d+))?$")


def configure(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument(
        "--operation",
        action="append",
        required=True,
        metavar="OP",
        help=f"operation to measure (repeatable): {', '.join(OPERATIONS)}",
    )
    parser.add_argument("--out", required=True, type=Path, help="result folder (created if missing)")
    parser.add_argument(
        "--allow-destructive",
        action="store_true",
        help="against a real target, allow probing operations that create jobs or purge the queue",
    )
    parser.add_argument(
        "--max-requests",
        type=int,
        metavar="N",
        help=f"stop after N requests (default {REAL_TARGET_DEFAULT_CAP} against a real target, none for the emulator)",
    )
    parser.add_argument(
        "--emulator-config", type=Path, metavar="FILE", help="TOML config for the embedded emulator"
    )
    parser.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="OP=N/Ws[/C]",
        help="expected limit, used only to size the probes (default: the documented table), e.g. status=20/2s/5",
    )
    parser.add_argument(
        "--burst-rate", type=float, metavar="RPS", help="burst send rate (default: from calibration)"
    )
    parser.add_argument(
        "--watch-rate",
        type=float,
        metavar="RPS",
        help="probe rate while refused; sets the time resolution (default 200/s on the emulator, 50/s on a real target)",
    )
    parser.add_argument("--no-concurrency", action="store_true", help="skip the concurrency probes")


def _hints(values: list[str]) -> dict[str, Documented]:
    hints: dict[str, Documented] = {}
    for value in values:
        m = _HINT.match(value.strip())
        if not m or m["op"] not in OPERATIONS or int(m["limit"]) < 1 or float(m["window"]) <= 0:
            raise UsageError(f"bad --expect {value!r}: expected OP=N/Ws[/C], e.g. status=20/2s/5")
        conc = int(m["conc"]) if m["conc"] else None
        hints[m["op"]] = Documented(int(m["limit"]), float(m["window"]), conc)
    return hints


def _check_operations(names: list[str], real: bool, allow_destructive: bool) -> tuple[str, ...]:
    for name in names:
        try:
            op = operation(name)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if real and op.destructive and not allow_destructive:
            raise UsageError(
                f"{name} creates jobs or empties the queue; against a real target pass --allow-destructive"
            )
    return tuple(dict.fromkeys(names))


def _config_endpoint_id(path: Path) -> str:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read --emulator-config {path}: {exc}") from None
    endpoints = data.get("endpoint")
    if (
        not isinstance(endpoints, list)
        or not endpoints
        or not isinstance(endpoints[0], dict)
        or "id" not in endpoints[0]
    ):
        raise UsageError(f"--emulator-config {path} has no [[endpoint]] table with an id")
    return str(endpoints[0]["id"])


def _checked_target(args: argparse.Namespace) -> Target | str:
    """The real target, or the embedded emulator's endpoint id: read before the client's capacity
    is measured (a few seconds of requests), so bad input is refused at once."""
    real = real_target_from_args(args, os.environ)
    if real is not None:
        if args.emulator_config is not None:
            raise UsageError("--emulator-config is for the embedded emulator, not a real target")
        return real
    return _config_endpoint_id(args.emulator_config) if args.emulator_config else "podbench"


@contextmanager
def _target(args: argparse.Namespace, checked: Target | str) -> Iterator[tuple[Target, str]]:
    if isinstance(checked, Target):
        yield checked, checked.api_key()
        return
    endpoint_id = checked
    with embedded_emulator(
        endpoint_id=endpoint_id, config=args.emulator_config, api_key_env=args.api_key_env
    ) as emu:
        yield emu.target, emu.api_key


def run(args: argparse.Namespace) -> int:
    if args.max_requests is not None and args.max_requests < 1:
        raise UsageError("--max-requests must be at least 1")
    if (args.watch_rate is not None and args.watch_rate <= 0) or (
        args.burst_rate is not None and args.burst_rate <= 0
    ):
        raise UsageError("--watch-rate and --burst-rate must be positive")
    hints = _hints(args.expect)
    real = bool(args.target_url or os.environ.get(env.ENDPOINT_BASE_URL))
    ops = _check_operations(args.operation, real, args.allow_destructive)
    checked = _checked_target(args)
    capacity = asyncio.run(client_capacity())
    burst_rate = args.burst_rate or min(MAX_BURST_RATE, 0.5 * capacity)
    if burst_rate > capacity:
        raise UsageError(
            f"--burst-rate {burst_rate:g}/s is beyond this client's measured {capacity:.0f} requests/s"
        )
    started = datetime.now(UTC)
    with _target(args, checked) as (target, key):
        settings = Settings(
            base_url=target.base_url,
            endpoint_id=target.endpoint_id,
            api_key=key,
            operations=ops,
            fast_rate=burst_rate,
            watch_rate=args.watch_rate or (EMULATOR_WATCH_RATE if target.embedded else REAL_WATCH_RATE),
            max_requests=args.max_requests or (None if target.embedded else REAL_TARGET_DEFAULT_CAP),
            # Holding requests creates jobs (runsync, or the job a long-poll waits on).
            measure_concurrency=not args.no_concurrency and (target.embedded or args.allow_destructive),
            hints=hints,
        )
        planned = planned_requests(settings)
        cap = settings.max_requests
        print(f"podbench limits: about {planned} requests planned" + (f", stopping at {cap}" if cap else ""))
        run = Discovery(settings, say=lambda line: print(f"  {line}", flush=True))
        stopped_by_user = False
        try:
            result = asyncio.run(run.run())
        except ClientTooSlow as exc:
            raise UsageError(str(exc)) from None
        except KeyboardInterrupt:  # Ctrl-C: keep what was measured, marked incomplete
            stopped_by_user = True
            result = run.so_far("stopped by Ctrl-C (SIGINT)")
    ended = datetime.now(UTC)
    doc = {"target": target.describe(), "started": utc_iso(started), "ended": utc_iso(ended), **result}
    doc["client_capacity_rps"] = round(capacity, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "limits.json").write_text(json.dumps(doc) + "\n", encoding="utf-8")
    _update_manifest(args.out, target, started, ended, result)
    _print_table(result["operations"])
    if result["interrupted"]:
        print(f"podbench limits: stopped early: {result['interrupted']}", file=sys.stderr)
    return 130 if stopped_by_user else 0


def _update_manifest(
    out: Path, target: Target, started: datetime, ended: datetime, result: dict[str, Any]
) -> None:
    lags = [op["evidence"].get("max_send_lag_ms", 0.0) for op in result["operations"].values()]
    update_manifest(
        out,
        "limits",
        {
            "podbench_version": __version__,
            "target": target.describe(),
            "versions": {"podbench": __version__, **versions("aiohttp")},
            "ended": utc_iso(ended),
            "generator": {"limits_max_send_lag_ms": max(lags, default=0.0)},
        },
        defaults={"started": utc_iso(started), "machine": machine()},
        interrupted=bool(result["interrupted"]),
    )


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if value < 100 else f"{value:.0f}"
    return str(value)


def _print_table(operations: dict[str, Any]) -> None:
    header = (
        "operation",
        "algorithm",
        "limit",
        "window_s",
        "burst",
        "rate/s",
        "concurrency",
        "retry-after",
        "documented",
    )
    rows = [header]
    for name, r in operations.items():
        doc = r.get("documented") or {}
        documented = f"{doc['limit']}/{doc['window_s']:g}s, {_fmt(doc.get('concurrency'))}" if doc else "-"
        accurate = r["retry_after_accurate"]
        ra = "-" if accurate is None else ("accurate" if accurate else "WRONG")
        rows.append(
            (
                name,
                r["algorithm"],
                _fmt(r["limit"]),
                _fmt(r["window_s"]),
                _fmt(r["burst"]),
                _fmt(r["rate_per_s"]),
                _fmt(r["concurrency"]),
                ra,
                documented,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
