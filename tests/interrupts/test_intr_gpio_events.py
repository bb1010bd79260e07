"""The RPi.GPIO 0.7.1 event API (EdgeDetector): exact errors, bouncetime, latch, wait_for_edge."""

from __future__ import annotations

import errno
import logging
import threading
import time

import pytest
from intr_helpers import WAIT, Recorder, Sequence
from rpio_interrupts import EdgeDetector
from rpio_interrupts.gpio_events import BOTH, FALLING, RISING

MS = 1_000_000
BOARD = {11: 17, 12: 18, 13: 27, 15: 22}
INVALID = "The channel sent is invalid on a Raspberry Pi"
INPUT_FIRST = "You must setup() the GPIO channel as an input first"


class Board:
    """What the umbrella supplies: channel -> gpio with RPi.GPIO's errors, and the IN set."""

    def __init__(self, mode="BCM"):
        self.mode = mode
        self.inputs = {17, 22, 27}

    def resolve(self, channel):
        if self.mode is None:
            raise RuntimeError("Please set pin numbering mode using GPIO.setmode(GPIO.BOARD) or "
                               "GPIO.setmode(GPIO.BCM)")
        if self.mode == "BOARD":
            if channel not in BOARD:
                raise ValueError(INVALID)
            return BOARD[channel]
        if not 0 <= channel <= 53:
            raise ValueError(INVALID)
        return channel

    def is_input(self, gpio):
        return gpio in self.inputs


@pytest.fixture
def board():
    return Board()


@pytest.fixture
def det(board, provider):
    d = EdgeDetector(board.resolve, board.is_input, provider)
    yield d
    d.close()


def until(predicate, timeout=WAIT):
    """Wait (bounded) for a state another thread reaches; used where no event can be hooked."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        pause.wait(0.001)


def waiting(det, gpio):
    return lambda: gpio in det._detections and bool(det._detections[gpio].waiters)


# -- argument parsing like the C functions -----------------------------------------------------
@pytest.mark.parametrize("args, kwargs, message", [
    ((), {"channel": 17, "edge": RISING}, "function missing required argument 'gpio' (pos 1)"),
    ((17,), {}, "function missing required argument 'edge' (pos 2)"),
    ((17, RISING, None, 1, 2), {}, "function takes at most 4 arguments (5 given)"),
    ((), {"gpio": 17, "edge": RISING, "callback": print, "bouncetime": 5, "x": 1},
     "function takes at most 4 keyword arguments (5 given)"),
    ((17, RISING), {"foo": 1}, "'foo' is an invalid keyword argument for this function"),
    ((17, RISING), {"gpio": 17}, "argument for function given by name ('gpio') and position (1)"),
    (("17", RISING), {}, "'str' object cannot be interpreted as an integer"),
    ((17, RISING), {"bouncetime": None}, "'NoneType' object cannot be interpreted as an integer"),
    ((17.0, RISING), {}, "'float' object cannot be interpreted as an integer"),
    ((17, RISING), {"callback": None}, "Parameter must be callable"),
    ((99, RISING), {"callback": 42}, "Parameter must be callable"),  # checked before the channel
])
def test_add_event_detect_type_errors(det, args, kwargs, message):
    with pytest.raises(TypeError) as info:
        det.add_event_detect(*args, **kwargs)
    assert str(info.value) == message


def test_c_int_range(det):
    with pytest.raises(OverflowError, match="signed integer is greater than maximum"):
        det.add_event_detect(2**31, RISING)
    with pytest.raises(OverflowError, match="too large to convert to C long"):
        det.add_event_detect(2**70, RISING)


@pytest.mark.parametrize("args, kwargs, exc, message", [
    ((54, RISING), {}, ValueError, INVALID),
    ((54, 99), {"bouncetime": -3}, ValueError, INVALID),          # channel first
    ((18, 99), {}, RuntimeError, INPUT_FIRST),                      # then input, before edge
    ((17, 99), {"bouncetime": 0}, ValueError, "The edge must be set to RISING, FALLING or BOTH"),
    ((17, 30), {}, ValueError, "The edge must be set to RISING, FALLING or BOTH"),
    ((17, RISING), {"bouncetime": 0}, ValueError, "Bouncetime must be greater than 0"),
    ((17, RISING), {"bouncetime": -1}, ValueError, "Bouncetime must be greater than 0"),
])
def test_add_event_detect_value_errors_in_order(det, provider, args, kwargs, exc, message):
    with pytest.raises(exc) as info:
        det.add_event_detect(*args, **kwargs)
    assert type(info.value) is exc and str(info.value) == message
    assert provider.requests == [] and not det.has_detection(17)


def test_no_mode_error_comes_from_resolve(board, det):
    board.mode = None
    with pytest.raises(RuntimeError, match="Please set pin numbering mode"):
        det.add_event_detect(17, RISING)


def test_second_add_conflicts_whatever_the_edge(det, provider):
    det.add_event_detect(17, RISING)
    for edge in (RISING, FALLING, BOTH):
        with pytest.raises(RuntimeError) as info:
            det.add_event_detect(17, edge)
        assert str(info.value) == "Conflicting edge detection already enabled for this GPIO channel"
    assert len(provider.requests) == 1


def test_provider_failure_is_failed_to_add(det, provider):
    provider.fail_next[17] = OSError(errno.EBUSY, "held by 'gpio-keys'")
    with pytest.raises(RuntimeError) as info:
        det.add_event_detect(17, RISING)
    assert str(info.value) == "Failed to add edge detection"
    assert "gpio-keys" in str(info.value.__cause__)
    assert not det.has_detection(17)
    det.add_event_detect(17, RISING)  # and it works once the line is free


def test_add_event_callback_errors(det):
    with pytest.raises(TypeError, match="^Parameter must be callable$"):
        det.add_event_callback(99, None)
    with pytest.raises(TypeError, match=r"^function missing required argument 'callback' \(pos 2\)$"):
        det.add_event_callback(17)
    with pytest.raises(TypeError, match=r"^function takes at most 2 arguments \(3 given\)$"):
        det.add_event_callback(17, print, 5)
    with pytest.raises(ValueError, match=INVALID):
        det.add_event_callback(60, print)
    with pytest.raises(RuntimeError, match=r"^You must setup\(\) the GPIO channel as an input first$"):
        det.add_event_callback(18, print)
    with pytest.raises(RuntimeError) as info:
        det.add_event_callback(17, print)
    assert str(info.value) == "Add event detection using add_event_detect first before adding a callback"


def test_remove_and_event_detected_parse_like_meth_varargs(det):
    det.remove_event_detect(17)  # no detection: no error
    with pytest.raises(TypeError, match=r"^remove_event_detect\(\) takes no keyword arguments$"):
        det.remove_event_detect(channel=17)
    with pytest.raises(TypeError, match=r"^function takes exactly 1 argument \(0 given\)$"):
        det.remove_event_detect()
    with pytest.raises(TypeError, match=r"^event_detected\(\) takes no keyword arguments$"):
        det.event_detected(channel=17)
    with pytest.raises(ValueError, match=INVALID):
        det.remove_event_detect(99)
    assert det.event_detected(17) is False
    assert det.event_detected(18) is False  # no input check, like RPi.GPIO


# -- callbacks, latch, bouncetime --------------------------------------------------------------
def test_callbacks_run_once_per_edge_in_order_on_one_thread(det, provider):
    seq = Sequence()
    det.add_event_detect(17, BOTH, callback=lambda ch: seq.add(("a", ch, threading.current_thread().name)))
    det.add_event_callback(17, lambda ch: seq.add(("b", ch, threading.current_thread().name)))
    det.add_event_callback(gpio=17, callback=lambda ch: seq.add(("c", ch, threading.current_thread().name)))
    provider.rising(17)
    provider.falling(17)
    # RPi.GPIO 0.7.1 would give a,b,c three times per edge; each runs once here
    assert seq.wait_for(6) == [("a", 17, "RPIO-events"), ("b", 17, "RPIO-events"),
                               ("c", 17, "RPIO-events")] * 2
    assert provider.requests == [(17, "both", "as-is", "RPIO")]


def test_board_mode_channel(board, provider):
    board.mode = "BOARD"
    d = EdgeDetector(board.resolve, board.is_input, provider)
    try:
        cb = Recorder()
        d.add_event_detect(11, RISING, cb)
        assert provider.requests[-1][:2] == (17, "rising")
        provider.rising(17)
        assert cb.wait_for(1) == [(11,)]
        assert d.event_detected(11) is True
        with pytest.raises(ValueError, match=INVALID):
            d.add_event_detect(17, RISING)  # a BCM number is not a BOARD pin
    finally:
        d.close()


def test_latch_without_callbacks(det, provider):
    det.add_event_detect(17, FALLING)
    assert det.event_detected(17) is False
    provider.rising(17)  # filtered by the request
    cb = Recorder()
    det.add_event_callback(17, cb)
    provider.falling(17)
    cb.wait_for(1)
    assert det.event_detected(17) is True
    assert det.event_detected(17) is False
    det.remove_event_detect(17)
    assert det.event_detected(17) is False and 17 in provider.released


@pytest.mark.parametrize("gap_ms, bouncetime, expected", [
    (30, 100, [0, 120]),         # RPi.GPIO's own check: five edges 30 ms apart -> 2 callbacks
    (50, 100, [0, 150]),         # exactly 100 ms after the last accepted one is still a bounce
    (10, 5, [0, 10, 20, 30, 40]),
])
def test_bouncetime_on_event_timestamps(det, provider, gap_ms, bouncetime, expected):
    accepted = Sequence()
    # the callback records the timestamp of the edge it was called for
    det.add_event_detect(17, BOTH, lambda ch: accepted.add(det._detections[17].last_ns),
                         bouncetime=bouncetime)
    t0 = 7_000 * MS
    for i in range(5):
        provider.edge(17, i % 2 == 0, ts_ns=t0 + i * gap_ms * MS)
    barrier = t0 + 10_000 * MS  # always accepted, and the last: everything before it was judged
    provider.edge(17, True, ts_ns=barrier)
    got = accepted.wait_for(len(expected) + 1)
    assert got == [t0 + ms * MS for ms in expected] + [barrier]


def test_raising_callback_is_logged_and_the_next_runs(det, provider, caplog):
    caplog.set_level(logging.ERROR, logger="RPIO")
    after = Recorder()

    def bad(ch):
        raise KeyError("oops in event callback")

    det.add_event_detect(17, RISING, bad)
    det.add_event_callback(17, after)
    provider.rising(17)
    provider.rising(17)
    assert after.wait_for(2) == [(17,), (17,)]
    errors = [r for r in caplog.records if r.name == "RPIO.events" and r.exc_info]
    assert len(errors) == 2 and "oops in event callback" in caplog.text


def test_remove_from_inside_a_callback(det, provider):
    removed = threading.Event()

    def cb(ch):
        det.remove_event_detect(ch)
        removed.set()

    det.add_event_detect(17, RISING, cb)
    provider.rising(17)
    assert removed.wait(WAIT)
    assert not det.has_detection(17) and 17 in provider.released
    cb2 = Recorder()
    det.add_event_detect(17, RISING, cb2)  # re-adding afterwards works
    provider.rising(17)
    assert cb2.wait_for(1) == [(17,)]


# -- wait_for_edge ---------------------------------------------------------------------------
@pytest.mark.parametrize("args, kwargs, exc, message", [
    ((), {"gpio": 17, "edge": RISING}, TypeError, "function missing required argument 'channel' (pos 1)"),
    ((17, RISING), {"timeout": None}, TypeError, "'NoneType' object cannot be interpreted as an integer"),
    ((99, RISING), {}, ValueError, INVALID),
    ((18, RISING), {}, RuntimeError, INPUT_FIRST),
    ((17, 5), {"timeout": 0}, ValueError, "The edge must be set to RISING, FALLING or BOTH"),
    ((17, RISING), {"bouncetime": 0, "timeout": 0}, ValueError, "Bouncetime must be greater than 0"),
    ((17, RISING), {"timeout": 0}, ValueError, "Timeout must be greater than 0"),
    ((17, RISING), {"timeout": -5}, ValueError, "Timeout must be greater than 0"),
])
def test_wait_for_edge_errors(det, args, kwargs, exc, message):
    with pytest.raises(exc) as info:
        det.wait_for_edge(*args, **kwargs)
    assert type(info.value) is exc and str(info.value) == message


def test_wait_for_edge_times_out_with_none(det):
    start = time.monotonic()
    assert det.wait_for_edge(17, RISING, timeout=30) is None
    assert time.monotonic() - start >= 0.029


def test_wait_for_edge_returns_the_channel(det, provider):
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("r", det.wait_for_edge(22, FALLING, timeout=5000)))
    t.start()
    until(waiting(det, 22))
    provider.rising(22)  # not the edge it waits for (filtered by the request)
    provider.falling(22)
    t.join(WAIT)
    assert result == {"r": 22}
    assert provider.requests == [(22, "falling", "as-is", "RPIO")]


def test_wait_for_edge_conflicts(det, provider):
    det.add_event_detect(17, RISING, print)
    with pytest.raises(RuntimeError) as info:
        det.wait_for_edge(17, RISING, timeout=10)
    assert str(info.value) == "Conflicting edge detection events already exist for this GPIO channel"
    det.add_event_detect(27, RISING, bouncetime=50)
    with pytest.raises(RuntimeError, match="Conflicting edge detection events already exist"):
        det.wait_for_edge(27, RISING, bouncetime=60, timeout=10)
    assert det.wait_for_edge(27, RISING, bouncetime=50, timeout=10) is None


def test_wait_for_edge_leaves_the_pin_armed(det, provider):
    assert det.wait_for_edge(17, RISING, timeout=5) is None
    assert det.has_detection(17)
    with pytest.raises(RuntimeError, match="Conflicting edge detection already enabled"):
        det.add_event_detect(17, FALLING)
    cb = Recorder()
    det.add_event_detect(17, RISING, cb)  # the same edge takes the armed pin over
    provider.rising(17)
    assert cb.wait_for(1) == [(17,)]
    assert len(provider.requests) == 1


def test_wait_for_edge_overrides_a_callback_free_detection_on_another_edge(det, provider):
    det.add_event_detect(17, RISING)
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("r", det.wait_for_edge(17, FALLING, timeout=5000)))
    t.start()
    until(waiting(det, 17))
    assert [r[1] for r in provider.requests] == ["rising", "falling"]
    provider.falling(17)
    t.join(WAIT)
    assert result == {"r": 17}
    assert det.event_detected(17) is True  # add_event_detect's latch still works


def test_wait_for_edge_bouncetime(det, provider):
    result = Sequence()

    def waiter():
        result.add(det.wait_for_edge(22, BOTH, bouncetime=100, timeout=5000))

    t0 = 3_000 * MS
    t = threading.Thread(target=waiter)
    t.start()
    until(waiting(det, 22))
    provider.rising(22, ts_ns=t0)
    assert result.wait_for(1) == [22]
    t.join(WAIT)
    t = threading.Thread(target=waiter)
    t.start()
    until(waiting(det, 22))
    provider.falling(22, ts_ns=t0 + 50 * MS)   # a bounce of the first edge: ignored
    provider.rising(22, ts_ns=t0 + 150 * MS)
    assert result.wait_for(2) == [22, 22]
    t.join(WAIT)
    assert det._detections[22].last_ns == t0 + 150 * MS


def test_remove_wakes_a_waiter_with_none(det, provider):
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("r", det.wait_for_edge(17, RISING)))
    t.start()
    until(waiting(det, 17))
    det.remove_event_detect(17)
    t.join(WAIT)
    assert result == {"r": None}


# -- cleanup ---------------------------------------------------------------------------------
def test_remove_all_stops_the_thread_and_releases_lines(no_leaks, board, provider):
    d = EdgeDetector(board.resolve, board.is_input, provider)
    cb = Recorder()
    d.add_event_detect(17, RISING, cb)
    d.add_event_detect(22, FALLING)
    provider.rising(17)
    cb.wait_for(1)
    assert any(t.name == "RPIO-events" for t in threading.enumerate())
    d.remove_gpio(22)
    assert provider.released == [22]
    d.remove_all()
    assert sorted(provider.released) == [17, 22]
    assert not d.has_detection(17)
    d.add_event_detect(17, RISING, cb)  # usable again
    provider.rising(17)
    cb.wait_for(2)
    d.close()
    d.close()


def test_concurrent_first_detections_start_one_thread(det, provider):
    start = threading.Barrier(4)
    errors = []

    def add(gpio):
        try:
            start.wait(WAIT)
            det.add_event_detect(gpio, RISING)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(gpio,)) for gpio in (17, 22, 27)]
    for t in threads:
        t.start()
    start.wait(WAIT)
    for t in threads:
        t.join(WAIT)
    assert errors == []
    assert sum(t.name == "RPIO-events" for t in threading.enumerate()) == 1
    for gpio in (17, 22, 27):
        provider.rising(gpio)
    until(lambda: all(det._detections[g].latch for g in (17, 22, 27)))
