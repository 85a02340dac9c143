"""Ctrl-C, counted once: an interrupted run stops cleanly and still writes its verdict.

A Ctrl-C in a terminal reaches the whole process group, and a wrapper such as `podbench conform`
may forward it to the suite as well, so pytest can get the same SIGINT twice in a few
milliseconds. The second one would land while pytest is reporting the first (a traceback, and
the run no longer marked interrupted). A SIGINT within `DUPLICATE_WINDOW_S` of the first is
taken as the same Ctrl-C; a later one interrupts as usual.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType

import pytest

DUPLICATE_WINDOW_S = 1.0


def count_ctrl_c_once(config: pytest.Config) -> None:
    """Install the SIGINT handler for this pytest run (restored at its end)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return  # ignored (a background job) or handled by someone else: leave it be
    first: list[float] = []

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        now = time.monotonic()
        if first and now - first[0] < DUPLICATE_WINDOW_S:
            return
        first[:] = [now]
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)

    def restore() -> None:
        signal.signal(signal.SIGINT, previous)

    config.add_cleanup(restore)
