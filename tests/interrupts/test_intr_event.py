"""The 48-byte gpio_v2_line_event record."""

import struct

import pytest
from rpio_interrupts.event import (
    EDGE_FALLING,
    EDGE_RISING,
    EVENT_SIZE,
    LineEvent,
    decode_events,
    encode_event,
)


def test_layout_is_the_kernels():
    rec = encode_event(0x0102030405060708, EDGE_FALLING, 17, 5, 3)
    assert len(rec) == EVENT_SIZE == 48
    assert struct.unpack_from("=QIIII", rec) == (0x0102030405060708, 2, 17, 5, 3)
    assert rec[24:] == bytes(24)


def test_round_trip_and_properties():
    events = [LineEvent(10, EDGE_RISING, 4, 1, 1), LineEvent(20, EDGE_FALLING, 4, 2, 2)]
    buf = b"".join(encode_event(e.timestamp_ns, e.id, e.offset, e.seqno, e.line_seqno) for e in events)
    assert decode_events(buf) == events
    assert [(e.value, e.edge) for e in events] == [(1, "rising"), (0, "falling")]


def test_only_whole_records_are_decoded():
    buf = encode_event(1, EDGE_RISING, 0) + encode_event(2, EDGE_FALLING, 0)[:47]
    assert [e.timestamp_ns for e in decode_events(buf)] == [1]
    assert decode_events(b"") == []
    assert decode_events(bytearray(encode_event(3, 1, 9)))[0].offset == 9


def test_event_is_frozen_and_id_checked():
    ev = LineEvent(1, EDGE_RISING, 2)
    with pytest.raises(AttributeError):
        ev.timestamp_ns = 5
    with pytest.raises(ValueError, match="rising"):
        encode_event(1, 3, 2)
