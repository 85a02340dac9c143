"""Add many encoded HDR histograms into one per key, fast and exactly.

A long run writes one histogram per (second, operation, metric): a day at 8 operations is about
1.6 million lines. `HdrHistogram.decode` builds a Python histogram object (and zeroes a fresh
23,552-counter array) for every line, about 65 us each, so a day took two minutes to read. Here
each line is decompressed and its counters are decoded by hdrh's own C decoder (`pyhdrh.decode`)
into one scratch array, the decoded span is added into the key's running histogram with hdrh's
C adder, and the span is zeroed again: a few microseconds per line, and the same sums as
`decode_and_add`. A histogram of any other layout (range, precision, word size) takes hdrh's own
path, so the result stays exact whatever wrote the file.
"""

from __future__ import annotations

import base64
import ctypes
import struct
import zlib
from collections.abc import Callable

import pyhdrh  # hdrh's C codec, installed with hdrhistogram
from hdrh.histogram import HdrHistogram

EXTERNAL = struct.Struct(">II")
"""The base64 blob's header: compression cookie, compressed length."""
PAYLOAD = struct.Struct(">IIIIQQd")
"""The decompressed header: cookie, payload length, normalizing offset, digits, lowest, highest, ratio."""
COMPRESSION_COOKIE = 0x1C849304
ENCODING_COOKIE = 0x1C849303
COOKIE_WORD_BITS = 0xF0
WORD = 8
"""Bytes per counter in the arrays hdrh allocates (its decoder writes 64-bit counts)."""


class _Running:
    """One key's histogram while lines are added: hdrh's own counters plus the tracking values."""

    __slots__ = ("address", "histogram", "max_index", "min_index", "total")

    def __init__(self, histogram: HdrHistogram) -> None:
        self.histogram = histogram
        self.address = ctypes.addressof(histogram.counts)
        self.total = 0
        self.min_index = -1
        self.max_index = -1

    def note(self, total: int, low: int, high: int) -> None:
        self.total += total
        self.min_index = low if self.min_index < 0 else min(self.min_index, low)
        self.max_index = max(self.max_index, high)

    def finish(self) -> HdrHistogram:
        """Set count, min and max from the indexes seen, as hdrh's own decode does."""
        if self.total:
            self.histogram.set_internal_tacking_values(self.min_index, self.max_index, self.total)
        return self.histogram


class HistogramMerger:
    """Adds base64 histograms into one histogram per key; every histogram has `make()`'s layout."""

    def __init__(self, make: Callable[[], HdrHistogram]) -> None:
        self._make = make
        layout = make()
        self._layout = (
            int(layout.lowest_trackable_value),
            int(layout.highest_trackable_value),
            int(layout.significant_figures),
        )
        self._counts_len = int(layout.counts_len)
        self._scratch = (ctypes.c_int64 * self._counts_len)()
        self._scratch_address = ctypes.addressof(self._scratch)
        self._running: dict[tuple[str, str], _Running] = {}

    def add(self, key: tuple[str, str], encoded: str | bytes) -> None:
        """Add one encoded histogram to `key`; raise (ValueError, zlib.error, IndexError) when corrupt.

        A corrupt blob changes nothing: its counts are added only once it decoded whole.
        """
        raw = base64.b64decode(encoded, validate=True)
        if len(raw) < EXTERNAL.size:
            raise ValueError("histogram blob too short")
        cookie, length = EXTERNAL.unpack_from(raw)
        if cookie & ~COOKIE_WORD_BITS != COMPRESSION_COOKIE or length != len(raw) - EXTERNAL.size:
            raise ValueError("not a compressed V2 histogram")
        data = zlib.decompress(raw[EXTERNAL.size :])
        if len(data) < PAYLOAD.size:
            raise ValueError("histogram payload too short")
        cookie, _, offset, digits, lowest, highest, _ = PAYLOAD.unpack_from(data)
        if (
            cookie & ~COOKIE_WORD_BITS != ENCODING_COOKIE
            or offset
            or (lowest, highest, digits) != self._layout
        ):
            self._add_other_layout(key, encoded)
            return
        try:
            result = pyhdrh.decode(data, PAYLOAD.size, self._scratch_address, self._counts_len, WORD)
        except BaseException:
            ctypes.memset(self._scratch_address, 0, self._counts_len * WORD)  # it may have written part
            raise
        running = self._running_for(key)
        total, low, high = result["total"], result["min_nonzero_index"], result["max_nonzero_index"]
        if total <= 0 or low < 0:
            return
        at = low * WORD
        pyhdrh.add_array(running.address + at, self._scratch_address + at, high - low + 1, WORD)
        ctypes.memset(self._scratch_address + at, 0, (high - low + 1) * WORD)
        running.note(total, low, high)

    def _running_for(self, key: tuple[str, str]) -> _Running:
        running = self._running.get(key)
        if running is None:
            running = self._running[key] = _Running(self._make())
        return running

    def _add_other_layout(self, key: tuple[str, str], encoded: str | bytes) -> None:
        """hdrh's own decode and add (it re-records each value when the layouts differ)."""
        other = HdrHistogram.decode(encoded)
        target = self._make()
        target.add(other)
        running = self._running_for(key)
        if not target.get_total_count():
            return
        pyhdrh.add_array(running.address, ctypes.addressof(target.counts), self._counts_len, WORD)
        running.note(
            int(target.get_total_count()),
            target.get_counts_array_index(target.get_min_value()),
            target.get_counts_array_index(target.get_max_value()),
        )

    def result(self) -> dict[tuple[str, str], HdrHistogram]:
        return {key: running.finish() for key, running in self._running.items()}
