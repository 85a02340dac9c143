"""Every citation a reader meets can be followed without anything outside the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Research notes and guides that live beside the repository while it is built; never a citation.
# Written as pieces joined below, so this file does not itself name them.
NOTES = (
    ("..", "/shared"),
    ("shared", "/spec"),
    ("shared", "/guides"),
    ("runpod-api", "-facts"),
    ("endpoint-operations", ".md"),
    ("perf-", "baselines"),
    ("house-", "style.md"),
    ("anchors", ".md"),
    ("runpod-worker", "-runtime"),
    (".coord", "ination"),
    ("facts ", "§"),
)
OUTSIDE = re.compile("|".join(re.escape(head + tail) for head, tail in NOTES))
# How the project was made is not the reader's business: no tracker numbers in code or docs.
PROCESS_WORDS = re.compile(r"\(issues? \d+\)|\bissues? \d+\b|\bthe brief\b", re.IGNORECASE)


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
    ).stdout.split(b"\0")
    files = []
    for name in filter(None, listed):
        path = ROOT / name.decode()
        if path.name == ".gitignore" or not path.is_file():
            continue
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        files.append(path)
    return files


def test_no_tracked_file_names_a_file_outside_the_repository():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}"
        for path in tracked_text_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == [], "\n".join(offenders)


def test_code_and_docs_say_nothing_of_how_the_project_is_made():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}"
        for path in tracked_text_files()
        if path.suffix in {".py", ".md", ".toml", ".j2", ".sh", ".html"} or path.parent.name == "scripts"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PROCESS_WORDS.search(line) and "github.com" not in line
    ]
    assert offenders == [], "\n".join(offenders)
