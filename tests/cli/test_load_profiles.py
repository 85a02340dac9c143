"""Profiles parse into plans; every mistake is one line on stderr and exit code 2."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from contract import operations
from locustfiles import _plan
from podbench import load_profile
from podbench.cli import main
from podbench.errors import UsageError
from podbench.load_runner import locust_command

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ("smoke", "mixed", "capacity-step", "soak", "spike", "limit-edge", "llm")


def test_every_flow_has_a_user_class_and_every_operation_is_the_contracts() -> None:
    # read from the source: importing the users would let gevent patch this test process
    defined = {}
    for name in ("operations.py", "lifecycles.py", "llm.py"):
        for node in ast.parse((ROOT / "locustfiles" / name).read_text()).body:
            if isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    if (
                        isinstance(stmt, ast.Assign)
                        and [getattr(t, "id", None) for t in stmt.targets] == ["flow"]
                        and isinstance(stmt.value, ast.Constant)
                    ):
                        defined[stmt.value.value] = node.name
    assert defined == {flow: _plan.user_class(flow) for flow in _plan.FLOWS}
    assert set(_plan.OPERATIONS) <= set(operations.NAMES)


@pytest.mark.parametrize("name", PROFILES)
def test_every_shipped_profile_loads_and_round_trips_into_the_users_plan(name: str) -> None:
    data = load_profile.load_profile(name)
    assert data["flows"]
    plan = _plan.plan_from_dict({k: v for k, v in data.items() if not k.startswith("_")})
    assert plan.duration_s == pytest.approx(sum(s.duration_s for s in plan.stages))
    assert all(f.slots >= 1 for f in plan.flows.values())


def test_limit_edge_runs_each_limited_operation_at_90_100_and_110_percent() -> None:
    data = load_profile.load_profile("limit-edge")
    assert [s["scale"] for s in data["stages"]] == [0.9, 1.0, 1.1]
    documented_per_s = {
        "run": 100,
        "runsync": 200,
        "status": 200,
        "stream": 200,
        "cancel": 10,
        "purge_queue": 0.2,
    }
    assert {op: f["rate"] for op, f in data["flows"].items()} == documented_per_s


def test_duration_override_keeps_stage_proportions_and_rate_scale_multiplies() -> None:
    data = load_profile.load_profile("spike", duration=6.0, rate_scale=0.5)
    assert [s["duration_s"] for s in data["stages"]] == pytest.approx([2.0, 1.0, 3.0])
    assert data["flows"]["run_poll"]["rate"] == 10.0


def test_offered_rate_follows_the_stages() -> None:
    data = load_profile.load_profile("capacity-step", duration=60.0)
    plan = _plan.plan_from_dict({k: v for k, v in data.items() if not k.startswith("_")})
    assert plan.offered("run", 0.0, 10.0) == pytest.approx(25.0)  # 10 jobs/s x 0.25 x 10 s
    assert plan.offered("run", 50.0, 60.0) == pytest.approx(150.0)


@pytest.mark.parametrize("text", ["30s", "2m", "1.5h", "500ms", 12])
def test_durations(text: object) -> None:
    assert load_profile.parse_duration(text) > 0


def write(tmp_path: Path, body: str) -> str:
    path = tmp_path / "p.toml"
    path.write_text(body)
    return str(path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[flows.teleport]\nrate = 1\n", "unknown operation 'teleport'"),
        ("[flows.run]\nrat = 1\n", "unknown key 'rat'"),
        ("[flows.run]\nslots = 1\n", "missing 'rate'"),
        ("[flows.run]\nrate = -1\n", "rate must be a number >= 0"),
        ("[profile]\nduration = 'soon'\n[flows.run]\nrate = 1\n", "bad duration 'soon'"),
        ("[profile]\n", "needs at least one [flows.NAME]"),
        ("[flows.run\nrate = 1\n", "cannot read profile"),
        ("[profile]\narrival = 'bursty'\n[flows.run]\nrate = 1\n", "arrival must be"),
    ],
)
def test_bad_profiles_are_usage_errors(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace(".", r"\.")):
        load_profile.load_profile(write(tmp_path, body))


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ("nosuchprofile", "unknown profile 'nosuchprofile'"),
        ("/nonexistent/file.toml", "profile file not found"),
    ],
)
def test_cli_reports_bad_profiles_in_one_line_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], profile: str, message: str
) -> None:
    code = main(["load", "--profile", profile, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and message in err


def test_cli_reports_an_unknown_operation_in_one_line_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["load", "--profile", write(tmp_path, "[flows.jump]\nrate = 1\n"), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "unknown operation 'jump'" in err


def test_locust_command_has_one_user_per_slot_and_never_carries_a_key() -> None:
    data = load_profile.load_profile("smoke")
    cmd = locust_command(data, host="http://127.0.0.1:1/v2", processes=2, csv_prefix=None)
    users = int(cmd[cmd.index("-u") + 1])
    assert users == sum(f["slots"] for f in data["flows"].values())
    assert "--processes" in cmd and "-t" not in cmd
    assert not any("key" in part.lower() for part in cmd)
