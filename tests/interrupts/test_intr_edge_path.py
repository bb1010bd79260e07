"""The per-edge path of the loop and of RPIO.aio's streams: batches of records read at once,
callbacks that raise in the middle of a batch, lost edges (seqno gaps) counted and said once."""

from __future__ import annotations

import asyncio
import logging

import pytest
from intr_helpers import WAIT, Recorder
from rpio_interrupts import Interruptor, aio, uapi
from rpio_interrupts.event import EDGE_FALLING, EDGE_RISING, encode_event


def records(gpio: int, seqnos, start_ts: int = 1_000_000) -> bytes:
    return b"".join(encode_event(start_ts + s, EDGE_RISING if s % 2 else EDGE_FALLING, gpio, s, s)
                    for s in seqnos)


@pytest.mark.parametrize("with_event", [False, True])
def test_a_batch_of_records_reaches_the_callback_in_order(running, provider, with_event):
    got = Recorder()
    running.add_interrupt_callback(5, got, with_event=with_event)
    provider.write(5, records(5, range(1, 301)))  # one write: read and dispatched as a batch
    calls = got.wait_for(300)
    assert [c[1] for c in calls] == [1, 0] * 150
    if with_event:
        assert [c[2].seqno for c in calls] == list(range(1, 301))
        assert all(c[2].offset == 5 and c[2].value == c[1] for c in calls)
    assert running.lost_events() == {}


@pytest.mark.parametrize("with_event", [False, True])
def test_a_callback_raising_mid_batch_does_not_lose_the_rest_of_the_batch(running, provider, caplog,
                                                                          with_event):
    caplog.set_level(logging.ERROR, logger="RPIO")
    seen = Recorder()

    def cb(gpio, value, event=None):
        seen(value)
        if len(seen.calls) == 2:
            raise RuntimeError("boom")

    running.add_interrupt_callback(6, cb, with_event=with_event)
    provider.write(6, records(6, range(1, 5)))  # one batch: rising, falling, rising, falling
    assert [c[0] for c in seen.wait_for(4)] == [1, 0, 1, 0]
    assert sum("boom" in (r.exc_text or "") or "boom" in str(r.exc_info) for r in caplog.records) == 1


@pytest.mark.parametrize("listeners", ["one", "two"])
def test_gaps_in_seqno_are_counted_and_said_once(running, provider, caplog, listeners):
    caplog.set_level(logging.WARNING, logger="RPIO")
    got = Recorder()
    running.add_interrupt_callback(7, got)
    if listeners == "two":  # the general path (several listeners) counts the same way
        running.add_interrupt_callback(7, Recorder())
    provider.write(7, records(7, [1, 2, 3, 8, 9]))  # 4..7 dropped by the "kernel"
    got.wait_for(5)
    assert running.lost_events() == {7: 4}
    provider.write(7, records(7, [10, 20]))
    got.wait_for(7)
    assert running.lost_events() == {7: 13}
    lines = [r.getMessage() for r in caplog.records if "lost" in r.getMessage()]
    assert len(lines) == 1 and "gpio 7" in lines[0] and "4 edge(s) lost" in lines[0]
    running.cleanup_interrupts()
    assert running.lost_events() == {}


def test_records_without_a_seqno_are_never_counted_as_lost(running, provider):
    got = Recorder()
    running.add_interrupt_callback(8, got)
    provider.write(8, b"".join(encode_event(1000 + i, EDGE_FALLING, 8) for i in range(5)))
    got.wait_for(5)
    assert running.lost_events() == {}


def test_aio_stream_counts_lost_edges(provider, caplog):
    caplog.set_level(logging.WARNING, logger="RPIO")
    intr = Interruptor(provider)

    async def main():
        async with aio.edges(9, interruptor=intr) as stream:
            provider.write(9, records(9, [1, 2, 5, 6, 7, 10]))
            seqnos = [(await asyncio.wait_for(stream.__anext__(), WAIT)).seqno for _ in range(6)]
            return seqnos, stream.lost

    try:
        seqnos, lost = asyncio.run(main())
    finally:
        intr.cleanup_interrupts()
    assert seqnos == [1, 2, 5, 6, 7, 10] and lost == 4
    assert len([r for r in caplog.records if "lost" in r.getMessage()]) == 1


def test_chardev_provider_asks_for_the_largest_kernel_event_queue():
    assert uapi.MAX_EVENT_BUFFER_SIZE == 1024
    assert uapi.ChardevLineProvider().event_buffer_size == 1024
    assert uapi.ChardevLineProvider(event_buffer_size=16).event_buffer_size == 16
    for bad in (0, 1025, True, 1.0, "16"):
        with pytest.raises(uapi.LineConfigError, match="event_buffer_size"):
            uapi.ChardevLineProvider(event_buffer_size=bad)
