"""The interrupt loop (rpio_interrupts' module-level API) on the real kernel: the
ChardevLineProvider finds a gpio-sim chip labelled pinctrl-bcm2711, edges are driven with the
sim pull, callbacks are collected through queues (waits always have a timeout)."""

from __future__ import annotations

import logging
import queue
import threading
import time

import pytest
import rpio_interrupts as intr
from kernel_helpers import EVENT_TIMEOUT, line_request_fds
from rpio_interrupts import uapi

pytestmark = pytest.mark.gpiosim

GPIO = 17


@pytest.fixture
def pi(sim):
    """A 54-line chip labelled like a Pi 4's, a fresh ChardevLineProvider on the default loop,
    and the loop cleaned up (lines released, thread stopped) after the test."""
    chip = sim(num_lines=54, label="pinctrl-bcm2711", hogs={7: ("spi0 CS1", "output-high")})
    provider = uapi.ChardevLineProvider()
    intr.set_line_provider(provider)
    try:
        yield chip
    finally:
        intr.cleanup_interrupts()
        intr.set_line_provider(None)


def recorder():
    """(callback, queue): the callback puts its arguments (and the call's CLOCK_MONOTONIC time)."""
    q: queue.Queue = queue.Queue()

    def callback(*args):
        q.put((*args, time.monotonic_ns()))

    return callback, q


def take(q, count):
    out = []
    for _ in range(count):
        try:
            out.append(q.get(timeout=EVENT_TIMEOUT))
        except queue.Empty:
            pytest.fail(f"only {len(out)} of {count} callbacks arrived within {EVENT_TIMEOUT} s: {out}")
    return out


def assert_quiet(q, window=0.2):
    try:
        extra = q.get(timeout=window)
    except queue.Empty:
        return
    pytest.fail(f"unexpected callback {extra}")


def test_callbacks_get_gpio_value_and_event_timestamps(pi):
    pi.set_pull(GPIO, "pull-down")
    plain, q_plain = recorder()
    stamped, q_stamped = recorder()
    intr.add_interrupt_callback(GPIO, plain, edge="both", pull_up_down=intr.PUD_DOWN)
    intr.add_interrupt_callback(GPIO, stamped, edge="rising", pull_up_down=intr.PUD_DOWN, with_event=True)
    with uapi.Chip(pi.dev_path) as chip:
        info = chip.line_info(GPIO)
    assert (info.used, info.consumer, info.edge, info.bias) == (True, "RPIO", "both", "pull-down")
    intr.wait_for_interrupts(threaded=True)
    before = time.monotonic_ns()
    pi.set_pull(GPIO, "pull-up")
    (gpio, value, called_ns), = take(q_plain, 1)
    assert (gpio, value) == (GPIO, 1)
    (gpio, value, event, stamped_ns), = take(q_stamped, 1)
    assert (gpio, value, event.id, event.offset, event.seqno) == (GPIO, 1, 1, GPIO, 1)
    assert before <= event.timestamp_ns <= called_ns and event.timestamp_ns <= stamped_ns
    pi.set_pull(GPIO, "pull-down")
    assert [c[:2] for c in take(q_plain, 1)] == [(GPIO, 0)]
    assert_quiet(q_stamped)  # it asked for rising edges only


def test_pull_up_down_sets_the_bias(pi):
    cb, _ = recorder()
    with uapi.Chip(pi.dev_path) as chip:
        for pud, bias, level in ((intr.PUD_UP, "pull-up", 1), (intr.PUD_DOWN, "pull-down", 0), (intr.PUD_OFF, "disabled", 0)):
            intr.add_interrupt_callback(GPIO, cb, pull_up_down=pud)
            assert chip.line_info(GPIO).bias == bias
            if bias != "disabled":
                assert pi.get_pull(GPIO) == bias and pi.get_value(GPIO) == level
            intr.del_interrupt_callback(GPIO)
            assert not chip.line_info(GPIO).used


def test_threaded_callbacks_keep_the_order_per_pin(pi):
    pi.set_pull(GPIO, "pull-down")
    cb, q = recorder()
    intr.add_interrupt_callback(GPIO, cb, threaded_callback=True, pull_up_down=intr.PUD_DOWN)
    intr.wait_for_interrupts(threaded=True)
    values = []
    for pull in ("pull-up", "pull-down") * 3:
        pi.set_pull(GPIO, pull)
        _, value, _ = take(q, 1)[0]
        values.append(value)
        assert threading.current_thread().name == "MainThread"
    assert values == [1, 0] * 3


def test_debounce_timeout_counts_from_the_last_callback_on_event_timestamps(pi):
    debounce_ms = 100
    pi.set_pull(GPIO, "pull-down")
    debounced, q_deb = recorder()
    witness, q_all = recorder()
    # the debounced callback is registered first, so it has run for an edge before the witness sees it
    intr.add_interrupt_callback(GPIO, debounced, pull_up_down=intr.PUD_DOWN, debounce_timeout_ms=debounce_ms, with_event=True)
    intr.add_interrupt_callback(GPIO, witness, pull_up_down=intr.PUD_DOWN, with_event=True)
    intr.wait_for_interrupts(threaded=True)
    events = []
    pulls = ("pull-up", "pull-down")
    deadline = time.monotonic() + 4 * EVENT_TIMEOUT
    while q_deb.qsize() < 3 and time.monotonic() < deadline:  # edges until three got through
        pi.set_pull(GPIO, pulls[len(events) % 2])
        events.append(take(q_all, 1)[0][2])
    delivered = [q_deb.get_nowait()[2] for _ in range(q_deb.qsize())]
    assert len(delivered) == 3, f"three debounced calls expected over {len(events)} edges"
    assert delivered[0] == events[0]
    last = None
    for e in events:
        if e in delivered:
            assert last is None or e.timestamp_ns - last >= debounce_ms * 1_000_000
            last = e.timestamp_ns
        else:
            assert e.timestamp_ns - last < debounce_ms * 1_000_000, "suppressed although the period had passed"
    assert len(events) > 3, "edges within the period were suppressed"


def test_busy_line_raises_and_leaves_the_state_unchanged(pi):
    cb, q = recorder()
    intr.add_interrupt_callback(GPIO, cb, pull_up_down=intr.PUD_DOWN)
    before = intr.default_interruptor().interrupt_callbacks()
    fds = line_request_fds()
    with pytest.raises(uapi.LineBusyError) as e:  # held by the kernel (a hog, like an SPI chip select)
        intr.add_interrupt_callback(7, cb)
    assert "GPIO 7 is busy: held by 'spi0 CS1', the kernel" in str(e.value)
    with (
        uapi.request_lines(pi.dev_path, [5], consumer="someone-else"),
        pytest.raises(uapi.LineBusyError, match="GPIO 5 is busy: held by 'someone-else', a line request of this process"),
    ):
        intr.add_interrupt_callback(5, cb)
    assert intr.default_interruptor().interrupt_callbacks() == before
    assert line_request_fds() == fds
    intr.wait_for_interrupts(threaded=True)  # the registered pin still works
    pi.set_pull(GPIO, "pull-up")
    assert take(q, 1)[0][:2] == (GPIO, 1)


def test_lines_are_released_on_del_and_on_cleanup(pi):
    cb, _ = recorder()
    with uapi.Chip(pi.dev_path) as chip:
        intr.add_interrupt_callback(GPIO, cb)
        intr.add_interrupt_callback(4, cb, edge="falling")
        assert chip.line_info(GPIO).used and chip.line_info(4).consumer == "RPIO"
        intr.del_interrupt_callback(GPIO)
        assert not chip.line_info(GPIO).used and chip.line_info(4).used
        intr.wait_for_interrupts(threaded=True)
        assert any(t.name == "RPIO-interrupts" for t in threading.enumerate())
        intr.cleanup_interrupts()
        assert not chip.line_info(4).used
        assert line_request_fds() == set()
        assert not any(t.name == "RPIO-interrupts" for t in threading.enumerate())
        intr.add_interrupt_callback(4, cb)  # usable again after cleanup
        assert chip.line_info(4).used


def _drive_while_blocked(pi, provider, edges):
    """The first callback blocks the loop while ``edges`` more edges are made; returns the seqnos
    the callback got once released, and the loop's lost count, when the two account for every
    event the kernel numbered."""
    intr.set_line_provider(provider)
    gate, entered = threading.Event(), threading.Event()
    got = []

    def cb(gpio, value, event):
        entered.set()
        gate.wait(EVENT_TIMEOUT)  # the kernel queues what comes meanwhile
        got.append(event.seqno)

    intr.add_interrupt_callback(GPIO, cb, with_event=True)
    intr.wait_for_interrupts(threaded=True)
    pi.set_pull(GPIO, "pull-up")
    assert entered.wait(EVENT_TIMEOUT), "no first edge"
    for i in range(edges):
        pi.set_pull(GPIO, "pull-down" if i % 2 == 0 else "pull-up")
    gate.set()
    deadline = time.monotonic() + EVENT_TIMEOUT
    settled = None
    while time.monotonic() < deadline:
        lost = intr.default_interruptor().lost_events().get(GPIO, 0)
        state = (len(got), lost)
        if got and got[-1] == len(got) + lost and state == settled:
            return got, lost
        settled = state if got and got[-1] == len(got) + lost else None
        time.sleep(0.05)
    pytest.fail(f"the callbacks did not settle: {len(got)} calls, last seqno {got[-1:]}, lost {lost}")


def test_the_kernel_queue_holds_edges_while_the_callback_is_busy(pi):
    got, lost = _drive_while_blocked(pi, uapi.ChardevLineProvider(), 300)
    assert lost == 0 and got == list(range(1, len(got) + 1))
    assert len(got) > 17  # more than the kernel's default queue of 16 could have kept


def test_edges_the_kernel_dropped_are_counted_and_said_once(pi, caplog):
    caplog.set_level(logging.WARNING, logger="RPIO")
    got, lost = _drive_while_blocked(pi, uapi.ChardevLineProvider(event_buffer_size=16), 300)
    assert lost > 0 and len(got) <= 1 + 16 + 16
    lines = [r.getMessage() for r in caplog.records if "lost" in r.getMessage()]
    assert len(lines) == 1 and f"gpio {GPIO}" in lines[0]
