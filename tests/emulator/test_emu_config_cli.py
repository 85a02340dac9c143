"""Config TOML loading and the command line (`python -m emulator`, `podbench emulate`) as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from contract.emulator_process import ChildServer, emulator_command
from emulator.config import ConfigError, endpoint_from_table, load_config, merge_patch
from podbench.cli import build_parser
from podbench.commands import emulate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "emulator" / "examples" / "two-endpoints.toml"


def test_example_config_loads(monkeypatch):
    monkeypatch.setenv("SLOW_ENDPOINT_KEY", "slow-key")
    config = load_config(EXAMPLE, endpoint_id="ignored", api_key="k", admin_key="a")
    assert [e.id for e in config.endpoints] == ["fast", "slow"]
    fast, slow = config.endpoints
    assert fast.api_keys == ("k",) and slow.api_keys == ("slow-key",)
    assert fast.execution_time.distribution == "lognormal" and fast.limits["algorithm"] == "sliding_window"
    assert config.seed == 42


def test_without_a_file_one_endpoint_from_the_flags():
    config = load_config(None, endpoint_id="mine", api_key="k", admin_key="a")
    assert [(e.id, e.api_keys) for e in config.endpoints] == [("mine", ("k",))]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[[endpoint]]\nid = 'a'\nworkers = 3\n", "workers"),
        ("[[endpoint]]\nworkers_max = 3\n", "'id'"),
        ("[[endpoint]]\nid = 'a'\n[[endpoint]]\nid = 'a'\n", "twice"),
        ("seed = 'x'\n[[endpoint]]\nid = 'a'\n", "seed"),
        ("colour = 1\n[[endpoint]]\nid = 'a'\n", "colour"),
        ("seed = 1\n", "no [[endpoint]]"),
        ("[[endpoint]\n", "cannot read"),
        ("[[endpoint]]\nid = 'a'\napi_key_env = 'PODBENCH_SURELY_UNSET_VAR'\n", "api_key_env"),
    ],
)
def test_bad_config_names_the_problem(tmp_path, text, fragment):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        load_config(path, endpoint_id="x", api_key="k", admin_key="a")


def test_merge_patch_is_recursive_and_null_deletes():
    base = {"run": {"rate": 10, "window_s": 10}, "health": {"rate": 1}}
    assert merge_patch(base, {"run": {"rate": 5}, "health": None, "new": {"a": None, "b": 1}}) == {
        "run": {"rate": 5, "window_s": 10},
        "new": {"b": 1},
    }
    config = endpoint_from_table({"id": "a", "limits": base})
    patched = endpoint_from_table({"limits": {"run": {"rate": 1}}}, base=config)
    assert patched.limits["run"] == {"rate": 1, "window_s": 10}


def _start(args, env_extra, tmp_path, *, watch_parent=True):
    server = ChildServer(
        [*args, "--port", "0"],
        ready_file=tmp_path / "ready.json",
        log_path=tmp_path / "output.log",
        env={**os.environ, **env_extra},
        cwd=ROOT,
        watch_parent=watch_parent,
        start_timeout_s=20,
    )
    ready = server.start()
    return server, {"port": ready.port, "host": ready.host, "pid": ready.pid}


def _stop(server):
    return server.stop(), server.output()


@pytest.mark.slow
def test_python_m_emulator_serves_writes_ready_file_and_stops_on_sigterm(tmp_path):
    env = {"PODBENCH_EMULATOR_API_KEY": "secret-key-1", "PODBENCH_EMULATOR_ADMIN_KEY": "admin-1"}
    proc, info = _start(emulator_command("--endpoint-id", "ep"), env, tmp_path)
    try:
        assert info["host"] == "127.0.0.1" and info["pid"] == proc.proc.pid and info["port"] > 0
        req = urllib.request.Request(
            f"http://127.0.0.1:{info['port']}/v2/ep/health", headers={"Authorization": "secret-key-1"}
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert json.loads(resp.read())["workers"]["idle"] == 1
        # the HTTP parser's own refusals are JSON too (emulator.server_lifecycle)
        req.add_header("X-Padding", "p" * 65536)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(req, timeout=5)
        assert refused.value.code == 400 and refused.value.headers["Content-Type"] == "application/json"
        assert json.loads(refused.value.read())["status"] == 400
    finally:
        code, out = _stop(proc)
    assert code == 0
    assert f"RUNPOD_ENDPOINT_BASE_URL=http://127.0.0.1:{info['port']}/v2" in out
    assert "secret-key-1" not in out and "admin-1" not in out


@pytest.mark.slow
def test_generated_keys_are_printed_and_podbench_emulate_runs_the_same_main(tmp_path):
    env = {"PODBENCH_EMULATOR_API_KEY": "", "PODBENCH_EMULATOR_ADMIN_KEY": ""}
    # `podbench emulate` runs in the foreground and takes no --parent-pid.
    proc, info = _start(
        [sys.executable, "-m", "podbench", "emulate", "--clock", "manual"], env, tmp_path, watch_parent=False
    )
    code, out = _stop(proc)
    assert code == 0
    assert (
        "generated API key: pb-" in out and "generated admin key: pb-admin-" in out and "clock: manual" in out
    )


def test_bad_config_file_is_one_line_and_exit_2(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[[endpoint]]\nid = 'a'\nbogus = 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "--port", "0", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        env={**os.environ, "PODBENCH_EMULATOR_API_KEY": "k", "PODBENCH_EMULATOR_ADMIN_KEY": "a"},
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "bogus" in result.stderr


def test_podbench_emulate_builds_the_child_command_with_keys_in_env_only():
    parser, _ = build_parser()
    args = parser.parse_args(
        ["emulate", "--port", "0", "--api-key", "kkk", "--config", "c.toml", "--rate-limits", "off"]
    )
    cmd, env = emulate.build_command(args)
    assert cmd[1:4] == ["-P", "-m", "emulator"] and "kkk" not in cmd
    assert ["--rate-limits", "off"] == cmd[cmd.index("--rate-limits") : cmd.index("--rate-limits") + 2]
    assert env["PODBENCH_EMULATOR_API_KEY"] == "kkk"


def test_parent_pid_exits_once_the_starting_process_is_gone(tmp_path):
    ready = tmp_path / "ready.json"
    # A parent that starts the emulator in its own session (as the conformance suite does) and dies.
    parent_code = (
        "import os, subprocess, sys; subprocess.Popen([sys.executable, '-m', 'emulator', '--port', '0',"
        f" '--parent-pid', str(os.getpid()), '--api-key', 'k', '--admin-key', 'a', '--ready-file', {str(ready)!r}],"
        " start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)"
    )
    subprocess.run([sys.executable, "-c", parent_code], cwd=ROOT, check=True, timeout=30)
    deadline = time.monotonic() + 20
    while not ready.exists():
        assert time.monotonic() < deadline, "emulator did not get ready"
        time.sleep(0.05)
    pid = json.loads(ready.read_text())["pid"]
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and (Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            pytest.fail("the emulator outlived the process that started it")
        time.sleep(0.1)
