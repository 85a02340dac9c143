"""Settings for the whole suite."""

from __future__ import annotations

import signal

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # A shell starts a background job with SIGINT ignored (`./scripts/test &`, some CI runners),
    # and children inherit an ignored signal: the tests that press Ctrl-C on a command would see the
    # command carry on and finish with 0. A handler (unlike SIG_IGN) is reset to the default in a
    # child, so taking SIGINT back here gives every command the tests start its usual Ctrl-C.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
