"""The suite's pytest plugin: options, markers, one-claim-per-test, outcomes per claim.

Loaded by conformance/conftest.py (which re-exports these hooks), so `pytest -p no:locust
conformance/` needs nothing else. Each test carries `@verifies("claim.id")` and exactly one of
`@pytest.mark.portable` / `@pytest.mark.emulator_only`; collection fails otherwise.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance import timekeeper
from conformance.claims import CLAIMS, Kind, claim
from conformance.interrupts import count_ctrl_c_once
from conformance.outcomes import ConformanceRun, TestResult, classify
from conformance.profile import Profile
from conformance.violations import HarnessError, Violation
from conformance.workload import FLAGS, UserInputs
from contract import env

RUN_KEY = pytest.StashKey[ConformanceRun]()
PROFILE_KEY = pytest.StashKey[Profile]()
"""The `--target-profile` file, read once before collection (absent without the option)."""
INPUTS_KEY = pytest.StashKey[UserInputs]()
"""The user's job inputs for a foreign worker (--input, --fail-input, --slow-input, --stream-input)."""
PLACEMENTS = ("portable", "emulator_only")
DEFAULT_BUDGET = {"jobs": 1, "requests": 6}


def verifies(claim_id: str) -> pytest.MarkDecorator:
    """Name the one claim a test verifies (unknown ids fail at import, so at collection)."""
    claim(claim_id)
    return pytest.mark.verifies(claim_id)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "endpoint conformance (podbench)")
    group.addoption(
        "--target-url",
        help="base URL of the endpoint API, e.g. https://api.runpod.ai/v2 "
        "(or $RUNPOD_ENDPOINT_BASE_URL); default: boot the emulator",
    )
    group.addoption("--endpoint-id", help="endpoint id (or $RUNPOD_ENDPOINT_ID)")
    group.addoption(
        "--api-key-env",
        default=env.API_KEY,
        metavar="VAR",
        help="environment variable holding the API key (never a key on the command line)",
    )
    group.addoption(
        "--target-profile", metavar="FILE", help="TOML: retention windows, limits, workersMax to expect"
    )
    group.addoption("--conformance-json", metavar="PATH", help="write the claim-by-claim verdict here")
    group.addoption(
        "--webhook-receiver-url",
        metavar="URL",
        help="public URL the target can reach that forwards to the suite's receiver "
        "(real targets only; see --webhook-listen-port)",
    )
    group.addoption(
        "--webhook-listen-port",
        type=int,
        default=0,
        metavar="PORT",
        help="loopback port of the suite's webhook receiver (default: any free port)",
    )
    group.addoption(
        "--control-url",
        metavar="URL",
        help="an emulator's control API (…/_emulator) for "
        "emulator-only tests against --target-url; admin key from $PODBENCH_EMULATOR_ADMIN_KEY",
    )
    group.addoption("--run-slow", action="store_true", help="run tests that wait documented real time")
    for kind, flag in FLAGS.items():
        group.addoption(
            flag,
            dest=f"conformance_{kind}_input",
            metavar="FILE",
            help={
                "sample": 'a foreign worker\'s sample job, {"input": {...}} (default ./test_input.json)',
                "fail": "a foreign worker's input that makes its job FAILED",
                "slow": "a foreign worker's input whose job runs 15 s or more",
                "stream": "a foreign worker's input whose generator yields chunks over a few seconds",
            }[kind],
        )
    group.addoption(
        "--allow-destructive", action="store_true", help="let tests purge the queue or flood a real endpoint"
    )


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "verifies(claim_id): the one documented claim this test verifies",
        "portable: uses only the public API; runs against any target",
        "emulator_only: needs the emulator's control API (clock, faults, config)",
        "slow: waits documented real time; only with --run-slow (or an emulator, whose clock is advanced)",
        "destructive: purges or floods; against a real target only with --allow-destructive",
        "budget(jobs, requests, upload_mb): what one run of the test sends, for the pre-run estimate",
    ):
        config.addinivalue_line("markers", line)
    config.stash[RUN_KEY] = ConformanceRun(
        real_target=bool(config.getoption("--target-url") or os.environ.get(env.ENDPOINT_BASE_URL)),
        has_control=bool(config.getoption("--control-url"))
        or not (config.getoption("--target-url") or os.environ.get(env.ENDPOINT_BASE_URL)),
    )
    count_ctrl_c_once(config)
    timekeeper.say = _terminal_line(config)
    try:  # an unreadable input file is one usage error before any test
        config.stash[INPUTS_KEY] = UserInputs.from_files(
            {kind: config.getoption(f"conformance_{kind}_input") for kind in FLAGS}
        )
    except HarnessError as error:
        raise pytest.UsageError(str(error)) from None
    profile_path = config.getoption("--target-profile")
    if profile_path:
        try:  # a bad profile is one usage error before any test, not a harness error in every test
            config.stash[PROFILE_KEY] = Profile.from_toml(Path(profile_path))
        except HarnessError as error:
            raise pytest.UsageError(str(error)) from None


def _terminal_line(config: pytest.Config) -> Callable[[str], None]:
    """A line on the user's terminal from inside a test (pytest captures the test's own output)."""

    def say(text: str) -> None:
        capture = config.pluginmanager.get_plugin("capturemanager")
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if capture is None or reporter is None:
            timekeeper._to_stderr(text)
            return
        with capture.global_and_fixture_disabled():
            reporter.ensure_newline()  # not glued to the progress dots
            reporter.write_line(text)

    return say


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    run = config.stash[RUN_KEY]
    problems: list[str] = []
    for item in items:
        claims = [m.args[0] for m in item.iter_markers("verifies")]
        placements = [p for p in PLACEMENTS if item.get_closest_marker(p)]
        if len(claims) != 1:
            problems.append(
                f"{item.nodeid}: verifies {len(claims)} claims {claims}; a test verifies exactly one"
            )
        if len(placements) != 1:
            problems.append(
                f"{item.nodeid}: needs exactly one of @pytest.mark.portable / emulator_only, has {placements}"
            )
        if claims:
            run.covered.setdefault(claims[0], []).append(item.nodeid)
    if problems:
        raise pytest.UsageError("conformance collection failed:\n  " + "\n  ".join(problems))
    for item in items:
        reason = _skip_reason(item, config, run)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


def _skip_reason(item: pytest.Item, config: pytest.Config, run: ConformanceRun) -> str:
    if item.get_closest_marker("emulator_only") and not run.has_control:
        return "emulator-only: the target has no control API"
    if item.get_closest_marker("slow") and not (config.getoption("--run-slow") or run.has_control):
        return "slow: waits documented real time; pass --run-slow"  # a manual clock makes it fast
    if (
        item.get_closest_marker("destructive")
        and run.real_target
        and not config.getoption("--allow-destructive")
    ):
        return "destructive against a real target; pass --allow-destructive"
    return ""


def pytest_collection_finish(session: pytest.Session) -> None:
    run = session.config.stash[RUN_KEY]
    run.selected = {m.args[0] for item in session.items for m in item.iter_markers("verifies")}
    jobs = requests = upload_mb = 0
    for item in session.items:
        if item.get_closest_marker("skip"):
            continue
        budget = item.get_closest_marker("budget")
        kwargs = budget.kwargs if budget else DEFAULT_BUDGET
        jobs += int(kwargs.get("jobs", DEFAULT_BUDGET["jobs"]))
        requests += int(kwargs.get("requests", DEFAULT_BUDGET["requests"]))
        upload_mb += int(kwargs.get("upload_mb", 0))
    run.estimate = {"jobs": jobs, "requests": requests, "upload_mb": upload_mb}
    if run.real_target:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        text = (
            f"conformance: this run will send about {jobs} jobs, {requests} requests and {upload_mb} MB of "
            f"request bodies to the real target (polling adds requests while jobs run)"
        )
        if reporter is not None:
            reporter.write_line(text, bold=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report: pytest.TestReport = yield
    claims = [m.args[0] for m in item.iter_markers("verifies")]
    if not claims:
        return report
    run = item.config.stash[RUN_KEY]
    claim_id = claims[0]
    if report.longrepr is not None and run.journal is not None:
        text = str(report.longrepr)
        if (
            run.journal.redact(text) != text
        ):  # a target echoed a key: keep it out of the terminal and junit.xml
            report.longrepr = run.journal.redact(text)
    if report.when == "call" or report.outcome != "passed":
        excinfo = call.excinfo
        exc = excinfo.value if excinfo is not None else None
        outcome = classify(report, exc, CLAIMS[claim_id].kind)
        if outcome == "recorded" and report.failed:
            report.outcome, report.longrepr = "passed", None  # record-only claims are measured, never failed
        recording = item.funcargs.get("record") if hasattr(item, "funcargs") else None
        measured = dict(getattr(recording, "values", {}) or {})
        journal = item.config.stash[RUN_KEY].journal
        excerpt = journal.take() if outcome in ("violated", "harness_error") and journal else []
        if isinstance(exc, Violation) and exc.excerpt and exc.excerpt not in excerpt:
            excerpt.append(exc.excerpt)
        result = TestResult.of(item.nodeid, claim_id, outcome, report, exc, measured, excerpt)
        run.record(result)
        if measured:
            report.user_properties.append(("measured", json.dumps(measured, default=str)))
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = session.config.stash.get(RUN_KEY, None)
    if run is None:
        return
    run.interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    path = session.config.getoption("--conformance-json")
    if path:
        run.write(path)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    run = config.stash.get(RUN_KEY, None)
    if run is None or not run.results:
        return
    terminalreporter.section("conformance: claim by claim")
    for entry in run.claim_entries():
        if entry["outcome"] == "uncovered" and CLAIMS[entry["id"]].owner != "conformance":
            continue
        outcome = "not run" if entry["message"] == "not run (interrupted)" else entry["outcome"]
        terminalreporter.write_line(f"{outcome:>13}  {entry['id']:<28} {entry['kind']}")
    summary = run.summary()
    terminalreporter.write_line(
        "passed {passed}, violated {violated}, recorded {recorded}, harness errors {harness_errors}, "
        "skipped {skipped}".format(**summary)
        + (" (interrupted: claims not reached are 'not run')" if summary["interrupted"] else "")
    )
    if summary["uncovered_claims"]:
        terminalreporter.write_line(f"claims no test covers: {', '.join(summary['uncovered_claims'])}")


__all__ = [
    "HarnessError",
    "Kind",
    "pytest_addoption",
    "pytest_collection_finish",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_runtest_makereport",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "verifies",
]
