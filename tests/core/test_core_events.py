"""Edge events of simulated pins: gpio_v2_line_event records on a pipe, as the kernel delivers them."""

from __future__ import annotations

import gc
import os
import select
import struct
import threading

import pytest
import rpio_core as rc

EVENT_SIZE = 48
RISING, FALLING = 1, 2


def read_events(line: rc.SimEventLine) -> list[tuple[int, int, int, int, int]]:
    """Every record available now: (timestamp_ns, id, offset, seqno, line_seqno)."""
    out = []
    fd = line.fileno()
    while select.select([fd], [], [], 0)[0]:
        buf = os.read(fd, EVENT_SIZE * 64)
        assert len(buf) % EVENT_SIZE == 0
        for pos in range(0, len(buf), EVENT_SIZE):
            out.append(struct.unpack_from("=QIIII", buf, pos))
            assert buf[pos + 24:pos + EVENT_SIZE] == bytes(24)  # padding is zero
    return out


def toggle(chip: rc.SimChip, gpio: int, times: int) -> None:
    for _ in range(times):
        chip.drive(gpio, 1)
        chip.drive(gpio, 0)


def test_both_edges_records(chip):
    line = chip.request_events(40)
    assert (line.gpio, line.rising, line.falling, line.closed) == (40, True, True, False)
    chip.drive(40, 0)  # floating 0 -> driven 0: no edge
    toggle(chip, 40, 3)
    events = read_events(line)
    hist = chip.history()
    assert [e[1] for e in events] == [RISING, FALLING] * 3
    assert [e[2] for e in events] == [40] * 6
    assert [e[3] for e in events] == [1, 2, 3, 4, 5, 6]
    assert [e[4] for e in events] == [1, 2, 3, 4, 5, 6]
    assert [e[0] for e in events] == [h.t_ns for h in hist]
    assert line.seqno == 6 and line.dropped == 0
    line.close()


def test_rising_only_and_falling_only(chip):
    rising = chip.request_events(41, rising=True, falling=False)
    falling = chip.request_events(41, rising=False, falling=True)
    toggle(chip, 41, 4)
    r, f = read_events(rising), read_events(falling)
    assert [e[1] for e in r] == [RISING] * 4 and [e[3] for e in r] == [1, 2, 3, 4]
    assert [e[1] for e in f] == [FALLING] * 4 and [e[3] for e in f] == [1, 2, 3, 4]
    assert all(a[0] < b[0] for a, b in zip(r, f))
    with pytest.raises(ValueError, match="rising or falling"):
        chip.request_events(41, rising=False, falling=False)
    with pytest.raises(IndexError):
        chip.request_events(chip.num_gpios())


def test_two_lines_on_one_pin_count_separately(chip):
    a = chip.request_events(42)
    toggle(chip, 42, 1)
    b = chip.request_events(42)
    toggle(chip, 42, 1)
    assert [e[3] for e in read_events(a)] == [1, 2, 3, 4]
    assert [e[3] for e in read_events(b)] == [1, 2]


def test_events_from_outputs_pulls_and_functions(kind, chip, driver):
    line = chip.request_events(20)  # BCM: pulled down at reset; RP1: pad pull-down
    driver.set_function(20, rc.OUTPUT)
    driver.write(20, 1)
    driver.write(20, 0)
    driver.set_function(20, rc.INPUT)
    driver.set_pull(20, rc.PULL_UP)
    driver.set_pull(20, rc.PULL_OFF)  # floats: reads 0, a falling edge
    assert [e[1] for e in read_events(line)] == [RISING, FALLING, RISING, FALLING]
    assert line.get_value() == 0


def test_close_is_idempotent_and_releases(chip):
    line = chip.request_events(7)
    fd = line.fileno()
    assert not os.get_inheritable(fd)  # O_CLOEXEC
    assert os.get_blocking(fd)  # the read end blocks, like a line request's fd
    line.close()
    line.close()
    assert line.closed
    with pytest.raises(ValueError, match="closed"):
        line.fileno()
    with pytest.raises(OSError):
        os.fstat(fd)
    chip.drive(7, 0)  # nobody listens any more: nothing breaks
    assert line.seqno == 0
    assert line.get_value() == 0
    assert "closed" in repr(line)


def test_context_manager_closes(chip):
    with chip.request_events(45) as line:
        chip.drive(45, 1)
        assert len(read_events(line)) == 1
    assert line.closed


def test_full_pipe_drops_and_counts(chip):
    chip.history_capacity = 0
    line = chip.request_events(43)
    edges = 3000  # more than a 64 KiB pipe holds (1365 records)
    for i in range(edges):
        chip.drive(43, i % 2 == 0)
    delivered = read_events(line)
    assert line.seqno == edges
    assert line.dropped == edges - len(delivered) > 0
    assert [e[3] for e in delivered] == list(range(1, len(delivered) + 1))
    chip.drive(43, 1)  # room again: delivered, seqno shows the gap
    last = read_events(line)
    assert len(last) == 1 and last[0][3] == edges + 1


def test_blocking_reader_wakes_on_edge(chip):
    line = chip.request_events(44)
    got: list[bytes] = []
    started = threading.Event()

    def reader() -> None:
        started.set()
        got.append(os.read(line.fileno(), EVENT_SIZE))

    t = threading.Thread(target=reader)
    t.start()
    assert started.wait(5)
    chip.drive(44, 1)
    t.join(5)
    assert not t.is_alive()
    assert struct.unpack_from("=QIIII", got[0])[1:] == (RISING, 44, 1, 1)


def test_line_outlives_its_chip(kind):
    chip = rc.sim_chip(kind)
    line = chip.request_events(5)
    chip.drive(5, 1)
    del chip
    gc.collect()
    assert line.get_value() == 1
    # BCM gpio 5 was already high (reset pull-up); RP1 bank 0 resets pulled down: one edge.
    assert len(read_events(line)) == (1 if kind == "rp1" else 0)
    line.close()
