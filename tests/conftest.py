"""Settings for the whole suite."""

from __future__ import annotations

import json
import math
import signal
from collections import Counter, defaultdict
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # A shell starts a background job with SIGINT ignored (`./scripts/test &`, some CI runners),
    # and children inherit an ignored signal: the tests that press Ctrl-C on a command would see the
    # command carry on and finish with 0. A handler (unlike SIG_IGN) is reset to the default in a
    # child, so taking SIGINT back here gives every command the tests start its usual Ctrl-C.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# --- parallel runs: the longest modules start first ------------------------------------------
# `--dist loadfile` runs a module on one worker; xdist hands modules out in collection order
# (with --loadscope-reorder, its default, most tests first, which puts the one-test modules that
# run a whole conformance suite or `podbench verify` last, into a tail of a minute or more).
# Each run records its modules' seconds in pytest's cache; the next parallel run collects them
# longest first (modules not measured yet first of all, then by test count), so the scheduler,
# given `--no-loadscope-reorder`, starts the long ones while the short ones fill the gaps.
MODULE_SECONDS = "podbench/module-seconds"
RECORDED_SECONDS = Path(__file__).with_name("module_seconds.json")
"""The same, from one full parallel run, checked in: a fresh clone (CI) has no cache yet. Refresh it
after adding a long module: `cp .pytest_cache/v/podbench/module-seconds tests/module_seconds.json`."""


def _recorded_seconds() -> dict[str, float]:
    try:
        data = json.loads(RECORDED_SECONDS.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not hasattr(config, "workerinput") or config.cache is None:
        return  # a serial run keeps pytest's order
    seconds: dict[str, float] = {**_recorded_seconds(), **config.cache.get(MODULE_SECONDS, {})}
    counts = Counter(_module(item.nodeid) for item in items)

    def longest_first(item: pytest.Item) -> tuple[float, int, str]:
        module = _module(item.nodeid)
        return (-seconds.get(module, math.inf), -counts[module], module)

    items.sort(key=longest_first)  # stable: a module's own order is kept


class _ModuleClock:
    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[_module(report.nodeid)] += report.duration

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        cache = session.config.cache
        if cache is not None and self.seconds:
            known: dict[str, float] = cache.get(MODULE_SECONDS, {})
            known.update({module: round(s, 2) for module, s in self.seconds.items()})
            cache.set(MODULE_SECONDS, known)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    # the controller of a parallel run keeps time (a serial run, such as the timing phase running
    # beside it, neither reorders nor writes)
    if not hasattr(config, "workerinput") and config.getoption("dist", "no") != "no":
        config.pluginmanager.register(_ModuleClock(), "podbench-module-clock")
