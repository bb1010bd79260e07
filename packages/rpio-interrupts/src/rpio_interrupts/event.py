"""The edge event record: ``struct gpio_v2_line_event`` of the Linux GPIO uAPI v2.

Every source of edges (the kernel's GPIO character device, the simulated board)
delivers these 48-byte records on a readable file descriptor. Layout (native
byte order, as the kernel writes it)::

    u64 timestamp_ns   @0   CLOCK_MONOTONIC by default
    u32 id             @8   1 = rising edge, 2 = falling edge
    u32 offset         @12  the line offset on its chip (the gpio number here)
    u32 seqno          @16  sequence number within the request
    u32 line_seqno     @20  sequence number on this line
    u32 padding[6]     @24  zero
"""

from __future__ import annotations

import struct
from typing import NamedTuple

__all__ = [
    "EDGE_FALLING",
    "EDGE_RISING",
    "EVENT_SIZE",
    "LineEvent",
    "decode_events",
    "encode_event",
]

EVENT_SIZE = 48
EDGE_RISING = 1
EDGE_FALLING = 2

_HEAD = struct.Struct("=QIIII")
_PAD = bytes(EVENT_SIZE - _HEAD.size)
assert _HEAD.size == 24


class LineEvent(NamedTuple):
    """One edge event: ``timestamp_ns``, ``id`` (1 rising, 2 falling), ``offset``,
    ``seqno`` and ``line_seqno`` as the kernel reports them.

    Immutable like a frozen dataclass, but a tuple: records decode about three times faster
    (struct.iter_unpack straight into it), which is the per-edge cost of every callback.
    """

    timestamp_ns: int
    id: int
    offset: int
    seqno: int = 0
    line_seqno: int = 0

    @property
    def value(self) -> int:
        """The line level right after the edge: 1 for a rising edge, 0 for a falling one."""
        return 1 if self.id == EDGE_RISING else 0

    @property
    def edge(self) -> str:
        """``'rising'`` or ``'falling'``."""
        return "rising" if self.id == EDGE_RISING else "falling"


_RECORD = struct.Struct(_HEAD.format + f"{EVENT_SIZE - _HEAD.size}x")  # a whole record
assert _RECORD.size == EVENT_SIZE
_make = LineEvent._make


def decode_events(buf: bytes | bytearray | memoryview) -> list[LineEvent]:
    """Decode every whole record in ``buf``; a trailing partial record is ignored."""
    view = memoryview(buf)
    whole = len(view) - len(view) % EVENT_SIZE
    return list(map(_make, _RECORD.iter_unpack(view[:whole])))


def _whole_records(rest: bytes, data: bytes) -> tuple[bytes, bytes]:
    """``(whole records, the partial one left)`` of ``rest + data``: a pipe may split a record
    between reads (the kernel never does), so a reader keeps the tail for its next read."""
    data = rest + data
    whole = len(data) - len(data) % EVENT_SIZE
    return data[:whole], data[whole:]


def encode_event(
    timestamp_ns: int, id: int, offset: int, seqno: int = 0, line_seqno: int = 0
) -> bytes:
    """Build one 48-byte record (the inverse of :func:`decode_events`)."""
    if id not in (EDGE_RISING, EDGE_FALLING):
        raise ValueError(f"event id must be 1 (rising) or 2 (falling), not {id!r}")
    return _HEAD.pack(timestamp_ns, id, offset, seqno, line_seqno) + _PAD
