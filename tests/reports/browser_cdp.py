"""A tiny Chrome DevTools Protocol driver for the browser test: load a page, record every problem."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
)
LOCAL_SCHEMES = ("file:", "data:", "about:")


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One headless chromium with a fresh profile; `async with Browser() as b: await b.load(path)`."""

    def __init__(self) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="podbench-chromium-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    async def __aenter__(self) -> Browser:
        chromium = find_chromium()
        assert chromium, "chromium not found"
        self.process = subprocess.Popen(
            [chromium, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = self.profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and port_file.read_text().count("\n") >= 1:
                break
            await asyncio.sleep(0.05)
        port = int(port_file.read_text().splitlines()[0])
        self.session = aiohttp.ClientSession()
        for _ in range(100):
            async with self.session.get(f"http://127.0.0.1:{port}/json/list") as response:
                pages = [t for t in await response.json() if t.get("type") == "page"]
            if pages:
                break
            await asyncio.sleep(0.05)
        self.ws = await self.session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0)
        for domain in ("Runtime", "Log", "Network", "Page"):
            await self.send(f"{domain}.enable")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.session is not None:
            await self.session.close()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer, keeping every event that arrives meanwhile."""
        assert self.ws is not None
        self.next_id += 1
        await self.ws.send_str(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads((await self.ws.receive(timeout=30)).data)
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    async def wait_for(self, method: str, timeout: float = 30.0) -> None:
        assert self.ws is not None
        if any(e.get("method") == method for e in self.events):
            return
        async with asyncio.timeout(timeout):
            while True:
                message = json.loads((await self.ws.receive()).data)
                self.events.append(message)
                if message.get("method") == method:
                    return

    async def load(self, path: Path) -> None:
        self.events.clear()
        await self.send("Page.navigate", url=path.resolve().as_uri())
        await self.wait_for("Page.loadEventFired")

    async def evaluate(self, expression: str) -> Any:
        answer = await self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        assert "exceptionDetails" not in answer, answer
        return answer["result"].get("value")

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions, failed loads and any request that leaves the machine."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in (
                "error",
                "warning",
                "assert",
            ):
                found.append(f"console {params['type']}: {params.get('args')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
                found.append(
                    f"log {params['entry']['level']}: {params['entry'].get('text')} {params['entry'].get('url', '')}"
                )
            elif method == "Network.loadingFailed":
                found.append(f"failed resource: {params.get('errorText')} ({params.get('requestId')})")
            elif method == "Network.requestWillBeSent" and not params["request"]["url"].startswith(
                LOCAL_SCHEMES
            ):
                found.append(f"external request: {params['request']['url']}")
        return found
