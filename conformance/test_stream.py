"""GET /stream: partial results while the job runs, drained on read, a clear end.

With a foreign worker the stream comes from `--stream-input`; its chunks are checked against the
job's final output when the worker aggregates its stream (`return_aggregate_stream`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance import checks
from conformance.client import ApiClient, Reply
from conformance.jobs import Jobs
from conformance.plugin import verifies
from conformance.profile import Profile
from conformance.timekeeper import Timekeeper
from conformance.violations import HarnessError, Recording, Severity
from conformance.workload import Workload

CHUNKS = ["alpha", "beta", "gamma", "delta"]
MAX_READS = 40
SEEN_RUNNING_MS = 2000
"""A foreign stream job that ran shorter than this may have finished between two reads."""


@dataclass
class Streamed:
    job_id: str
    replies: list[Reply] = field(default_factory=list)
    after_end: Reply | None = None
    final: dict[str, Any] = field(default_factory=dict)
    """/status after the end (its aggregated output, its executionTime)."""

    @property
    def outputs(self) -> list[Any]:
        return [
            item.get("output")
            for r in self.replies
            for item in (r.body or {}).get("stream", [])
            if isinstance(item, dict)
        ]


def read_stream(api: ApiClient, clock: Timekeeper, jobs: Jobs, job_input: dict[str, Any]) -> Streamed:
    """Read /stream until the job is final and a read comes back empty, then once more."""
    streamed = Streamed(jobs.submit(job_input))
    for _ in range(MAX_READS):
        reply = clock.while_held(lambda: api.stream(streamed.job_id, wait_ms=1000), advance_s=3.0)
        streamed.replies.append(reply)
        body = reply.body if isinstance(reply.body, dict) else {}
        if reply.status != 200:
            break
        if body.get("status") in checks.FINAL and not body.get("stream"):
            streamed.after_end = clock.while_held(
                lambda: api.stream(streamed.job_id, wait_ms=1000), advance_s=3.0
            )
            last = jobs.status(streamed.job_id)
            streamed.final = last.body if isinstance(last.body, dict) else {}
            return streamed
        if not body.get("stream"):
            clock.pass_time(0.25)
    if not streamed.replies or streamed.replies[-1].status != 200:
        return streamed
    raise HarnessError(f"/stream did not end after {MAX_READS} reads")


@pytest.fixture(scope="module")
def streamed(api: ApiClient, clock: Timekeeper, profile: Profile, workload: Workload) -> Streamed:
    helper = Jobs(api, clock, profile, workload)
    job_input = {"stream": CHUNKS, "sleep": 1} if workload.contract else workload.streaming()
    return read_stream(api, clock, helper, job_input)


def expected_chunks(streamed: Streamed, workload: Workload) -> list[Any]:
    """The contract's chunks, or a foreign worker's aggregated output (skipped without one)."""
    if workload.contract:
        return CHUNKS
    output = streamed.final.get("output")
    if not isinstance(output, list):
        pytest.skip(
            "foreign worker: its final output is not the list of its chunks (return_aggregate_stream "
            "off), so the chunks cannot be checked against it"
        )
    return output


@pytest.mark.portable
@verifies("stream.partial")
def test_stream_hands_out_chunks_before_the_job_ends(
    streamed: Streamed, workload: Workload, record: Recording
) -> None:
    ran_ms = streamed.final.get("executionTime")
    if not workload.contract and not (isinstance(ran_ms, int) and ran_ms >= SEEN_RUNNING_MS):
        pytest.skip(
            f"foreign worker: the --stream-input job ran {ran_ms} ms, too short to see chunks "
            f"before its end; give one that streams for {SEEN_RUNNING_MS // 1000} s or more"
        )
    early = [
        r.body["stream"]
        for r in streamed.replies
        if isinstance(r.body, dict)
        and r.body.get("status") in ("IN_QUEUE", "IN_PROGRESS")
        and r.body.get("stream")
    ]
    record(reads=len(streamed.replies), chunks_before_end=sum(map(len, early)), outputs=streamed.outputs)
    checks.that(
        "stream.partial",
        bool(early),
        expected="some chunks while the job is IN_PROGRESS",
        observed=[
            (r.status, (r.body or {}).get("status"), len((r.body or {}).get("stream", [])))
            for r in streamed.replies
        ],
    )
    chunks = (
        expected_chunks(streamed, workload)
        if workload.contract or isinstance(streamed.final.get("output"), list)
        else streamed.outputs
    )
    checks.that("stream.partial", streamed.outputs == chunks, expected=chunks, observed=streamed.outputs)


@pytest.mark.portable
@verifies("stream.schema")
def test_every_stream_reply_matches_its_schema(streamed: Streamed) -> None:
    for reply in streamed.replies:
        checks.status_is("stream.schema", reply, 200)
        checks.matches_schema("stream.schema", "stream", checks.json_reply("stream.schema", reply))


@pytest.mark.portable
@verifies("stream.drained")
def test_each_chunk_is_handed_out_once(streamed: Streamed, workload: Workload, record: Recording) -> None:
    outputs = streamed.outputs
    chunks = expected_chunks(streamed, workload)
    record(outputs=outputs)
    # the contract's chunks are distinct, so a repeat shows; a foreign worker's may repeat (tokens)
    distinct = len(outputs) == len(set(map(json.dumps, outputs))) or not workload.contract
    checks.that(
        "stream.drained",
        distinct and outputs == chunks,
        expected=f"each of {chunks} once, in order",
        observed=outputs,
    )


@pytest.mark.portable
@verifies("stream.end")
def test_the_stream_ends_with_completed_and_an_empty_list(streamed: Streamed, record: Recording) -> None:
    last = streamed.replies[-1].body if streamed.replies else None
    after = streamed.after_end.body if streamed.after_end else None
    record(last=last, after_end=after)
    expected = {"status": "COMPLETED", "stream": []}
    for body in (last, after):
        checks.that(
            "stream.end",
            isinstance(body, dict) and body.get("status") == "COMPLETED" and body.get("stream") == [],
            expected=expected,
            observed=body,
        )


@pytest.mark.portable
@pytest.mark.budget(jobs=1, requests=10)
@verifies("stream.chunk_size")
def test_a_chunk_over_1_mb_is_split(
    api: ApiClient, clock: Timekeeper, jobs: Jobs, profile: Profile, workload: Workload, record: Recording
) -> None:
    workload.contract_only('needs a worker that yields a chunk over 1 MB on demand ({"stream": [...]})')
    big = "x" * (profile.stream_chunk_bytes * 3 // 2)
    streamed = read_stream(api, clock, jobs, {"stream": [big]})
    sizes = [len(o.encode()) if isinstance(o, str) else len(json.dumps(o)) for o in streamed.outputs]
    record(chunk_sizes=sizes)
    checks.that(
        "stream.chunk_size",
        all(size <= profile.stream_chunk_bytes for size in sizes),
        expected=f"every chunk at most {profile.stream_chunk_bytes} bytes",
        observed=sizes,
        severity=Severity.MAJOR,
    )
    joined = "".join(o for o in streamed.outputs if isinstance(o, str))
    checks.that(
        "stream.chunk_size",
        len(sizes) >= 2 and joined == big,
        expected="the output split across chunks, nothing lost",
        observed=f"{len(sizes)} chunks, {len(joined)} of {len(big)} characters",
    )
