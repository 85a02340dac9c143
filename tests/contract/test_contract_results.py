"""`update_manifest`: producers add to one manifest.json; none overwrites another's keys."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from contract import results


def manifest(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "manifest.json").read_text())
    return data


def test_a_fresh_folder_gets_a_manifest(tmp_path: Path) -> None:
    out = tmp_path / "new"
    written = results.update_manifest(out, "load", {"profile": "smoke"}, defaults={"seed": 1})
    assert manifest(out) == written == {"profile": "smoke", "seed": 1, "kind": ["load"]}


def test_producers_merge_and_keep_each_others_keys(tmp_path: Path) -> None:
    results.update_manifest(
        tmp_path,
        "load",
        {"started": "A", "versions": {"locust": "2"}, "generator": {"cpu_warning": False}},
        interrupted=False,
    )
    results.update_manifest(
        tmp_path,
        "conformance",
        {"ended": "B", "versions": {"pytest": "8"}},
        defaults={"started": "later", "target": {"endpoint_id": "x"}},
        interrupted=True,
    )
    results.update_manifest(
        tmp_path, "load", {"generator": {"limits_max_send_lag_ms": 1.0}}, interrupted=False
    )
    assert manifest(tmp_path) == {
        "started": "A",  # a default never replaces what is there
        "ended": "B",
        "versions": {"locust": "2", "pytest": "8"},  # dicts merge key by key
        "generator": {"cpu_warning": False, "limits_max_send_lag_ms": 1.0},
        "target": {"endpoint_id": "x"},
        "kind": ["load", "conformance"],  # each kind once, in the order they came
        "interrupted": True,  # or-ed: a part was cut short
    }


def test_values_may_replace_interrupted_outright(tmp_path: Path) -> None:
    results.update_manifest(tmp_path, "load", interrupted=True)
    results.update_manifest(tmp_path, "load", {"interrupted": False})
    assert manifest(tmp_path)["interrupted"] is False


def test_an_unreadable_manifest_is_started_afresh_and_no_temporary_file_stays(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{"kind": ["lo')
    results.update_manifest(tmp_path, "limits", {"ended": "E"})
    assert manifest(tmp_path) == {"ended": "E", "kind": ["limits"]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]


def test_unknown_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown result kind 'nope'"):
        results.update_manifest(tmp_path, "nope")


def test_concurrent_producers_lose_no_update(tmp_path: Path) -> None:
    def produce(i: int) -> None:
        results.update_manifest(
            tmp_path, results.KINDS[i % len(results.KINDS)], {"versions": {f"p{i}": str(i)}}
        )

    threads = [threading.Thread(target=produce, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    written = manifest(tmp_path)
    assert written["versions"] == {f"p{i}": str(i) for i in range(16)}
    assert sorted(written["kind"]) == sorted(results.KINDS)


def test_utc_iso_and_machine() -> None:
    assert results.utc_iso(0.0) == "1970-01-01T00:00:00.000Z"
    assert results.utc_iso(datetime(2026, 11, 28, 13, 40, 0, 123456, UTC)) == "2026-11-28T13:40:00.123Z"
    assert results.utc_iso().endswith("Z")
    assert set(results.machine()) == {"hostname", "cpus", "python", "platform"}
    assert "pytest" in results.versions("pytest", "surely-not-installed-xyz")
    assert set(results.MANIFEST_KEYS) >= {"kind", "target", "interrupted"}
