"""`podbench conform`: run the conformance suite (pytest, as a child) and keep its verdict.

Writes DIR/junit.xml, DIR/conformance.json and updates DIR/manifest.json. Exit 0 when no claim is
violated, 1 when one is, 2 on a harness error or bad usage. The API key stays in the environment:
the child gets the variable's name (--api-key-env), never the key on its command line.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from conformance.violations import HarnessError
from contract.results import machine, update_manifest, utc_iso, versions
from emulator.config import RUN_BODY_LIMIT, RUNSYNC_BODY_LIMIT
from podbench import __version__
from podbench.embedded import embedded_emulator, save_worker_logs
from podbench.errors import UsageError
from podbench.load_runner import free_port
from podbench.target import add_target_arguments, real_target_from_args
from podbench.worker_checks import worker_facts, write_json
from podbench.worker_file import WorkerFile, add_worker_arguments

HELP = "check an endpoint against every documented claim of the API (default: the embedded emulator)"
INPUT_FLAGS = {
    "--input": 'sample job {"input": {...}} of your worker (default ./test_input.json when present)',
    "--fail-input": "an input your worker answers with a FAILED job (failure claims)",
    "--slow-input": "an input whose job runs 15 s or more (queued, cancel, timeout claims)",
    "--stream-input": "an input whose generator yields chunks over a few seconds (stream claims)",
}


def configure(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="result folder: junit.xml, conformance.json, manifest.json",
    )
    parser.add_argument(
        "--target-profile",
        type=Path,
        metavar="FILE",
        help="TOML: retention windows, limits, workersMax the suite may expect",
    )
    parser.add_argument("--run-slow", action="store_true", help="run tests that wait documented real time")
    parser.add_argument(
        "--allow-destructive", action="store_true", help="let tests purge the queue of a real endpoint"
    )
    parser.add_argument(
        "--webhook-receiver-url",
        metavar="URL",
        help="public URL that reaches the suite's webhook receiver (real targets)",
    )
    parser.add_argument(
        "--webhook-listen-port",
        type=int,
        default=0,
        metavar="PORT",
        help="loopback port of the webhook receiver",
    )
    parser.add_argument(
        "-k", dest="select", metavar="EXPR", help="only tests matching this pytest -k expression"
    )
    worker = parser.add_argument_group(
        "a worker that does not speak podbench's worker contract (detected with one probe job)"
    )
    for flag, meaning in INPUT_FLAGS.items():
        worker.add_argument(flag, type=Path, metavar="FILE", help=meaning)
    add_worker_arguments(worker)


def suite_dir() -> Path:
    spec = importlib.util.find_spec("conformance")
    if spec is None or not spec.submodule_search_locations:
        raise UsageError("the conformance suite is not installed (package 'conformance' not found)")
    return Path(next(iter(spec.submodule_search_locations)))


def pytest_command(args: argparse.Namespace, out: Path, environ: dict[str, str]) -> list[str]:
    target = real_target_from_args(args, environ)
    cmd = [
        sys.executable,
        "-P",
        "-m",
        "pytest",
        "-p",
        "no:locust",
        "-p",
        "no:hypothesispytest",
        "-p",
        "no:cacheprovider",
        str(suite_dir()),
        "-q",
        "-rN",
        f"--junitxml={out / 'junit.xml'}",
        f"--conformance-json={out / 'conformance.json'}",
    ]
    if target is not None:
        cmd += [
            "--target-url",
            target.base_url,
            "--endpoint-id",
            target.endpoint_id,
            "--api-key-env",
            target.api_key_env,
        ]
    if args.target_profile is not None:
        if not args.target_profile.is_file():
            raise UsageError(f"target profile not found: {args.target_profile}")
        try:  # the suite would turn a broken file into one harness error per test
            tomllib.loads(args.target_profile.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise UsageError(f"target profile {args.target_profile} is not valid TOML: {exc}") from None
        cmd += ["--target-profile", str(args.target_profile)]
    for flag, on in (("--run-slow", args.run_slow), ("--allow-destructive", args.allow_destructive)):
        if on:
            cmd.append(flag)
    if args.webhook_receiver_url:
        cmd += ["--webhook-receiver-url", args.webhook_receiver_url]
    if args.webhook_listen_port:
        cmd += ["--webhook-listen-port", str(args.webhook_listen_port)]
    if args.select:
        cmd += ["-k", args.select]
    for flag in INPUT_FLAGS:
        path: Path | None = getattr(args, flag.lstrip("-").replace("-", "_"))
        if path is None:
            continue
        _check_input_file(flag, path)
        cmd += [flag, str(path.resolve())]
    return cmd


def _check_input_file(flag: str, path: Path) -> None:
    """Read now, with the suite's own reader, so a wrong file is one line and exit 2, not a usage
    error deep in pytest."""
    from conformance.workload import read_input_file  # here: it imports pytest

    try:
        read_input_file(path)
    except HarnessError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    if not args.worker:
        return _conform(args, dict(os.environ))
    worker = WorkerFile.from_args(args.worker, args.worker_python)
    if real_target_from_args(args, os.environ) is not None:
        raise UsageError("--worker runs your worker behind the embedded emulator: drop --target-url")
    args.input = worker.sample_file(args.input)
    out.mkdir(parents=True, exist_ok=True)
    with (
        embedded_emulator(extra_args=worker.emulator_args(), log_path=out / "emulator.log") as emu,
        tempfile.TemporaryDirectory(prefix="podbench-conform-") as tmp,
    ):
        if args.target_profile is None:
            args.target_profile = _embedded_limits_profile(Path(tmp))
        # the suite meets the worker as any endpoint: through the public API only (foreign-worker
        # mode); the queue it purges is this emulator's own, and the 429 floods, which judge the
        # emulator's rate limiter and not the worker, are left out
        args.target_url, args.endpoint_id = emu.target.base_url, emu.target.endpoint_id
        args.api_key_env = emu.target.api_key_env
        args.allow_destructive = True
        args.select = f"({args.select}) and not rate_limit" if args.select else "not rate_limit"
        if not args.webhook_receiver_url:  # the emulator delivers to loopback: webhooks are judged too
            args.webhook_listen_port = args.webhook_listen_port or free_port()
            args.webhook_receiver_url = f"http://127.0.0.1:{args.webhook_listen_port}"
        code = _conform(args, emu.child_env())
        write_json(out / "worker.json", worker_facts(emu, worker))
        save_worker_logs(emu, out)
        return code


def _embedded_limits_profile(folder: Path) -> Path:
    """A target profile stating the embedded emulator's exact body limits: the payload claims then
    take 2 requests each (accepted at the limit, refused one byte above) instead of a bisection
    over the documented range, ~20 bodies of up to 20 MB queued as jobs for the user's worker."""
    path = folder / "embedded-emulator.toml"
    path.write_text(
        f"[limits]\nrun_body = [{RUN_BODY_LIMIT}, {RUN_BODY_LIMIT}]\n"
        f"runsync_body = [{RUNSYNC_BODY_LIMIT}, {RUNSYNC_BODY_LIMIT}]\n",
        encoding="utf-8",
    )
    return path


def _conform(args: argparse.Namespace, environ: dict[str, str]) -> int:
    out: Path = args.out
    cmd = pytest_command(args, out, environ)
    out.mkdir(parents=True, exist_ok=True)
    result_file = out / "conformance.json"
    result_file.unlink(missing_ok=True)
    started = _now()
    pytest_code, interrupted = _run_suite(cmd, environ)
    if not result_file.is_file():
        if (
            pytest_code == 4
        ):  # pytest's usage error (e.g. a --target-profile with a wrong key): its one line is said
            return 2
        print(
            f"podbench conform: error: the suite wrote no verdict (pytest exit code {pytest_code})",
            file=sys.stderr,
        )
        return 2
    target = real_target_from_args(args, environ)
    if target is not None:
        _redact_files(out, target.api_key(environ))
    verdict = json.loads(result_file.read_text())
    summary = verdict.get("summary", {})
    _update_manifest(
        out, verdict.get("target", {}), started, _now(), interrupted=interrupted or pytest_code == 2
    )
    mode = (verdict.get("worker") or {}).get("mode", "not probed")
    print(
        f"podbench conform: worker {mode}; {summary.get('passed', 0)} claims passed, {summary.get('violated', 0)} violated, "
        f"{summary.get('recorded', 0)} recorded, {summary.get('harness_errors', 0)} harness errors, "
        f"{summary.get('skipped', 0)} skipped; uncovered: {len(summary.get('uncovered_claims', []))} -> {result_file}"
    )
    if interrupted:
        print("podbench conform: interrupted; the claims checked so far are kept", file=sys.stderr)
        return 130
    if summary.get("violated"):
        return 1
    if summary.get("harness_errors") or pytest_code not in (0, 1):
        return 2
    return 0


def _run_suite(cmd: list[str], environ: dict[str, str]) -> tuple[int, bool]:
    """Run pytest; on Ctrl-C or SIGTERM let it stop the way it does on SIGINT (it still writes
    junit.xml and conformance.json), instead of killing it as subprocess.call would."""
    proc = subprocess.Popen(cmd, env=environ)
    interrupted = False

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        while True:
            try:
                return proc.wait(), interrupted
            except KeyboardInterrupt:
                if interrupted:  # a second Ctrl-C: stop now
                    proc.kill()
                    return proc.wait(), True
                interrupted = True
                proc.send_signal(signal.SIGINT)  # a no-op if the terminal already sent it
    finally:
        signal.signal(signal.SIGTERM, previous)


def _redact_files(out: Path, key: str) -> None:
    """Belt and braces: a target that echoes the key in an error body must not put it in junit.xml."""
    for name in ("junit.xml", "conformance.json"):
        path = out / name
        if path.is_file() and key:
            text = path.read_text(errors="replace")
            if key in text:
                path.write_text(text.replace(key, "<redacted>"))


def _now() -> str:
    return utc_iso()


def _update_manifest(
    out: Path, target: dict[str, Any], started: str, ended: str, *, interrupted: bool
) -> None:
    update_manifest(
        out,
        "conformance",
        {
            "podbench_version": __version__,
            "ended": ended,
            "versions": {"podbench": __version__, **versions("pytest", "requests", "jsonschema")},
        },
        defaults={"target": target, "started": started, "machine": machine()},
        interrupted=interrupted,
    )
