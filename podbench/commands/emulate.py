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

from contract.emulator_process import emulator_command
from emulator.arguments import SECRET_FLAGS, add_arguments

HELP = "run the offline emulated endpoint (RunPod Serverless queue API) in the foreground"


def configure(parser: argparse.ArgumentParser) -> None:
    add_arguments(parser)


def build_command(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """argv for `python -m emulator` with every flag given; keys travel in the child's environment."""
    cmd = emulator_command()
    env = dict(os.environ)
    probe = argparse.ArgumentParser(add_help=False)
    add_arguments(probe)
    for dest in vars(probe.parse_args([])):
        value = getattr(args, dest, None)
        if value is None:
            continue
        if dest in SECRET_FLAGS:
            env[SECRET_FLAGS[dest]] = str(value)
        else:
            cmd += [f"--{dest.replace('_', '-')}", str(value)]
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
