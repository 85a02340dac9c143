"""`podbench conform`: result files, exit codes, no key anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conformance_fake_target import FakeTarget
from conformance_harness import ROOT

KEY = "fake-key-do-not-write-me"


def conform(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "podbench", "conform", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=180,
    )


def test_a_violated_claim_exits_1_and_writes_the_result_folder_without_the_key(tmp_path):
    out = tmp_path / "out"
    with FakeTarget(api_key=KEY, echo_key=True) as fake:  # it even echoes the key in an error body
        proc = conform(
            "--target-url",
            fake.base_url,
            "--endpoint-id",
            "fake",
            "--api-key-env",
            "FAKE_KEY",
            "--out",
            str(out),
            "-k",
            "unknown_endpoint or test_run_answers",
            env={"FAKE_KEY": KEY},
        )
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr
    assert {p.name for p in out.iterdir()} >= {"junit.xml", "conformance.json", "manifest.json"}
    verdict = json.loads((out / "conformance.json").read_text())
    assert (
        verdict["summary"]["violated"] == 1 and verdict["target"]["api_key"] == "<from $FAKE_KEY, redacted>"
    )
    entry = next(c for c in verdict["claims"] if c["id"] == "errors.unknown_endpoint")
    assert entry["outcome"] == "violated" and "for key <redacted>" in entry["excerpt"]
    assert "for key &lt;redacted&gt;" in (out / "junit.xml").read_text()  # the failure text, redacted
    manifest = json.loads((out / "manifest.json").read_text())
    assert "conformance" in manifest["kind"] and manifest["target"]["endpoint_id"] == "fake"
    for path in out.iterdir():
        assert KEY not in path.read_text(), path.name
    assert KEY not in proc.stdout + proc.stderr


def test_a_refused_key_exits_2(tmp_path):
    with FakeTarget(api_key=KEY) as fake:
        proc = conform(
            "--target-url",
            fake.base_url,
            "--endpoint-id",
            "fake",
            "--api-key-env",
            "FAKE_KEY",
            "--out",
            str(tmp_path / "out"),
            "-k",
            "test_run_answers",
            env={"FAKE_KEY": "wrong"},
        )
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr
    assert json.loads((tmp_path / "out" / "conformance.json").read_text())["summary"]["harness_errors"] == 1


def test_bad_usage_is_one_line_and_exit_2(tmp_path):
    proc = conform("--endpoint-id", "x", "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--target-url" in proc.stderr
    missing_key = conform(
        "--target-url",
        "http://127.0.0.1:9/v2",
        "--endpoint-id",
        "x",
        "--api-key-env",
        "PB_UNSET_KEY_VAR",
        "--out",
        str(tmp_path / "out"),
        env={"PB_UNSET_KEY_VAR": ""},
    )
    assert missing_key.returncode == 2 and "PB_UNSET_KEY_VAR" in missing_key.stderr


def test_a_profile_with_a_wrong_key_or_type_is_one_line_before_any_test(tmp_path):
    for name, text, fragment in [
        ("key.toml", "[retention]\nforever = 1\n", "retention.forever"),
        ("type.toml", '[timing]\nslack_s = "2 s"\n', "slack_s"),
    ]:
        (tmp_path / name).write_text(text)
        proc = conform("--target-profile", str(tmp_path / name), "--out", str(tmp_path / "out"))
        assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr
        assert (
            proc.stderr.strip().count("\n") == 0
            and fragment in proc.stderr
            and "target profile" in proc.stderr
        )
        assert not (tmp_path / "out" / "conformance.json").exists()  # refused before the emulator or any test


def test_the_embedded_emulator_is_the_default_target(tmp_path):
    out = tmp_path / "out"
    (out).mkdir()
    (out / "manifest.json").write_text(json.dumps({"kind": ["load"], "profile": "smoke"}))
    proc = conform("--out", str(out), "-k", "health_has or runsync_returns")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == ["load", "conformance"] and manifest["profile"] == "smoke"
    assert json.loads((out / "conformance.json").read_text())["target"]["embedded_emulator"] is True
