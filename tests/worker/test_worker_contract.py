"""The worker contract: script (pure), handler (real sleeps, RunPod style), stream_handler (generator)."""

from __future__ import annotations

import pytest

from worker.contract import ContractError, script, stream_handler
from worker.contract import handler as default_handler


def test_handler_is_importable_by_its_documented_name():
    import importlib

    module, _, name = "worker.contract:handler".partition(":")
    assert getattr(importlib.import_module(module), name) is default_handler


@pytest.mark.parametrize(
    ("job_input", "output"),
    [
        ({"output": {"a": 1}}, {"a": 1}),
        ({"output_bytes": 5}, "xxxxx"),
        ({"anything": [1, 2]}, {"anything": [1, 2]}),
        ("plain string", "plain string"),
        ({"stream": ["a", "b"]}, ["a", "b"]),
    ],
)
def test_handler_outputs(job_input, output):
    assert default_handler({"id": "j", "input": job_input}) == output


def test_fail_returns_runpod_error_shape():
    assert default_handler({"input": {"fail": "broken"}}) == {"error": "broken"}


def test_sleep_really_sleeps_in_the_handler():
    import time

    start = time.perf_counter()
    default_handler({"input": {"sleep": 0.05}})
    assert time.perf_counter() - start >= 0.05


def test_script_is_pure_and_times_the_work():
    steps = script({"stream": [1, 2, 3], "sleep": 2})
    assert steps.chunks == (1, 2, 3) and steps.step_delay_s == 2 and steps.duration_s == 6 and steps.streams
    assert script({"sleep": 1.5, "fail": "x"}).duration_s == 1.5
    assert script({"output_bytes": 3}).output == "xxx"


@pytest.mark.parametrize(
    "job_input",
    [
        {"sleep": -1},
        {"sleep": "1"},
        {"sleep": True},
        {"stream": "abc"},
        {"output_bytes": -2},
        {"output_bytes": 1.5},
    ],
)
def test_bad_contract_inputs_raise(job_input):
    with pytest.raises(ContractError):
        script(job_input)


def test_stream_handler_yields_chunks_or_the_single_output():
    assert list(stream_handler({"input": {"stream": ["a", "b"]}})) == ["a", "b"]
    assert list(stream_handler({"input": {"output": 3}})) == [3]
    assert list(stream_handler({"input": {"fail": "e"}})) == [{"error": "e"}]


def test_openai_scripts_are_deterministic():
    chat = script({"openai_route": "/v1/chat/completions", "openai_input": {"messages": []}})
    assert (
        chat.output
        == script({"openai_route": "/v1/chat/completions", "openai_input": {"messages": []}}).output
    )
    assert chat.output["choices"][0]["message"]["content"] == "Hello from podbench"
    streamed = script({"openai_route": "/v1/completions", "openai_input": {"stream": True}})
    assert streamed.sse and streamed.chunks[-1] == "data: [DONE]\n\n"
    assert script({"openai_route": "/v1/models"}).output["object"] == "list"
    assert script({"openai_route": "/v1/chat/completions", "openai_input": [1]}).error
