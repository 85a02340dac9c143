"""The fast merge of histograms.jsonl adds up to exactly what hdrh's own decode_and_add gives."""

from __future__ import annotations

import ctypes
import json
import random

import numpy as np
from hdrh.histogram import HdrHistogram

from reports.hdr import new_histogram, read_histograms
from reports.hdr_merge import HistogramMerger


def _encoded(values: list[int], layout: tuple[int, int, int] = (1, 3_600_000_000, 3)) -> str:
    hist = HdrHistogram(*layout)
    for value in values:
        hist.record_value(value)
    data: bytes = hist.encode()
    return data.decode("ascii")


def _counts(hist: HdrHistogram) -> np.ndarray:
    return np.ctypeslib.as_array(hist.counts)[: hist.counts_len].copy()


def _blobs(seed: int) -> list[tuple[tuple[str, str], str]]:
    rng = random.Random(seed)
    blobs = []
    for _ in range(300):
        key = (rng.choice(["run", "status", "stream"]), rng.choice(["latency", "corrected_latency"]))
        values = [int(rng.lognormvariate(10, 2)) + 1 for _ in range(rng.randint(0, 40))]
        values = [min(v, 3_000_000_000) for v in values]
        if rng.random() < 0.1:
            values += [rng.randint(1, 5)] * rng.randint(1000, 100_000)  # large counts, a low bucket
        blobs.append((key, _encoded(values)))
    # another writer's layout (fewer digits, smaller range): hdrh re-records its values
    blobs.append((("run", "latency"), _encoded([7, 700, 70_000, 7_000_000], (1, 60_000_000, 2))))
    blobs.append((("run", "latency"), _encoded([])))
    return blobs


def test_fast_merge_equals_hdrh_decode_and_add():
    blobs = _blobs(3)
    reference: dict[tuple[str, str], HdrHistogram] = {}
    merger = HistogramMerger(new_histogram)
    for key, blob in blobs:
        reference.setdefault(key, new_histogram()).decode_and_add(blob)
        merger.add(key, blob)
    merged = merger.result()
    assert merged.keys() == reference.keys()
    for key, expected in reference.items():
        got = merged[key]
        assert np.array_equal(_counts(got), _counts(expected)), key
        assert got.get_total_count() == expected.get_total_count() > 0
        assert got.get_max_value() == expected.get_max_value()
        # hdrh's add leaves min at 0 when the target starts empty; the merger keeps the true one
        smallest = min(
            HdrHistogram.decode(blob).get_min_value()
            for k, blob in blobs
            if k == key and HdrHistogram.decode(blob).get_total_count()
        )
        assert got.get_min_value() == got.get_lowest_equivalent_value(smallest)
        for pct in (50.0, 99.0, 99.9, 100.0):
            assert got.get_value_at_percentile(pct) == expected.get_value_at_percentile(pct)


def test_a_corrupt_blob_adds_nothing_and_leaves_the_scratch_clean():
    good = _encoded([1000, 2000, 3000])
    merger = HistogramMerger(new_histogram)
    bad_counter = _encoded([3_000_000_000]).encode()
    small = HistogramMerger(lambda: HdrHistogram(1, 1000, 3))  # the counter is out of its range
    for blob in ("not base64!", "bm90IGhkcg==", good[:-8] + "AAAAAAA="):
        try:
            merger.add(("run", "latency"), blob)
        except Exception:
            pass
        else:
            raise AssertionError(f"accepted {blob!r}")
    try:
        small.add(("run", "latency"), bad_counter.decode())
    except Exception:
        pass
    assert not any(small._scratch)
    assert not any(merger._scratch)
    assert merger.result() == {}
    merger.add(("run", "latency"), good)
    assert merger.result()[("run", "latency")].get_total_count() == 3
    assert ctypes.sizeof(merger._scratch) == new_histogram().counts_len * 8


def test_lines_in_other_json_spellings_are_read_too(tmp_path):
    blob = _encoded([5000, 6000])
    path = tmp_path / "histograms.jsonl"
    path.write_text(
        json.dumps({"t": 0.0, "op": "run", "metric": "latency", "hdr": blob})
        + "\n"
        + json.dumps({"t": 24.0, "dt": 24.0, "op": "run", "metric": "latency", "hdr": blob})
        + "\n"
        + json.dumps(
            {"hdr": blob, "metric": "latency", "op": "run", "t": 1}, indent=None, separators=(",", ":")
        )
        + "\n\n"
    )
    notes: list[str] = []
    histograms = read_histograms(path, notes)
    assert notes == [] and histograms is not None
    latency = histograms.get("run", "latency")
    assert latency is not None and latency.get_total_count() == 6
