"""The official `openai` SDK, pointed at `/v2/{endpoint_id}/openai/v1` with the RunPod key, works against
the emulator: chat (streaming and not), completions and models, on a real socket and the real clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from contract.emulator_process import ChildServer, emulator_command, emulator_env

KEY = "sdk-key"
CONFIG = """
[[endpoint]]
id = "llm"
workers_min = 1
workers_max = 2
cold_start_s = 0
llm = { ttft_s = 0.02, decode_tokens_per_s = 500, max_concurrency = 4, model = "podbench-llm" }
"""


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[openai.OpenAI]:
    tmp = tmp_path_factory.mktemp("openai-sdk")
    config = tmp / "llm.toml"
    config.write_text(CONFIG)
    server = ChildServer(
        emulator_command("--port", "0", "--config", str(config), "--rate-limits", "off"),
        ready_file=tmp / "ready.json",
        log_path=tmp / "emulator.out",
        env=emulator_env(KEY, "sdk-admin"),
        cwd=Path(__file__).resolve().parents[2],
    )
    server.start()
    try:
        yield openai.OpenAI(base_url=f"{server.url}/v2/llm/openai/v1", api_key=KEY, timeout=20, max_retries=0)
    finally:
        server.stop()


def test_chat_completion(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="podbench-llm", messages=[{"role": "user", "content": "Say hi"}], max_tokens=6
    )
    assert answer.choices[0].finish_reason == "length"
    assert answer.choices[0].message.role == "assistant" and answer.choices[0].message.content
    assert answer.usage is not None and answer.usage.completion_tokens == 6


def test_streaming_chat_completion_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="podbench-llm",
        messages=[{"role": "user", "content": "Count"}],
        max_tokens=5,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    tokens = [c.choices[0].delta.content for c in chunks if c.choices]
    assert len(tokens) == 5 and all(tokens)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5


def test_completion(client: openai.OpenAI) -> None:
    answer = client.completions.create(model="podbench-llm", prompt="Once upon a time", max_tokens=4)
    assert answer.choices[0].text and answer.usage is not None and answer.usage.prompt_tokens == 4


def test_models(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["podbench-llm"]


def test_a_bad_request_is_an_openai_error(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="podbench-llm", messages=[], max_tokens=3)
    assert "messages" in str(caught.value)


def test_a_wrong_key_is_refused(client: openai.OpenAI) -> None:
    stranger = openai.OpenAI(base_url=str(client.base_url), api_key="wrong", timeout=10, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        stranger.models.list()
