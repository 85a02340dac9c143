"""One probe job: does the target's worker speak podbench's contract? Then, for a foreign worker,
one run of the user's sample input, whose final state the foreign-mode checks compare against.
That run goes through /runsync, so a /status that loses what /runsync answered is still caught."""

from __future__ import annotations

from typing import Any

from conformance.checks import FINAL
from conformance.client import ApiClient
from conformance.profile import Profile
from conformance.timekeeper import Timekeeper, WaitTimeout
from conformance.violations import HarnessError
from conformance.workload import CONTRACT, FOREIGN, UserInputs, Workload, probe_input, speaks_contract


def detect_workload(api: ApiClient, clock: Timekeeper, profile: Profile, inputs: UserInputs) -> Workload:
    sent = probe_input()
    final = _run_to_the_end(api, clock, profile, sent, "the worker-contract probe job")
    probe = {"status": final.get("status"), "error": _short(final.get("error"))}
    if speaks_contract(sent, final):
        return Workload(CONTRACT, inputs, probe)
    found = Workload(FOREIGN, inputs, probe)
    if inputs.has("sample"):
        found.reference = _runsync_to_the_end(api, clock, profile, inputs.get("sample"))
        probe["sample_status"] = found.reference.get("status")
    return found


def _runsync_to_the_end(
    api: ApiClient, clock: Timekeeper, profile: Profile, job_input: Any
) -> dict[str, Any]:
    wait_ms = int(min(profile.job_timeout_s, 90.0) * 1000)
    reply = clock.while_held(
        lambda: api.runsync(job_input, wait_ms=wait_ms, timeout=wait_ms / 1000 + 30),
        advance_s=wait_ms / 1000 + 1,
    )
    body = reply.body if reply.status == 200 and isinstance(reply.body, dict) else None
    if body is None or not body.get("id"):
        raise HarnessError(
            f"the sample input's job: /runsync answered HTTP {reply.status} {reply.text[:200]}"
        )
    if body.get("status") in FINAL:
        return body
    return _until_final(api, clock, profile, str(body["id"]), "the sample input's job")


def _run_to_the_end(
    api: ApiClient, clock: Timekeeper, profile: Profile, job_input: Any, what: str
) -> dict[str, Any]:
    reply = api.run(job_input)
    if reply.status != 200 or not isinstance(reply.body, dict) or not reply.body.get("id"):
        raise HarnessError(f"{what}: /run answered HTTP {reply.status} {reply.text[:200]}")
    return _until_final(api, clock, profile, str(reply.body["id"]), what)


def _until_final(
    api: ApiClient, clock: Timekeeper, profile: Profile, job_id: str, what: str
) -> dict[str, Any]:
    try:
        final = clock.poll(
            lambda: api.status(job_id),
            lambda r: r.status != 200 or (isinstance(r.body, dict) and r.body.get("status") in FINAL),
            within_s=profile.job_timeout_s,
            what=what,
        )
    except WaitTimeout:
        api.cancel(job_id)
        return {"status": "not final in time"}
    return final.body if final.status == 200 and isinstance(final.body, dict) else {"http": final.status}


def _short(value: Any) -> Any:
    return value[:300] if isinstance(value, str) else value
