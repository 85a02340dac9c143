"""Fixtures of the conformance suite: the target (a real endpoint or a booted emulator), clients,
the clock, job helpers, the webhook receiver. The plugin's hooks are re-exported here so a plain
`pytest -p no:locust conformance/` loads them."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from conformance.client import ApiClient, ControlClient, Journal
from conformance.detect import detect_workload
from conformance.emulator_boot import booted_emulator
from conformance.jobs import Jobs
from conformance.plugin import (
    INPUTS_KEY,
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
from conformance.workload import Workload
from contract import env
from contract.emulator_process import ADMIN_KEY_ENV, API_KEY_ENV
from contract.target import MissingApiKey, Target

__all__ = [
    "pytest_addoption",
    "pytest_collection_finish",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_runtest_makereport",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
]
MIB = 2**20


@dataclass(frozen=True)
class TargetAccess:
    """The target (`contract.target.Target`) with what the suite needs to talk to it: the keys,
    read once, and the profile of what it is expected to do."""

    target: Target
    api_key: str
    admin_key: str | None
    profile: Profile

    @property
    def base_url(self) -> str:
        return self.target.base_url

    @property
    def endpoint_id(self) -> str:
        return self.target.endpoint_id

    @property
    def admin_url(self) -> str | None:
        return self.target.admin_url

    @property
    def embedded(self) -> bool:
        return self.target.embedded

    def describe(self) -> dict[str, object]:
        return self.target.describe()


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Iterator[TargetAccess]:
    given_profile = pytestconfig.stash.get(PROFILE_KEY, None)  # checked in pytest_configure
    url = pytestconfig.getoption("--target-url") or os.environ.get(env.ENDPOINT_BASE_URL)
    run = pytestconfig.stash[RUN_KEY]
    if url:
        key_env = pytestconfig.getoption("--api-key-env")
        endpoint_id = pytestconfig.getoption("--endpoint-id") or os.environ.get(env.ENDPOINT_ID)
        if not endpoint_id:
            raise HarnessError(f"a target URL needs --endpoint-id (or ${env.ENDPOINT_ID})")
        control_url = pytestconfig.getoption("--control-url")
        real = Target(url.rstrip("/"), endpoint_id, key_env, embedded=False, admin_url=control_url)
        try:
            key = real.api_key()
        except MissingApiKey as exc:
            raise HarnessError(str(exc)) from None
        profile = given_profile if given_profile is not None else Profile()
        found = TargetAccess(real, key, os.environ.get(ADMIN_KEY_ENV) if control_url else None, profile)
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
        booted = Target(
            emulator.base_url, emulator.endpoint_id, API_KEY_ENV, embedded=True, admin_url=emulator.admin_url
        )
        found = TargetAccess(booted, emulator.api_key, emulator.admin_key, profile)
        run.target = found.describe()
        run.profile = dataclasses.asdict(profile)
        yield found


@pytest.fixture(scope="session")
def journal(pytestconfig: pytest.Config) -> Journal:
    found = Journal()
    pytestconfig.stash[RUN_KEY].journal = found
    return found


@pytest.fixture(scope="session")
def api(target: TargetAccess, journal: Journal) -> Iterator[ApiClient]:
    client = ApiClient(target.base_url, target.endpoint_id, target.api_key, journal)
    yield client
    client.close()


@pytest.fixture(scope="session")
def control_client(target: TargetAccess, journal: Journal) -> Iterator[ControlClient | None]:
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
def profile(target: TargetAccess) -> Profile:
    return target.profile


@pytest.fixture(autouse=True)
def _fresh_journal(journal: Journal, clock: Timekeeper) -> None:
    """A failing test's excerpt shows only its own exchanges."""
    journal.entries.clear()


@pytest.fixture(scope="session")
def workload(pytestconfig: pytest.Config, api: ApiClient, clock: Timekeeper, profile: Profile) -> Workload:
    """The worker's contract or the user's inputs, decided by one probe job (conformance/detect.py)."""
    found = detect_workload(api, clock, profile, pytestconfig.stash[INPUTS_KEY])
    pytestconfig.stash[RUN_KEY].worker = found.describe()
    return found


@pytest.fixture
def jobs(api: ApiClient, clock: Timekeeper, profile: Profile, workload: Workload) -> Iterator[Jobs]:
    helper = Jobs(api, clock, profile, workload)
    yield helper
    helper.cleanup()


@pytest.fixture
def record() -> Recording:
    return Recording()


@pytest.fixture(scope="session")
def receiver_session(
    pytestconfig: pytest.Config, target: TargetAccess
) -> Iterator[tuple[Receiver, str] | None]:
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
