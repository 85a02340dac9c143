from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.emulator_boot import BootedEmulator, booted_emulator


@pytest.fixture
def emulator() -> Iterator[BootedEmulator]:
    with booted_emulator() as booted:
        yield booted


@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[BootedEmulator]:
    """One emulator for tests that break things in a proxy in front of it, never in its config."""
    with booted_emulator() as booted:
        yield booted
