"""Letting time pass: the emulator's manual clock is advanced, a real target is waited for.

Portable tests call `pass_time()` instead of sleeping, so the same test takes milliseconds on
the emulator and real seconds on a real endpoint. Calls the server holds open (runsync's wait,
stream's long-poll) go through `while_held()`, which advances the clock while the call waits.
"""

from __future__ import annotations

import sys
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
REAL_POLL_MAX_S = 1.0
"""Longest pause between two polls of a target on a real clock."""
ANNOUNCE_EVERY_S = 10.0
"""A wait that lasts longer says what it waits for, then again every as many seconds."""


class Announcer:
    """Says on the terminal what a long wait waits for (past pytest's capture: the user sees it live)."""

    def __init__(self, what: str, bound_s: float) -> None:
        self.what, self.bound_s = what, bound_s
        self.started = time.perf_counter()
        self.next_s = ANNOUNCE_EVERY_S

    def tick(self) -> None:
        elapsed = time.perf_counter() - self.started
        if elapsed < self.next_s:
            return
        self.next_s = elapsed + ANNOUNCE_EVERY_S
        say(f"conformance: waiting for {self.what} ({elapsed:.0f} s so far, at most {self.bound_s:.0f} s)")


def _to_stderr(text: str) -> None:
    stream = sys.__stderr__
    if stream is not None:
        stream.write(text + "\n")
        stream.flush()


say: Callable[[str], None] = _to_stderr
"""How a wait is announced; the plugin points it past pytest's output capture, at the terminal."""


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
        elif seconds <= ANNOUNCE_EVERY_S:
            time.sleep(seconds)
        else:  # a documented window on a real clock: said, so a quiet terminal is not a hung run
            announcer = Announcer(f"{seconds:g} s of the target's time to pass", seconds)
            end = time.perf_counter() + seconds
            while (left := end - time.perf_counter()) > 0:
                time.sleep(min(left, 1.0))
                announcer.tick()

    def poll(self, fetch: Callable[[], T], done: Callable[[T], bool], *, within_s: float, what: str) -> T:
        """Call `fetch` until `done(result)`, letting up to `within_s` seconds of target time pass."""
        waited = 0.0
        # on a real clock at most 1 s apart: a job is seen done within 1 s of its end (2 s apart
        # made a 16 s job ~1.7 s late), at one /status a second, far below its rate limit
        steps = backoff(0.25, 1.5, 5.0) if self.manual else backoff(0.05, 1.5, REAL_POLL_MAX_S)
        started = time.perf_counter()
        announcer = Announcer(what, within_s if not self.manual else REAL_TIME_CAP_S + within_s)
        while True:
            announcer.tick()
            result = fetch()
            if done(result):
                return result
            if waited >= within_s or time.perf_counter() - started > REAL_TIME_CAP_S + within_s:
                raise WaitTimeout(f"{what}: not reached within {within_s:g} s (last: {_short(result)})")
            step = next(steps)
            self.pass_time(step)
            waited += step

    def while_held(self, call: Callable[[], T], *, advance_s: float, step_s: float = 0.5) -> T:
        """Run a call the server may hold open, moving a manual clock by up to `advance_s` meanwhile.

        On a real clock the call's own HTTP timeout bounds it; past 10 s it is announced."""
        box: dict[str, T | BaseException] = {}

        def target() -> None:
            try:
                box["result"] = call()
            except BaseException as exc:  # re-raised in the caller's thread
                box["error"] = exc

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        moved = 0.0
        announcer = Announcer("a reply the target may hold (runsync wait, stream long-poll)", advance_s)
        while thread.is_alive() and (self.control is None or moved < advance_s):
            thread.join(0.03 if self.control is not None else 0.5)
            announcer.tick()
            if thread.is_alive() and self.control is not None:
                self.control.advance(step_s)
                moved += step_s
        while thread.is_alive() and time.perf_counter() - announcer.started < REAL_TIME_CAP_S:
            thread.join(0.5)
            announcer.tick()
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
