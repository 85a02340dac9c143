"""When each line of a streamed reply reached this machine, not when this process got round to it.

A process that reads hundreds of streams at once reads each line some time after it arrived: while it
parses another stream's event, records a histogram or collects garbage, the bytes wait in the socket.
Stamping a token with the clock at read time puts that wait into TTFT and ITL. On Linux the kernel
stamps every TCP segment as it arrives (`SO_TIMESTAMPNS`, wall clock in nanoseconds) and hands the
stamp over with the bytes (`recvmsg`), so a line gets the arrival time of the segment that completed
it, however late it is read (bench/llm_streams.py measures both ways).

Where the kernel gives no stamp (not Linux, a TLS socket: its bytes are decrypted in user space) a
line gets the clock when it was read, as before. `KernelTimes.kernel` says which is in use.
"""

from __future__ import annotations

import socket
import struct
import sys
import time
from typing import Any

SO_TIMESTAMPNS: int | None = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform == "linux" else None)
"""Python names the option from 3.13 on; 35 is its number on Linux (asm-generic/socket.h)."""
_TIMESPEC = struct.Struct("@qq")
"""struct timespec on 64-bit Linux: seconds and nanoseconds, two native longs."""
_ANCILLARY = socket.CMSG_SPACE(_TIMESPEC.size) if hasattr(socket, "CMSG_SPACE") else 0
READ_BLOCK = 4096


class KernelTimes:
    """Reads a geventhttpclient streaming response line by line, with each line's arrival time.

    It drives the response's own parser (`feed`, its body buffer), so chunked encoding and the end
    of the message are handled as geventhttpclient handles them; only the socket read differs.
    """

    def __init__(self, response: Any) -> None:
        self.response = response
        self.kernel = _enable(getattr(response, "_sock", None))
        self.stamp = time.time()
        """The arrival of the newest bytes read; bytes buffered with the headers arrived by now."""

    def readline(self, sep: bytes = b"\n") -> tuple[bytes, float]:
        """The next line (with its separator) and when it arrived; (b"", time) at the end of the body."""
        if not self.kernel:
            line = self.response.readline(sep)
            return line, time.time()
        buffer: bytearray = self.response._body_buffer
        while True:
            cut = buffer.find(sep)
            if cut >= 0:
                line = bytes(buffer[: cut + len(sep)])
                del buffer[: cut + len(sep)]
                return line, self.stamp
            sock = self.response._sock
            if self.response.message_complete or sock is None:
                return b"", self.stamp
            try:
                data, ancillary, _flags, _address = sock.recvmsg(READ_BLOCK, _ANCILLARY)
                self.stamp = _arrival(ancillary)
                self.response.feed(data)
            except BaseException:
                self.response.release()
                raise


def _enable(sock: Any) -> bool:
    """Ask the kernel to stamp this socket's segments; False where it cannot (then: read time)."""
    if SO_TIMESTAMPNS is None or not _ANCILLARY or sock is None or not hasattr(sock, "recvmsg"):
        return False
    if getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6):
        return False
    if hasattr(sock, "getpeercert"):  # TLS (the standard library's or gevent's): decrypted in user space
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


def _arrival(ancillary: list[tuple[int, int, bytes]]) -> float:
    """The kernel's stamp of the newest segment read, in epoch seconds; the clock when none came."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            seconds, nanoseconds = _TIMESPEC.unpack_from(data)
            return float(seconds + nanoseconds / 1e9)
    return time.time()
