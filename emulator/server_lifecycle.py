"""The server lifecycle `python -m emulator` serves with: aiohttp's `AppRunner` (setup, sites,
cleanup), except that errors raised by the HTTP parser itself (a header line over 8 KiB, a
malformed request line, ...) are answered in JSON too, and logged as one warning line rather
than aiohttp's traceback per request.

Those errors happen before any application code runs, so the middleware cannot see them;
aiohttp's `RequestHandler.handle_error` would answer `text/plain` (or HTML).
"""

from __future__ import annotations

import json
from http import HTTPStatus

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from emulator.wire import JSON_HEADERS


class JsonErrorRequestHandler(RequestHandler):
    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500:
            self.log_exception("Error handling request from %s", request.remote, exc_info=exc)
        else:
            # The client's malformed request, not our bug: one line, so a client cannot flood the log.
            detail = " ".join(str(message or exc or "malformed request").split())[:200]
            self.logger.warning("refused a malformed request from %s: %s %s", request.remote, status, detail)
        if request.writer.output_size > 0:
            raise ConnectionError(
                "Response is sent already, cannot send another response with the error message"
            )
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        if status >= 500:
            detail = f"{reason} (see the emulator's log)"
        else:
            detail = f"{reason}: {message or exc or 'malformed request'}"[:300]
        body = json.dumps({"error": detail, "status": status}).encode()
        response = web.Response(status=status, body=body, headers=JSON_HEADERS)
        response.force_close()
        return response


class JsonErrorServer(web.Server):
    def __call__(self) -> RequestHandler:
        return JsonErrorRequestHandler(self, loop=self._loop, **self._kwargs)


class ServerLifecycle(web.AppRunner):
    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = JsonErrorServer  # same state, one method more: avoids copying aiohttp's factory
        return server
