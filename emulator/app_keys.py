"""Typed application keys (aiohttp warns on plain string keys)."""

from __future__ import annotations

from aiohttp import web

from emulator.runtime import Emulator

EMULATOR = web.AppKey("emulator", Emulator)
