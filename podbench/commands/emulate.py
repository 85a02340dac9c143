"""`podbench emulate`: run the embedded emulator in the foreground (same as `python -m emulator`).

The emulator is its own room, so it runs as a child process; unlike the harnesses' launcher
(`contract.emulator_process.ChildServer`) it stays in the terminal's process group, so a Ctrl-C
reaches it directly, and its exit code is passed on.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess

from contract.emulator_process import ADMIN_KEY_ENV, API_KEY_ENV, READY_FILE_FLAG, emulator_command

HELP = "run the offline emulated endpoint (RunPod Serverless queue API) in the foreground"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port; 0 picks a free one (default 8000)")
    parser.add_argument("--endpoint-id", default="podbench", help="endpoint id when no --config is given")
    parser.add_argument("--config", help="TOML file with [[endpoint]] tables (see emulator/README.md)")
    parser.add_argument(
        "--api-key", help="API key (or $PODBENCH_EMULATOR_API_KEY; generated and shown if absent)"
    )
    parser.add_argument(
        "--admin-key", help="control API key (or $PODBENCH_EMULATOR_ADMIN_KEY; generated if absent)"
    )
    parser.add_argument("--ready-file", help="write {port, host, pid} here once listening")
    parser.add_argument(
        "--clock",
        choices=("real", "manual"),
        default="real",
        help="manual: time moves only via the control API",
    )
    parser.add_argument(
        "--rate-limits", choices=("on", "off"), default="on", help="apply the rate-limit gate (default on)"
    )
    parser.add_argument(
        "--worker",
        metavar="PATH",
        help="an unmodified RunPod worker file: each worker is a real process running the SDK's own loop",
    )
    parser.add_argument(
        "--worker-python", metavar="PYTHON", help="interpreter for --worker (default: this one)"
    )


def build_command(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """argv for `python -m emulator`; keys travel in the child's environment, never in argv."""
    cmd = emulator_command("--host", args.host, "--port", str(args.port), "--endpoint-id", args.endpoint_id)
    cmd += ["--clock", args.clock, "--rate-limits", args.rate_limits]
    if args.config:
        cmd += ["--config", args.config]
    if args.ready_file:
        cmd += [READY_FILE_FLAG, args.ready_file]
    if args.worker:
        cmd += ["--worker", args.worker]
    if args.worker_python:
        cmd += ["--worker-python", args.worker_python]
    env = dict(os.environ)
    if args.api_key:
        env[API_KEY_ENV] = args.api_key
    if args.admin_key:
        env[ADMIN_KEY_ENV] = args.admin_key
    return cmd, env


def run(args: argparse.Namespace) -> int:
    cmd, env = build_command(args)
    proc = subprocess.Popen(cmd, env=env)
    previous = signal.signal(signal.SIGTERM, lambda *_: proc.send_signal(signal.SIGTERM))
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        return proc.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
