"""`python -m emulator`: run the emulated endpoint API until SIGTERM/SIGINT.

Once listening it writes the ready file (atomically) as {"port", "host", "pid"} and prints the base
URL and how to point the official SDK at it. The API key is never printed unless it was generated.
The process protocol (ready file, --parent-pid, keys in the environment) is `contract.emulator_process`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import secrets
import signal
import sys
from collections.abc import Callable, Sequence

from aiohttp import web

from contract.emulator_process import ADMIN_KEY_ENV, API_KEY_ENV, watch_parent, write_ready_file
from emulator.app import create_app
from emulator.arguments import add_arguments
from emulator.clock import Clock, ManualClock, MonotonicClock
from emulator.config import ConfigError, EmulatorConfig, load_config
from emulator.server_lifecycle import ServerLifecycle
from emulator.worker_processes.host import WorkerHost
from emulator.worker_processes.probe import probe_worker


def build_parser(prog: str = "python -m emulator") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="An offline RunPod Serverless queue endpoint API."
    )
    add_arguments(parser)
    return parser


def resolve_config(args: argparse.Namespace) -> tuple[EmulatorConfig, list[str]]:
    """The config plus notes to print (generated keys are shown once, so the user can use them)."""
    notes: list[str] = []
    api_key = args.api_key or os.environ.get(API_KEY_ENV, "")
    if not api_key:
        api_key = "pb-" + secrets.token_urlsafe(18)
        notes.append(f"generated API key: {api_key}")
    admin_key = args.admin_key or os.environ.get(ADMIN_KEY_ENV, "")
    if not admin_key:
        admin_key = "pb-admin-" + secrets.token_urlsafe(18)
        notes.append(f"generated admin key: {admin_key}")
    config = load_config(
        args.config,
        endpoint_id=args.endpoint_id,
        api_key=api_key,
        admin_key=admin_key,
        worker=getattr(args, "worker", None),
        worker_python=getattr(args, "worker_python", None),
    )
    return config, notes


def probe_workers(config: EmulatorConfig) -> WorkerHost:
    """Each worker file must import and call `runpod.serverless.start` (ConfigError otherwise)."""
    host = WorkerHost()
    for endpoint in config.endpoints:
        if endpoint.worker and endpoint.worker not in host.info:
            host.info[endpoint.worker] = probe_worker(endpoint.worker, endpoint.worker_python)
    return host


YOUNG_COLLECTION_EVERY = 100_000
"""Net new container objects between two young garbage collections (Python's default: 700)."""


async def serve(
    args: argparse.Namespace, config: EmulatorConfig, notes: Sequence[str], workers: WorkerHost | None = None
) -> None:
    clock: Clock = ManualClock() if args.clock == "manual" else MonotonicClock()
    workers_host = workers or WorkerHost()
    app = create_app(config, clock, rate_limits=args.rate_limits == "on", worker_host=workers_host)
    # Held long-polls (runsync waits up to 300 s) must not delay a SIGTERM for long.
    runner = ServerLifecycle(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    port = sockets[0].getsockname()[1] if sockets else args.port
    workers_host.listening(args.host, port)
    host = args.host
    base = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
    # The store keeps up to max_jobs live records that a full collection must walk (about 1 ms
    # per 1k objects here): freeze start-up objects, and make full collections rarer (every
    # 1000 gen-1 passes instead of 10) so they stay out of p99 (docs/performance-notes.md, the bounded store).
    # Young collections too: with hundreds of open streams some 10-20k young objects are alive
    # at any time (Python counts a dying old object against the young count), so at the default
    # 700 a 2-5 ms young pass ran about 40 times a second (the emulator's p99 token lateness
    # 3.7 ms, against 2.0 ms at 100k, where a 10 s run of 500 streams has none;
    # docs/performance-notes.md, token timing).
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, 10, 1000)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if getattr(args, "parent_pid", None):
        watch_parent(args.parent_pid, stop)
    for note in notes:
        print(note)
    ids = ", ".join(e.id for e in config.endpoints)
    print(
        f"podbench emulator listening on {base} (endpoints: {ids}; clock: {args.clock}; rate limits: {args.rate_limits})"
    )
    print(
        f"  public API:  {base}/v2/{{endpoint_id}}/run|runsync|status|stream|cancel|retry|purge-queue|health"
    )
    print(f"  control API: {base}/_emulator/ (Authorization: Bearer <admin key>)")
    for path, info in workers_host.info.items():
        print(f"  worker processes run {path} (runpod {info.runpod_version}, handler {info.handler})")
    print(
        f"  official SDK: export RUNPOD_ENDPOINT_BASE_URL={base}/v2  (or runpod.endpoint_url_base = '{base}/v2')"
    )
    sys.stdout.flush()
    if args.ready_file is not None:
        write_ready_file(args.ready_file, port=port, host=host, pid=os.getpid())
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m emulator") -> int:
    args = build_parser(prog).parse_args(argv)
    return run_from_args(args, prog=prog)


def run_from_args(args: argparse.Namespace, *, prog: str = "python -m emulator") -> int:
    try:
        config, notes = resolve_config(args)
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            host = probe_workers(config)
            runner.run(serve(args, config, notes, host))
    except ConfigError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"{prog}: error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr
        )
        return 2
    return 0


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed (docs/performance-notes.md: about +15% on small replies)."""
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


if __name__ == "__main__":
    raise SystemExit(main())
