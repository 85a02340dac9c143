"""`contract.target.Target`: the key stays in the environment; descriptions never carry it."""

from __future__ import annotations

import pytest

from contract.target import MissingApiKey, Target


def test_the_key_comes_from_the_named_variable_and_never_into_describe() -> None:
    target = Target("http://127.0.0.1:8000/v2", "ep", "MY_KEY", embedded=False)
    assert target.api_key({"MY_KEY": "secret"}) == "secret"
    described = target.describe()
    assert described == {
        "base_url": "http://127.0.0.1:8000/v2",
        "endpoint_id": "ep",
        "api_key": "<from $MY_KEY, redacted>",
        "embedded_emulator": False,
    }
    assert "secret" not in repr(target) and "secret" not in str(described)


def test_a_missing_key_names_the_variable() -> None:
    with pytest.raises(MissingApiKey, match="set the environment variable MY_KEY"):
        Target("http://h/v2", "ep", "MY_KEY", embedded=True).api_key({})


def test_operation_urls() -> None:
    target = Target("http://h/v2", "ep", "K", embedded=True, admin_url="http://h/_emulator")
    assert target.url("run") == "http://h/v2/ep/run"
    assert target.url("stream", "j1") == "http://h/v2/ep/stream/j1"
