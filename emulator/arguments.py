"""The flags of `python -m emulator`, in a module that imports nothing heavy, so `podbench emulate`
offers exactly the same ones (it forwards them to the child it starts)."""

from __future__ import annotations

import argparse
from pathlib import Path

from contract.emulator_process import ADMIN_KEY_ENV, API_KEY_ENV

SECRET_FLAGS = {"api_key": API_KEY_ENV, "admin_key": ADMIN_KEY_ENV}
"""Flags whose value travels to the child in its environment, never in argv (argv shows in `ps`)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8000, help="port to bind; 0 picks a free one (default 8000)"
    )
    parser.add_argument("--endpoint-id", default="podbench", help="endpoint id when no --config is given")
    parser.add_argument(
        "--config", type=Path, help="TOML file with [[endpoint]] tables (see emulator/README.md)"
    )
    parser.add_argument(
        "--api-key", help=f"API key for endpoints without their own (or ${API_KEY_ENV}; generated if absent)"
    )
    parser.add_argument("--admin-key", help=f"control API key (or ${ADMIN_KEY_ENV}; generated if absent)")
    parser.add_argument("--ready-file", type=Path, help="write {port, host, pid} here once listening")
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
        help="an unmodified RunPod worker file (calls runpod.serverless.start): each worker is a real process running it",
    )
    parser.add_argument(
        "--worker-python",
        metavar="PYTHON",
        help="interpreter that runs --worker (your worker's own environment; default: this one)",
    )
    parser.add_argument(
        "--parent-pid",
        type=int,
        metavar="PID",
        help="exit once PID, the process that started it, is gone (for harnesses that start it in its own session)",
    )
