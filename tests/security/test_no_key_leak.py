"""No API key in anything podbench writes or prints, and keys only ever from the environment.

Every command (conform, load, limits, capacity, verify, report, compare; demo only chains these)
runs as a user would run it (`python -m podbench ...` subprocesses) with a
recognisable key in `$RUNPOD_API_KEY`: once against the embedded emulator (whose own keys are
generated, so the result folder is also searched for their shape) and once against an emulator
started here with known keys, so the key is really sent on every request. One of its endpoints
has faults on, so the conformance suite writes failure excerpts (the likeliest place for a
request's Authorization header to end up). Then every file under the result folders (binary-safe,
recursively), everything the commands printed, and every process's argv seen meanwhile are
searched for the keys, their base64 forms and their URL-encoded forms.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from emulator_process import ROOT, EmulatorProcess

from podbench.cli import build_parser

USER_KEY = "pbleak-user-" + secrets.token_hex(10)
TARGET_KEY = "pbleak-target-" + secrets.token_hex(10)
ADMIN_KEY = "pbleak-admin-" + secrets.token_hex(10)
KEYS = (USER_KEY, TARGET_KEY, ADMIN_KEY)
# What embedded.py generates for the embedded emulator ("pb-" / "pb-admin-" + token_urlsafe(18)).
GENERATED_KEY = re.compile(rb"pb-(?:admin-)?[A-Za-z0-9_-]{24}(?![A-Za-z0-9_-])")
RUN_TIMEOUT_S = 150
QUICK_CAPACITY = [
    "--start-rps",
    "2",
    "--step-rps",
    "4",
    "--max-rps",
    "6",
    "--min-hold-s",
    "1",
    "--max-hold-s",
    "2",
    "--refine-steps",
    "0",
]


def forms(key: str) -> list[bytes]:
    """The key as text, base64 (alone and in a Basic/Bearer header value) and URL-encoded."""
    raw = key.encode()
    found = [raw, base64.b64encode(raw), base64.b64encode(b"Bearer " + raw), quote(key, safe="").encode()]
    # base64 of the key at any offset inside a longer blob: the three shifted encodings' cores.
    for shift in range(3):
        core = base64.b64encode(b"\0" * shift + raw)[4:-4]
        found.append(core)
    return found


@dataclass
class Runs:
    root: Path
    outputs: dict[str, bytes] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)
    argv_seen: set[bytes] = field(default_factory=set)
    emulator_output: str = ""


class ArgvWatch(threading.Thread):
    """Samples every process's command line while the commands run (a key in argv is world-readable)."""

    def __init__(self, seen: set[bytes]) -> None:
        super().__init__(daemon=True)
        self.seen, self.stopped = seen, threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            for proc in Path("/proc").iterdir():
                if proc.name.isdigit():
                    try:
                        self.seen.add((proc / "cmdline").read_bytes())
                    except OSError:
                        continue
            self.stopped.wait(0.1)


def _start(
    name: str, argv: list[str], env: dict[str, str], root: Path
) -> tuple[str, subprocess.Popen[bytes]]:
    out = open(root / f"{name}.console", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-P", "-m", "podbench", *argv],
        cwd=root,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    out.close()
    return name, proc


def _reap(batch: list[tuple[str, subprocess.Popen[bytes]]], runs: Runs) -> None:
    for name, proc in batch:
        try:
            runs.codes[name] = proc.wait(RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            runs.codes[name] = proc.wait()
        runs.outputs[name] = (runs.root / f"{name}.console").read_bytes()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    root = tmp_path_factory.mktemp("keyleak")
    results = root / "results"
    result = Runs(results)
    results.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODBENCH_EMULATOR_", "RUNPOD_"))}
    env["RUNPOD_API_KEY"] = USER_KEY
    config = root / "emulator.toml"
    # Small limits on one cheap operation, so `limits` finds them in a few seconds.
    config.write_text(
        '[[endpoint]]\nid = "leak"\n[endpoint.limits.cancel]\nrate = 5\nwindow_s = 1\nconcurrency = 2\n'
    )
    thresholds = root / "thresholds.toml"
    thresholds.write_text('[thresholds]\nrules = ["run.p95_ms <= 60000"]\n')
    target_config = root / "target.toml"
    target_config.write_text(
        '[[endpoint]]\nid = "clean"\ncold_start_s = 0\n\n[[endpoint]]\nid = "faulty"\ncold_start_s = 0\n'
    )
    watch = ArgvWatch(result.argv_seen)
    watch.start()
    emu = EmulatorProcess(
        root / "emu",
        api_key=TARGET_KEY,
        admin_key=ADMIN_KEY,
        endpoint_id="clean",
        args=["--config", str(target_config), "--rate-limits", "off"],
    )
    try:
        emu.control("PUT", "endpoints/faulty/faults", json={"error_rate": 0.3, "error_status": 500})
        # A few refused requests with a wrong, recognisable key: the emulator must not echo it.
        for _ in range(3):
            requests.get(
                f"{emu.base_v2}/clean/health", headers={"Authorization": f"Bearer {USER_KEY}"}, timeout=5
            )
        real_env = {**env, "RUNPOD_API_KEY": TARGET_KEY}
        real = ["--target-url", emu.base_v2]
        first = [
            _start(
                "conform", ["conform", "--out", str(results / "conform"), "-k", "test_errors"], env, results
            ),
            _start(
                "load",
                ["load", "--profile", "smoke", "--duration", "2s", "--out", str(results / "load")],
                env,
                results,
            ),
            _start(
                "limits",
                [
                    "limits",
                    "--operation",
                    "cancel",
                    "--emulator-config",
                    str(config),
                    "--expect",
                    "cancel=5/1s/2",
                    "--no-concurrency",
                    "--out",
                    str(results / "limits"),
                ],
                env,
                results,
            ),
            _start(
                "conform-real",
                [
                    "conform",
                    *real,
                    "--endpoint-id",
                    "faulty",
                    "--out",
                    str(results / "real"),
                    "-k",
                    "test_errors or test_run or test_status",
                ],
                real_env,
                results,
            ),
            _start(
                "capacity", ["capacity", *QUICK_CAPACITY, "--out", str(results / "capacity")], env, results
            ),
            _start(
                "capacity-real",
                [
                    "capacity",
                    *QUICK_CAPACITY,
                    *real,
                    "--endpoint-id",
                    "clean",
                    "--out",
                    str(results / "real-capacity"),
                ],
                real_env,
                results,
            ),
            _start(
                "verify-real",
                [
                    "verify",
                    "--skip-conformance",
                    "--profile",
                    "smoke",
                    "--duration",
                    "2s",
                    "--thresholds",
                    str(thresholds),
                    *real,
                    "--endpoint-id",
                    "clean",
                    "--allow-destructive",
                    "--out",
                    str(results / "real-verify"),
                ],
                real_env,
                results,
            ),
            _start(
                "load-real",
                [
                    "load",
                    "--profile",
                    "smoke",
                    "--duration",
                    "2s",
                    *real,
                    "--endpoint-id",
                    "clean",
                    "--allow-destructive",
                    "--out",
                    str(results / "real-load"),
                ],
                real_env,
                results,
            ),
        ]
        _reap(first, result)
        second = [
            _start("report", ["report", str(results / "load")], env, results),
            _start(
                "report-real", ["report", str(results / "real")], real_env, results
            ),  # renders the excerpts
            _start("report-real-load", ["report", str(results / "real-load")], real_env, results),
            _start(
                "compare",
                [
                    "compare",
                    str(results / "load"),
                    str(results / "real-load"),
                    "--out",
                    str(results / "compare"),
                ],
                env,
                results,
            ),
        ]
        _reap(second, result)
    finally:
        result.emulator_output = emu.stop()
        watch.stopped.set()
        watch.join()
    yield result


def test_every_command_ran_to_a_verdict(runs: Runs) -> None:
    allowed = {
        "conform": {0},
        "load": {0},
        "limits": {0},
        "conform-real": {0, 1, 2},
        "load-real": {0},
        "report": {0},
        "report-real": {0},
        "report-real-load": {0},
        "compare": {0, 1},
        "capacity": {0, 1},  # 1: the profile's target rate is above this short ramp's knee
        "capacity-real": {0, 1},
        "verify-real": {0, 1},
    }
    for name, code in runs.codes.items():
        assert code in allowed[name], (
            f"{name} exited {code}: {runs.outputs[name][-1500:].decode(errors='replace')}"
        )
    assert (runs.root / "real" / "conformance.json").is_file()
    assert (runs.root / "real-load" / "summary.json").is_file()
    assert (runs.root / "real" / "report.html").is_file()
    assert (runs.root / "real-capacity" / "capacity.json").is_file()
    assert (runs.root / "compare" / "comparison.html").is_file()
    # The faulty endpoint made the suite write excerpts: the files we scan hold request text.
    claims = json.loads((runs.root / "real" / "conformance.json").read_text())["claims"]
    assert any(claim.get("excerpt") for claim in claims)


@pytest.mark.parametrize("key", KEYS, ids=["user-key", "target-key", "admin-key"])
def test_no_key_in_any_result_file(runs: Runs, key: str) -> None:
    files = [p for p in runs.root.rglob("*") if p.is_file() and not p.name.endswith(".console")]
    assert len(files) > 20, sorted(p.name for p in files)
    leaks = [
        f"{p.relative_to(runs.root)} holds {form[:12]!r}..."
        for p in files
        for form in forms(key)
        if form in p.read_bytes()
    ]
    assert not leaks


def test_no_generated_embedded_key_in_any_result_file(runs: Runs) -> None:
    leaks = [
        (str(p.relative_to(runs.root)), m.group()[:8])
        for p in runs.root.rglob("*")
        if p.is_file()
        for m in GENERATED_KEY.finditer(p.read_bytes())
    ]
    assert not leaks


@pytest.mark.parametrize("key", KEYS, ids=["user-key", "target-key", "admin-key"])
def test_no_key_in_what_the_commands_printed(runs: Runs, key: str) -> None:
    assert runs.outputs, "no command ran"
    leaks = [name for name, out in runs.outputs.items() for form in forms(key) if form in out]
    assert not leaks


def test_no_key_in_any_process_argv(runs: Runs) -> None:
    assert len(runs.argv_seen) > 10  # the sampler did see the commands' processes
    assert any(b"podbench" in argv for argv in runs.argv_seen)
    leaks = [
        argv.replace(b"\0", b" ")[:120] for argv in runs.argv_seen for key in KEYS if key.encode() in argv
    ]
    assert not leaks


def test_the_emulator_printed_no_given_key(runs: Runs) -> None:
    assert "listening on" in runs.emulator_output
    for key in KEYS:
        assert key not in runs.emulator_output


def test_the_emulator_never_shows_a_key_given_on_its_command_line(tmp_path: Path) -> None:
    """`--api-key` is the emulator's own documented option (its key, not a user's): still never shown."""
    emu = EmulatorProcess(
        tmp_path, api_key="", admin_key=ADMIN_KEY, args=["--api-key", TARGET_KEY, "--admin-key", ADMIN_KEY]
    )
    try:
        for headers in (
            {"Authorization": f"Bearer {TARGET_KEY}"},
            {"Authorization": f"Bearer {USER_KEY}"},
            {},
        ):
            requests.post(f"{emu.base_v2}/rel/run", json={"input": {}}, headers=headers, timeout=5)
        replies = [
            requests.get(f"{emu.url}/_emulator/{path}", headers=emu.admin_auth, timeout=5).text
            for path in ("endpoints", "endpoints/rel", "endpoints/rel/jobs", "endpoints/rel/stats")
        ]
        replies.append(requests.get(f"{emu.url}/_emulator/endpoints", timeout=5).text)  # no admin key: 401
    finally:
        printed = emu.stop()
    assert "listening on" in printed
    for key in (TARGET_KEY, ADMIN_KEY, USER_KEY):
        assert key not in printed
        assert not [r for r in replies if key in r]


def test_api_key_is_an_option_of_emulate_only() -> None:
    """Keys come from the environment; only `emulate` takes the emulator's own keys as flags."""
    parser, modules = build_parser()
    assert {"conform", "load", "limits", "report", "compare", "emulate", "capacity", "verify", "demo"} <= set(
        modules
    )
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subparsers.choices.items():
        options = {opt for action in sub._actions for opt in action.option_strings}
        key_options = {opt for opt in options if "key" in opt and opt != "--api-key-env"}
        if name == "emulate":
            assert key_options == {"--api-key", "--admin-key"}
        else:
            assert not key_options, f"podbench {name} takes a key on the command line: {key_options}"


def test_a_key_flag_is_refused_in_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "podbench",
            "load",
            "--profile",
            "smoke",
            "--api-key",
            USER_KEY,
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.decode().strip().splitlines()) == 1
    assert USER_KEY.encode() not in proc.stdout + proc.stderr  # argparse would echo the value


def test_forms_finds_a_key_inside_base64_of_a_longer_text() -> None:
    """The scanner itself has teeth: a key buried in base64 of a JSON header dump is found."""
    blob = base64.b64encode(f'{{"headers": {{"Authorization": "Bearer {USER_KEY}"}}}}'.encode())
    assert any(form in blob for form in forms(USER_KEY))
    assert not any(form in base64.b64encode(b"nothing to see here, at all") for form in forms(USER_KEY))


@pytest.mark.parametrize(
    "argv",
    [
        ["load", "--profile", "smoke", "--out", "o", "--api-key", USER_KEY],
        ["load", "--profile", "smoke", "--out", "o", f"--api-key={USER_KEY}"],
        ["conform", "--out", "o", "--api", USER_KEY],  # once an abbreviation of --api-key-env
        ["limits", "--operation", "cancel", "--out", "o", "--token", USER_KEY],
        ["capacity", "--out", "o", "--secret-key", USER_KEY],
    ],
    ids=["space", "equals", "abbreviation", "token", "secret"],
)
def test_a_key_on_the_command_line_is_refused_and_not_echoed(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from podbench.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert len(captured.err.strip().splitlines()) == 1
    assert USER_KEY not in captured.err + captured.out
