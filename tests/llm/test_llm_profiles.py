"""LLM keys of a load profile: accepted shapes, and one clear line (exit 2) for each mistake."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from podbench.errors import UsageError
from podbench.load_profile import load_profile

BASE = '[profile]\nname = "t"\nduration = "5s"\n'


def write(tmp: Path, text: str) -> str:
    path = tmp / "p.toml"
    path.write_text(BASE + text)
    return str(path)


def test_the_shipped_llm_profile_loads() -> None:
    plan = load_profile("llm")
    assert set(plan["flows"]) == {"openai_chat_stream", "openai_chat", "run_stream_tokens"}
    assert plan["llm_slo"] == {"ttft_ms": 1500.0, "tpot_ms": 75.0, "e2e_ms": 8000.0}
    assert plan["_emulator_patch"]["llm"]["max_concurrency"] == 4


def test_concurrency_distributions_and_prompts(tmp_path: Path) -> None:
    (tmp_path / "prompts.jsonl").write_text('"Hello"\n{"prompt": "Tell me a story"}\n\n')
    plan = load_profile(
        write(
            tmp_path,
            'arrival = "gamma"\nburstiness = 0.5\n'
            "[flows.openai_chat_stream]\nconcurrency = 6\n"
            'max_tokens = { distribution = "normal", mean = 100, stddev = 10 }\n'
            'prompts_file = "prompts.jsonl"\n',
        )
    )
    flow = plan["flows"]["openai_chat_stream"]
    assert flow["concurrency"] == 6 and flow["slots"] == 6 and flow["rate"] == 0
    assert flow["llm"]["max_tokens"] == {"distribution": "normal", "mean": 100.0, "stddev": 10.0}
    assert flow["llm"]["prompts"] == ["Hello", "Tell me a story"]
    assert plan["arrival"] == "gamma" and plan["burstiness"] == 0.5


@pytest.mark.parametrize(
    ("flows", "message"),
    [
        ("[flows.openai_chat]\nrate = 1\nconcurrency = 2\n", "not both"),
        ("[flows.openai_chat]\nrate = 1\nmax_tokens = 0\n", "max_tokens must be a number >= 1"),
        ('[flows.openai_chat]\nrate = 1\nmax_tokens = { distribution = "zipf" }\n', "distribution must be"),
        ('[flows.openai_chat]\nrate = 1\nprompts_file = "missing.jsonl"\n', "cannot read"),
        ("[flows.run]\nrate = 1\nmax_tokens = 5\n", "unknown key 'max_tokens'"),
        ("[flows.openai_chat]\nrate = 1\n[llm]\nslo = { ttfb_ms = 3 }\n", "unknown key 'ttfb_ms'"),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, flows: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        load_profile(write(tmp_path, flows))


def test_the_cli_answers_a_bad_llm_profile_with_one_line_and_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, "[flows.openai_chat]\nrate = 1\nconcurrency = 2\n")
    proc = subprocess.run(
        [sys.executable, "-m", "podbench", "load", "--profile", path, "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "not both" in proc.stderr
