"""Letting time pass: the emulator's manual clock is advanced, a real target is waited for.

Portable tests call `pass_time()` instead of sleeping, so the same test takes milliseconds on
the emulator and real seconds on a real endpoint. Calls the server holds open (runsync's wait,
stream's long-poll) go through `while_held()`, which advances the clock while the call waits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from conformance.client import ControlClient
from conformance.violations import HarnessError
from contract.polling import backoff

T = TypeVar("T")
REAL_TIME_CAP_S = 120.0
"""No single wait in the suite may take longer than this in real time on a manual clock."""


class WaitTimeout(HarnessError):
    """The target did not get where the test needed it in the allowed time."""


class Timekeeper:
    def __init__(self, control: ControlClient | None) -> None:
        self.control = control

    @property
    def manual(self) -> bool:
        return self.control is not None

    def pass_time(self, seconds: float) -> None:
        if self.control is not None:
            self.control.advance(seconds)
            time.sleep(0.005)  # let the woken workers run before the next request
        else:
            time.sleep(seconds)

    def poll(self, fetch: Callable[[], T], done: Callable[[T], bool], *, within_s: float, what: str) -> T:
        """Call `fetch` until `done(result)`, letting up to `within_s` seconds of target time pass."""
        waited = 0.0
        steps = backoff(0.25, 1.5, 5.0) if self.manual else backoff(0.05, 1.5, 2.0)
        started = time.perf_counter()
        while True:
            result = fetch()
            if done(result):
                return result
            if waited >= within_s or time.perf_counter() - started > REAL_TIME_CAP_S + within_s:
                raise WaitTimeout(f"{what}: not reached within {within_s:g} s (last: {_short(result)})")
            step = next(steps)
            self.pass_time(step)
            waited += step

    def while_held(self, call: Callable[[], T], *, advance_s: float, step_s: float = 0.5) -> T:
        """Run a call the server may hold open, moving a manual clock by up to `advance_s` meanwhile."""
        if self.control is None:
            return call()
        box: dict[str, T | BaseException] = {}

        def target() -> None:
            try:
                box["result"] = call()
            except BaseException as exc:  # re-raised in the caller's thread
                box["error"] = exc

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        moved = 0.0
        while thread.is_alive() and moved < advance_s:
            thread.join(0.03)
            if thread.is_alive():
                self.control.advance(step_s)
                moved += step_s
        thread.join(REAL_TIME_CAP_S)
        if "error" in box:
            error = box["error"]
            assert isinstance(error, BaseException)
            raise error
        if "result" not in box:
            raise WaitTimeout(f"a held call did not return after advancing the clock {moved:g} s")
        return box["result"]  # type: ignore[return-value]


def _short(value: object) -> str:
    text = repr(getattr(value, "body", value))
    return text if len(text) < 200 else text[:200] + "…"
