"""Fixtures of the conformance suite: the target (a real endpoint or a booted emulator), clients,
the clock, job helpers, the webhook receiver. The plugin's hooks are re-exported here so a plain
`pytest -p no:locust conformance/` loads them."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from conformance.client import ApiClient, ControlClient, Journal
from conformance.emulator_boot import booted_emulator
from conformance.jobs import Jobs
from conformance.plugin import (
    PROFILE_KEY,
    RUN_KEY,
    pytest_addoption,
    pytest_collection_finish,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_runtest_makereport,
    pytest_sessionfinish,
    pytest_terminal_summary,
)
from conformance.profile import Profile
from conformance.receiver import Receiver
from conformance.timekeeper import Timekeeper
from conformance.violations import HarnessError, Recording

__all__ = [
    "pytest_addoption",
    "pytest_collection_finish",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_runtest_makereport",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
]
ADMIN_KEY_ENV = "PODBENCH_EMULATOR_ADMIN_KEY"
MIB = 2**20


@dataclass(frozen=True)
class Target:
    base_url: str
    endpoint_id: str
    api_key: str
    api_key_env: str
    admin_url: str | None
    admin_key: str | None
    embedded: bool
    profile: Profile

    def describe(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "endpoint_id": self.endpoint_id,
            "api_key": f"<from ${self.api_key_env}, redacted>",
            "embedded_emulator": self.embedded,
        }


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Iterator[Target]:
    given_profile = pytestconfig.stash.get(PROFILE_KEY, None)  # checked in pytest_configure
    url = pytestconfig.getoption("--target-url") or os.environ.get("RUNPOD_ENDPOINT_BASE_URL")
    run = pytestconfig.stash[RUN_KEY]
    if url:
        key_env = pytestconfig.getoption("--api-key-env")
        endpoint_id = pytestconfig.getoption("--endpoint-id") or os.environ.get("RUNPOD_ENDPOINT_ID")
        key = os.environ.get(key_env, "")
        if not endpoint_id:
            raise HarnessError("a target URL needs --endpoint-id (or $RUNPOD_ENDPOINT_ID)")
        if not key:
            raise HarnessError(f"no API key: set the environment variable {key_env}")
        control_url = pytestconfig.getoption("--control-url")
        profile = given_profile if given_profile is not None else Profile()
        found = Target(
            url.rstrip("/"),
            endpoint_id,
            key,
            key_env,
            control_url,
            os.environ.get(ADMIN_KEY_ENV) if control_url else None,
            False,
            profile,
        )
        run.target = found.describe()
        run.profile = dataclasses.asdict(profile)
        yield found
        return
    with booted_emulator() as emulator:
        # the emulator's limits are exactly 10 MiB / 20 MiB (docs/api-behaviour.md §4), so its bisection starts
        # collapsed: 2 requests when right, a full search to the byte when not
        profile = (
            given_profile
            if given_profile is not None
            else Profile(
                workers_max=emulator.workers_max,
                run_body=(10 * MIB, 10 * MIB),
                runsync_body=(20 * MIB, 20 * MIB),
            )
        )
        found = Target(
            emulator.base_url,
            emulator.endpoint_id,
            emulator.api_key,
            "PODBENCH_EMULATOR_API_KEY",
            emulator.admin_url,
            emulator.admin_key,
            True,
            profile,
        )
        run.target = found.describe()
        run.profile = dataclasses.asdict(profile)
        yield found


@pytest.fixture(scope="session")
def journal(pytestconfig: pytest.Config) -> Journal:
    found = Journal()
    pytestconfig.stash[RUN_KEY].journal = found
    return found


@pytest.fixture(scope="session")
def api(target: Target, journal: Journal) -> Iterator[ApiClient]:
    client = ApiClient(target.base_url, target.endpoint_id, target.api_key, journal)
    yield client
    client.close()


@pytest.fixture(scope="session")
def control_client(target: Target, journal: Journal) -> Iterator[ControlClient | None]:
    if not target.admin_url:
        yield None
        return
    if not target.admin_key:
        raise HarnessError(f"--control-url needs the admin key in ${ADMIN_KEY_ENV}")
    client = ControlClient(target.admin_url, target.admin_key, target.endpoint_id, journal)
    yield client
    client.close()


@pytest.fixture
def control(control_client: ControlClient | None) -> ControlClient:
    if control_client is None:
        pytest.skip("emulator-only: the target has no control API")
    return control_client


@pytest.fixture(scope="session")
def clock(control_client: ControlClient | None, api: ApiClient) -> Timekeeper:
    if control_client is not None and not control_client.clock().get("manual"):
        keeper = Timekeeper(None)  # an emulator on a real clock is waited for like any target
    else:
        keeper = Timekeeper(control_client)
    api.on_rate_limited = keeper.pass_time
    return keeper


@pytest.fixture(autouse=True)
def _slow_needs_a_manual_clock(request: pytest.FixtureRequest) -> None:
    """A control API on a real clock (an emulator started with --clock real) makes slow tests slow again."""
    if request.node.get_closest_marker("slow") and not request.config.getoption("--run-slow"):
        if not request.getfixturevalue("clock").manual:
            pytest.skip("slow: the target's clock is real; pass --run-slow")


@pytest.fixture(scope="session")
def profile(target: Target) -> Profile:
    return target.profile


@pytest.fixture(autouse=True)
def _fresh_journal(journal: Journal, clock: Timekeeper) -> None:
    """A failing test's excerpt shows only its own exchanges."""
    journal.entries.clear()


@pytest.fixture
def jobs(api: ApiClient, clock: Timekeeper, profile: Profile) -> Iterator[Jobs]:
    helper = Jobs(api, clock, profile)
    yield helper
    helper.cleanup()


@pytest.fixture
def record() -> Recording:
    return Recording()


@pytest.fixture(scope="session")
def receiver_session(pytestconfig: pytest.Config, target: Target) -> Iterator[tuple[Receiver, str] | None]:
    public = pytestconfig.getoption("--webhook-receiver-url")
    if not target.embedded and not target.admin_url and not public:
        yield None
        return
    receiver = Receiver(port=pytestconfig.getoption("--webhook-listen-port"))
    yield receiver, (public.rstrip("/") if public else f"http://127.0.0.1:{receiver.port}")
    receiver.close()


@pytest.fixture
def receiver(receiver_session: tuple[Receiver, str] | None) -> tuple[Receiver, str]:
    if receiver_session is None:
        pytest.skip("webhooks: give --webhook-receiver-url that the target can reach")
    receiver_session[0].script()
    return receiver_session
