"""The README's commands and links stay true: every `podbench ...` it shows parses with the real
CLI, and every file it links or names exists. (Running them is ./scripts/demo's and the rooms'
tests' job; this catches a renamed flag or file the moment it happens.)"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from podbench.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _podbench_commands() -> list[str]:
    # A command with arguments, not a command named in prose.
    commands = [m.group(1) for m in re.finditer(r"`(podbench [^`]+)`", README) if " -" in m.group(1)]
    for block in re.findall(r"```sh\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("podbench "):
                commands.append(line)
    return commands


COMMANDS = _podbench_commands()


def test_the_readme_shows_commands() -> None:
    assert len(COMMANDS) >= 10
    assert "./scripts/demo" in README and "./scripts/test" in README


@pytest.mark.parametrize("command", COMMANDS)
def test_each_readme_command_parses(command: str) -> None:
    parser, _ = build_parser()
    argv = shlex.split(command)[1:]
    argv = [a for a in argv if a not in ("[--thresholds", "FILE]")]
    args = parser.parse_args(argv)
    assert args.command == argv[0]


@pytest.mark.parametrize("path", sorted(set(re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README))))
def test_each_linked_file_exists(path: str) -> None:
    assert (ROOT / path).exists(), path


@pytest.mark.parametrize(
    "path", ["examples/thresholds.toml", "scripts/demo", "scripts/test", "worker/Dockerfile"]
)
def test_each_named_file_exists(path: str) -> None:
    assert (ROOT / path).exists(), path
