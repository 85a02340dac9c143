"""Running the conformance suite from white-box tests: as a child pytest, and behind a proxy
that breaks exactly one rule of an otherwise good target."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from threaded_app import ThreadedApp

from conformance.emulator_boot import BootedEmulator

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "conformance"


@dataclass(frozen=True)
class SuiteRun:
    code: int
    output: str
    verdict: dict[str, Any]

    def outcomes(self) -> dict[str, str]:
        return {c["id"]: c["outcome"] for c in self.verdict.get("claims", [])}

    def with_outcome(self, outcome: str) -> set[str]:
        return {claim_id for claim_id, found in self.outcomes().items() if found == outcome}

    def claim(self, claim_id: str) -> dict[str, Any]:
        return next(c for c in self.verdict["claims"] if c["id"] == claim_id)


def run_suite(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> SuiteRun:
    out = tmp_path / f"conformance-{len(list(tmp_path.glob('conformance-*.json')))}.json"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:locust",
        "-p",
        "no:hypothesispytest",
        "-p",
        "no:cacheprovider",
        str(SUITE),
        "-q",
        "--timeout",
        "60",
        f"--conformance-json={out}",
        *args,
    ]
    proc = subprocess.run(
        cmd, cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )
    verdict = json.loads(out.read_text()) if out.exists() else {}
    return SuiteRun(proc.returncode, proc.stdout + proc.stderr, verdict)


SESSION = web.AppKey("session", aiohttp.ClientSession)
Mutation = Callable[[web.Request, int, bytes], tuple[int, bytes]]


class BreakingProxy:
    """Forwards everything to `upstream`; `mutate(request, status, body)` may change the reply, and a
    request for which `drops(request)` is true gets its connection closed without a reply."""

    def __init__(
        self, upstream: str, mutate: Mutation, drops: Callable[[web.Request], bool] = lambda _: False
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.mutate = mutate
        self.drops = drops
        self._server = ThreadedApp(self._make_app, "proxy")

    def __enter__(self) -> BreakingProxy:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    async def _forward(self, request: web.Request) -> web.Response:
        if self.drops(request):
            if request.transport is not None:
                request.transport.abort()  # no reply at all, as a dying target or a flaky network
            raise asyncio.CancelledError
        session: aiohttp.ClientSession = request.app[SESSION]
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with session.request(
            request.method, self.upstream + request.path_qs, data=io.BytesIO(body), headers=headers
        ) as up:
            raw = await up.read()
            status, raw = self.mutate(request, up.status, raw)
            return web.Response(status=status, body=raw, content_type=up.content_type)

    def _make_app(self) -> web.Application:
        async def session_ctx(app: web.Application) -> Any:
            app[SESSION] = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
            yield
            await app[SESSION].close()

        app = web.Application(client_max_size=64 * 2**20)
        app.cleanup_ctx.append(session_ctx)
        handler: Callable[[web.Request], Awaitable[web.Response]] = self._forward
        app.router.add_route("*", "/{tail:.*}", handler)
        return app


def json_mutation(path_part: str, change: Callable[[Any], Any]) -> Mutation:
    """Rewrite the JSON body of replies whose path contains `path_part`."""

    def mutate(request: web.Request, status: int, body: bytes) -> tuple[int, bytes]:
        if path_part not in request.path or status != 200:
            return status, body
        return status, json.dumps(change(json.loads(body))).encode()

    return mutate


def target_args(
    tmp_path: Path, url: str, emulator: BootedEmulator, *, control_url: str | None
) -> tuple[list[str], dict[str, str]]:
    """Suite options (and environment) for a target at `url` that fronts `emulator`."""
    profile = tmp_path / "profile.toml"
    profile.write_text(
        f"[workers]\nmax = {emulator.workers_max}\n[limits]\n"
        f"run_body = [{10 * 2**20}, {10 * 2**20}]\nrunsync_body = [{20 * 2**20}, {20 * 2**20}]\n"
    )
    args = [
        "--target-url",
        f"{url}/v2",
        "--endpoint-id",
        emulator.endpoint_id,
        "--api-key-env",
        "CONF_TEST_KEY",
        "--target-profile",
        str(profile),
        "--allow-destructive",
    ]
    if control_url:
        args += ["--control-url", control_url]
    return args, {"CONF_TEST_KEY": emulator.api_key, "PODBENCH_EMULATOR_ADMIN_KEY": emulator.admin_key}
