"""GPIO interrupt callbacks on the loop, with the pipe-backed test provider."""

from __future__ import annotations

import errno
import logging
import os
import threading
import time

import pytest
import rpio_interrupts
from intr_helpers import WAIT, Recorder, Sequence
from rpio_interrupts import (
    PUD_DOWN,
    PUD_OFF,
    PUD_UP,
    ConflictError,
    InterruptError,
    Interruptor,
    InvalidCallbackError,
    InvalidChannelError,
    InvalidEdgeError,
    InvalidPullError,
    LineEvent,
    LoopRunningError,
    NotRegisteredError,
)
from rpio_interrupts.event import EDGE_FALLING, EDGE_RISING, encode_event

MS = 1_000_000


# -- basics -----------------------------------------------------------------------------------
def test_callback_gets_gpio_and_value_from_the_event(running, provider):
    cb = Recorder()
    running.add_interrupt_callback(17, cb)
    assert provider.requests == [(17, "both", "disabled", "RPIO")]
    provider.rising(17)
    provider.falling(17)
    provider.rising(17)
    assert cb.wait_for(3) == [(17, 1), (17, 0), (17, 1)]
    assert set(cb.threads) == {"RPIO-interrupts"}


def test_value_comes_from_the_event_not_from_reading_the_level(running, provider):
    cb = Recorder()
    running.add_interrupt_callback(4, cb)
    provider.levels[4] = 0  # the pin already reads low again when the callback runs
    provider.write(4, encode_event(provider.now(), EDGE_RISING, 4, 1, 1))
    assert cb.wait_for(1) == [(4, 1)]


@pytest.mark.parametrize("edge, requested, ids, expected", [
    ("rising", "rising", [1, 2, 1], [1, 1]),
    ("FALLING", "falling", [1, 2, 1, 2], [0, 0]),
    ("Both", "both", [1, 2], [1, 0]),
    (rpio_interrupts.RISING, "rising", [2, 1], [1]),
])
def test_edge_is_filtered_by_the_request(running, provider, edge, requested, ids, expected):
    cb = Recorder()
    running.add_interrupt_callback(5, cb, edge=edge)
    assert provider.requests[-1][1] == requested
    for event_id in ids:
        provider.edge(5, event_id == EDGE_RISING)
    got = cb.wait_for(len(expected))
    # one more edge the callback wants, as a barrier: nothing filtered slipped in before it
    provider.edge(5, expected[0] == 1)
    got = cb.wait_for(len(expected) + 1)
    assert [v for _, v in got] == expected + [expected[0]]


def test_pull_maps_to_bias(loop, provider):
    loop.add_interrupt_callback(1, Recorder(), pull_up_down=PUD_UP)
    loop.add_interrupt_callback(2, Recorder(), pull_up_down=PUD_DOWN)
    loop.add_interrupt_callback(3, Recorder(), pull_up_down=PUD_OFF)
    assert [r[2] for r in provider.requests] == ["pull-up", "pull-down", "disabled"]
    assert (PUD_OFF, PUD_DOWN, PUD_UP) == (20, 21, 22)


def test_many_records_in_one_read_and_records_split_across_writes(running, provider):
    cb = Recorder()
    running.add_interrupt_callback(6, cb)
    burst = b"".join(provider.record(6, EDGE_RISING if i % 2 == 0 else EDGE_FALLING) for i in range(150))
    provider.write(6, burst)  # more than one read's worth, in one write
    assert [v for _, v in cb.wait_for(150)] == [1, 0] * 75
    rec = provider.record(6, EDGE_RISING, 42)
    provider.write(6, rec[:20])
    provider.write(6, rec[20:])
    assert cb.wait_for(151)[-1] == (6, 1)


def test_with_event_passes_the_line_event(running, provider):
    cb = Recorder()
    running.add_interrupt_callback(8, cb, with_event=True)
    provider.rising(8, ts_ns=123_456_789)
    ((gpio, value, event),) = cb.wait_for(1)
    assert (gpio, value) == (8, 1)
    assert isinstance(event, LineEvent)
    assert (event.timestamp_ns, event.id, event.offset, event.seqno) == (123_456_789, 1, 8, 1)


def test_board_style_mapper_callback_gets_the_registered_channel(provider):
    board = {11: 17, 12: 18}

    def mapper(channel):
        if channel not in board:
            raise InvalidChannelError(f"The channel sent is invalid: {channel}")
        return board[channel]

    with Interruptor(provider, channel_mapper=mapper) as intr:
        cb = Recorder()
        intr.add_interrupt_callback(11, cb)
        assert provider.requests[-1][0] == 17
        with pytest.raises(InvalidChannelError):
            intr.add_interrupt_callback(3, cb)
        intr.wait_for_interrupts(threaded=True)
        provider.rising(17)
        assert cb.wait_for(1) == [(11, 1)]
        intr.del_interrupt_callback(11)
        assert 17 in provider.released


# -- several callbacks on one pin --------------------------------------------------------------
def test_several_callbacks_each_once_per_edge_in_registration_order(running, provider):
    seq = Sequence()
    for name in "abc":
        running.add_interrupt_callback(9, lambda g, v, name=name: seq.add((name, v)))
    assert len(provider.requests) == 1  # one line request per pin
    provider.rising(9)
    provider.falling(9)
    assert seq.wait_for(6) == [("a", 1), ("b", 1), ("c", 1), ("a", 0), ("b", 0), ("c", 0)]


def test_second_edge_widens_the_request_and_each_callback_keeps_its_edge(running, provider):
    rising, falling = Recorder("rising"), Recorder("falling")
    running.add_interrupt_callback(10, rising, edge="rising")
    running.add_interrupt_callback(10, falling, edge="falling")
    assert [r[1] for r in provider.requests] == ["rising", "both"]
    assert provider.released == [10]
    for _ in range(2):
        provider.rising(10)
        provider.falling(10)
    assert rising.wait_for(2) == [(10, 1), (10, 1)]
    assert falling.wait_for(2) == [(10, 0), (10, 0)]


def test_a_different_pull_on_the_same_pin_is_refused_and_nothing_changes(loop, provider):
    first = Recorder()
    loop.add_interrupt_callback(11, first, pull_up_down=PUD_UP)
    with pytest.raises(ConflictError, match="pull") as info:
        loop.add_interrupt_callback(11, Recorder(), pull_up_down=PUD_DOWN)
    assert isinstance(info.value, ValueError) and isinstance(info.value, AttributeError)
    assert provider.requests == [(11, "both", "pull-up", "RPIO")]
    assert loop.interrupt_callbacks() == {11: [first]}


# -- debounce on event timestamps ---------------------------------------------------------------
def test_debounce_on_event_timestamps(running, provider):
    cb = Recorder()
    running.add_interrupt_callback(12, cb, debounce_timeout_ms=100)
    t0 = 5_000 * MS
    for offset_ms in (0, 30, 60, 99, 100, 150, 199, 250, 1000):
        provider.edge(12, offset_ms % 20 == 0, ts_ns=t0 + offset_ms * MS)
    # accepted: 0 (the first), 100 (100 ms after 0), 250 (150 ms after 100), 1000 (the barrier);
    # everything else came less than 100 ms after the last accepted edge
    assert cb.wait_for(4) == [(12, 1), (12, 1), (12, 0), (12, 1)]
    provider.edge(12, False, ts_ns=t0 + 1099 * MS)
    provider.edge(12, True, ts_ns=t0 + 1100 * MS)
    assert cb.wait_for(5)[-1] == (12, 1)
    assert len(cb.calls) == 5


def test_debounce_is_per_registration(running, provider):
    plain, debounced = Recorder("plain"), Recorder("debounced")
    running.add_interrupt_callback(14, plain)
    running.add_interrupt_callback(14, debounced, debounce_timeout_ms=50)
    for i in range(5):
        provider.edge(14, i % 2 == 0, ts_ns=10**9 + i * 10 * MS)
    provider.edge(14, False, ts_ns=10**9 + 100 * MS)  # barrier, 100 ms after the first
    assert len(plain.wait_for(6)) == 6
    assert debounced.wait_for(2) == [(14, 1), (14, 0)]
    assert len(debounced.calls) == 2


# -- threaded callbacks ---------------------------------------------------------------------------
def test_threaded_callbacks_keep_order_per_pin_on_a_bounded_pool(provider):
    with Interruptor(provider, max_workers=3) as intr:
        seqs = {gpio: Sequence() for gpio in (20, 21, 22, 23)}

        def make(gpio):
            def cb(g, v, event):
                if event.seqno % 7 == 0:
                    time.sleep(0.001)  # uneven work, so workers interleave
                seqs[gpio].add(event.seqno)
            return cb

        for gpio in seqs:
            intr.add_interrupt_callback(gpio, make(gpio), threaded_callback=True, with_event=True)
        intr.wait_for_interrupts(threaded=True)
        for i in range(100):
            for gpio in seqs:
                provider.edge(gpio, i % 2 == 0)
        for gpio, seq in seqs.items():
            assert seq.wait_for(100) == list(range(1, 101)), gpio
        workers = [t for t in threading.enumerate() if t.name.startswith("RPIO-callback")]
        assert 1 <= len(workers) <= 3
        intr.stop_waiting_for_interrupts()
        assert not [t for t in threading.enumerate() if t.name.startswith("RPIO-callback")]


def test_threaded_callback_does_not_block_the_loop(running, provider):
    release = threading.Event()
    slow = Recorder("slow", action=lambda *a: release.wait(WAIT))
    fast = Recorder("fast")
    running.add_interrupt_callback(24, slow, threaded_callback=True)
    running.add_interrupt_callback(25, fast)
    provider.rising(24)
    slow.wait_for(1)
    provider.rising(25)
    assert fast.wait_for(1) == [(25, 1)]  # served while the slow callback still runs
    release.set()


def test_plain_callback_blocks_dispatch_until_it_returns(running, provider):
    release = threading.Event()
    seq = Sequence()

    def slow(g, v):
        seq.add("slow-start")
        release.wait(WAIT)
        seq.add("slow-end")

    running.add_interrupt_callback(26, slow)
    running.add_interrupt_callback(27, lambda g, v: seq.add("other"))
    provider.rising(26)
    seq.wait_for(1)
    provider.rising(27)
    release.set()
    assert seq.wait_for(3) == ["slow-start", "slow-end", "other"]


# -- errors in callbacks ------------------------------------------------------------------------
@pytest.mark.parametrize("threaded", [False, True])
def test_raising_callback_is_logged_with_traceback_and_the_loop_goes_on(running, provider, caplog, threaded):
    caplog.set_level(logging.ERROR, logger="RPIO")

    def bad(gpio, value):
        raise ZeroDivisionError("boom in callback")

    after = Recorder()
    running.add_interrupt_callback(28, bad, threaded_callback=threaded)
    running.add_interrupt_callback(28, after, threaded_callback=threaded)
    provider.rising(28)
    provider.falling(28)
    assert after.wait_for(2) == [(28, 1), (28, 0)]
    deadline = time.monotonic() + WAIT
    while sum(1 for r in caplog.records if r.exc_info) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)  # log records of a worker thread land asynchronously
    errors = [r for r in caplog.records if r.exc_info and r.name.startswith("RPIO")]
    assert len(errors) == 2
    assert "boom in callback" in caplog.text and "Traceback" in caplog.text
    assert running.running


# -- argument errors leave everything unchanged --------------------------------------------------
@pytest.mark.parametrize("kwargs, exc, text", [
    ({"gpio_id": -1}, InvalidChannelError, "negative"),
    ({"gpio_id": "7"}, InvalidChannelError, "int"),
    ({"edge": "up"}, InvalidEdgeError, "'rising', 'falling' or 'both'"),
    ({"edge": None}, InvalidEdgeError, "edge"),
    ({"pull_up_down": 2}, InvalidPullError, "PUD_OFF"),
    ({"pull_up_down": "up"}, InvalidPullError, "PUD_UP"),
    ({"callback": None}, InvalidCallbackError, "callable"),
    ({"debounce_timeout_ms": -5}, ValueError, "debounce"),
    ({"debounce_timeout_ms": "10"}, ValueError, "debounce"),
])
def test_bad_arguments_raise_clear_errors_and_change_nothing(loop, provider, kwargs, exc, text):
    existing = Recorder()
    loop.add_interrupt_callback(7, existing)
    args = {"gpio_id": 7, "callback": Recorder(), "edge": "both", "pull_up_down": PUD_OFF}
    args.update(kwargs)
    with pytest.raises(exc, match=text) as info:
        loop.add_interrupt_callback(**args)
    err = info.value
    assert isinstance(err, InterruptError) and isinstance(err, AttributeError)
    assert isinstance(err, (ValueError, TypeError))
    assert loop.interrupt_callbacks() == {7: [existing]}
    assert len(provider.requests) == 1


def test_busy_line_propagates_and_leaves_no_trace(loop, provider):
    provider.fail_next[30] = OSError(errno.EBUSY, "gpio 30 is held by 'spi0 CS0'")
    with pytest.raises(OSError, match="spi0") as info:
        loop.add_interrupt_callback(30, Recorder())
    assert info.value.errno == errno.EBUSY
    assert loop.interrupt_callbacks() == {}
    provider.fail_next[30] = PermissionError(errno.EACCES, "no access to /dev/gpiochip0: join group gpio")
    with pytest.raises(PermissionError, match="group gpio"):
        loop.add_interrupt_callback(30, Recorder())
    cb = Recorder()
    loop.add_interrupt_callback(30, cb)  # works once the line is free
    assert loop.interrupt_callbacks() == {30: [cb]}


def test_failed_widening_restores_the_previous_request(running, provider):
    first = Recorder()
    running.add_interrupt_callback(31, first, edge="rising")
    provider.fail_next[31] = OSError(errno.EBUSY, "grabbed meanwhile")
    with pytest.raises(OSError, match="grabbed"):
        running.add_interrupt_callback(31, Recorder(), edge="falling")
    assert provider.requests[-1][:2] == (31, "rising")
    assert running.interrupt_callbacks() == {31: [first]}
    provider.rising(31)
    assert first.wait_for(1) == [(31, 1)]


def test_del_interrupt_callback(loop, provider):
    loop.add_interrupt_callback(15, Recorder())
    loop.add_interrupt_callback(15, Recorder())
    loop.del_interrupt_callback(15)
    assert provider.released == [15] and loop.interrupt_callbacks() == {}
    with pytest.raises(NotRegisteredError, match="gpio 15") as info:
        loop.del_interrupt_callback(15)
    assert isinstance(info.value, KeyError)


def test_source_hang_up_does_not_spin_the_loop(running, provider, caplog):
    caplog.set_level(logging.WARNING, logger="RPIO")
    cb, other = Recorder(), Recorder()
    running.add_interrupt_callback(16, cb)
    running.add_interrupt_callback(18, other)
    provider.hang_up(16)
    provider.rising(18)
    assert other.wait_for(1) == [(18, 1)]
    deadline = time.monotonic() + WAIT
    while "event source was closed" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "gpio 16" in caplog.text
    cpu0 = time.process_time()
    provider.rising(18)
    other.wait_for(2)
    time.sleep(0.2)  # a spinning loop would burn ~0.2 s of CPU here
    assert time.process_time() - cpu0 < 0.1
    running.del_interrupt_callback(16)


# -- the loop's life -------------------------------------------------------------------------
def test_blocking_loop_stops_from_another_thread_immediately(loop, provider):
    cb = Recorder()
    loop.add_interrupt_callback(3, cb)
    result = {}

    def run():
        loop.wait_for_interrupts(epoll_timeout=3600)
        result["returned"] = True

    t = threading.Thread(target=run)
    t.start()
    provider.rising(3)
    cb.wait_for(1)
    start = time.monotonic()
    loop.stop_waiting_for_interrupts()
    t.join(WAIT)
    assert result == {"returned": True}
    assert time.monotonic() - start < 1.0  # woken by the eventfd, not by the hour-long timeout


def test_stop_from_a_callback_and_restart(loop, provider):
    seen = Recorder()

    def cb(gpio, value):
        seen(gpio, value)
        loop.stop_waiting_for_interrupts()

    loop.add_interrupt_callback(2, cb)
    provider.rising(2)
    loop.wait_for_interrupts()  # returns because the callback stops it
    assert seen.calls == [(2, 1)]
    provider.falling(2)  # queued while stopped
    loop.wait_for_interrupts()  # restart: the queued edge is delivered, then it stops again
    assert seen.calls == [(2, 1), (2, 0)]


def test_threaded_loop_start_stop_restart(loop, provider):
    cb = Recorder()
    loop.add_interrupt_callback(19, cb)
    for round_ in range(3):
        loop.wait_for_interrupts(threaded=True)
        assert loop.running
        with pytest.raises(LoopRunningError):
            loop.wait_for_interrupts(threaded=True)
        provider.rising(19)
        cb.wait_for(round_ + 1)
        loop.stop_waiting_for_interrupts()
        assert not loop.running
        assert not [t for t in threading.enumerate() if t.name == "RPIO-interrupts"]
    loop.stop_waiting_for_interrupts()  # stopping a stopped loop is fine


def test_bad_epoll_timeout(loop):
    for bad in (0, -2, "1", float("nan")):
        with pytest.raises(ValueError, match="epoll_timeout"):
            loop.wait_for_interrupts(epoll_timeout=bad)
    assert not loop.running


def test_no_fd_or_thread_leaks_after_stop_and_cleanup(no_leaks, provider):
    intr = Interruptor(provider, max_workers=2)
    cb = Recorder()
    for gpio in (1, 2, 3):
        intr.add_interrupt_callback(gpio, cb, threaded_callback=gpio == 2)
    port = intr.add_tcp_callback(0, lambda s, m: s.send(m))
    import socket
    client = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    intr.wait_for_interrupts(threaded=True)
    client.sendall(b"hi")
    assert client.recv(10) == b"hi"
    for gpio in (1, 2, 3):
        provider.rising(gpio)
    cb.wait_for(3)
    intr.stop_waiting_for_interrupts()
    intr.wait_for_interrupts(threaded=True)
    intr.cleanup_interrupts()
    intr.cleanup_interrupts()  # idempotent
    client.close()
    assert sorted(provider.released) == [1, 2, 3]
    # usable again after cleanup, then cleaned again
    intr.add_interrupt_callback(4, cb)
    intr.wait_for_interrupts(threaded=True)
    provider.rising(4)
    cb.wait_for(4)
    intr.cleanup_interrupts()


def test_cleanup_from_inside_a_callback(no_leaks, provider):
    intr = Interruptor(provider)
    done = threading.Event()

    def cb(gpio, value):
        intr.cleanup_interrupts()
        done.set()

    intr.add_interrupt_callback(5, cb)
    provider.rising(5)
    intr.wait_for_interrupts()
    assert done.is_set() and provider.released == [5]
    intr.cleanup_interrupts()


def test_module_level_functions_use_one_default_instance(provider):
    rpio_interrupts.set_line_provider(provider)
    try:
        cb = Recorder()
        rpio_interrupts.add_interrupt_callback(21, cb)
        assert rpio_interrupts.default_interruptor().interrupt_callbacks() == {21: [cb]}
        rpio_interrupts.wait_for_interrupts(threaded=True)
        provider.falling(21)
        assert cb.wait_for(1) == [(21, 0)]
        rpio_interrupts.stop_waiting_for_interrupts()
    finally:
        rpio_interrupts.cleanup_interrupts()
        rpio_interrupts.set_line_provider(None)
    assert provider.released == [21]


def test_import_does_no_work():
    import subprocess
    import sys
    code = ("import os, threading; before = len(os.listdir('/proc/self/fd')); "
            "import rpio_interrupts; "
            "assert len(os.listdir('/proc/self/fd')) == before, 'fds opened at import'; "
            "assert threading.active_count() == 1, 'threads started at import'; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert out.stdout.strip() == "ok", out.stderr


def test_interpreter_exit_stops_a_threaded_loop_and_releases_everything(tmp_path):
    import subprocess
    import sys
    script = tmp_path / "exit.py"
    script.write_text(
        "import os, sys, socket\n"
        "sys.path.insert(0, %r)\n"
        "from intr_helpers import PipeProvider\n"
        "import rpio_interrupts as intr\n"
        "prov = PipeProvider()\n"
        "intr.set_line_provider(prov)\n"
        "intr.add_interrupt_callback(4, lambda g, v: None, threaded_callback=True)\n"
        "port = intr.add_tcp_callback(0, lambda s, m: s.send(m))\n"
        "c = socket.create_connection(('127.0.0.1', port))\n"
        "intr.wait_for_interrupts(threaded=True)\n"
        "c.sendall(b'x'); assert c.recv(1) == b'x'\n"
        "import atexit\n"
        "atexit.register(lambda: print('released', prov.released, flush=True))\n"
        "print('main done', flush=True)\n" % os.path.dirname(__file__))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["main done", "released [4]"]


def test_stop_from_a_threaded_callback_does_not_deadlock(no_leaks, provider):
    intr = Interruptor(provider)
    stopped = threading.Event()

    def cb(gpio, value):
        intr.stop_waiting_for_interrupts()  # from a pool worker: must not join itself
        stopped.set()

    intr.add_interrupt_callback(6, cb, threaded_callback=True)
    intr.wait_for_interrupts(threaded=True)
    provider.rising(6)
    assert stopped.wait(WAIT)
    intr.wait_for_interrupts(threaded=True)  # waits for the stopping run, then starts afresh
    assert intr.running
    intr.cleanup_interrupts()


def test_restart_requested_inside_the_loop_keeps_it_running(loop, provider):
    seen = Recorder()

    def cb(gpio, value):
        seen(gpio, value)
        if value == 1:
            loop.stop_waiting_for_interrupts()
            loop.wait_for_interrupts(threaded=True)  # changed its mind: the loop goes on
            with pytest.raises(LoopRunningError, match="inside a callback"):
                loop.stop_waiting_for_interrupts() or loop.wait_for_interrupts()
            loop.wait_for_interrupts(threaded=True)
        else:
            loop.stop_waiting_for_interrupts()

    loop.add_interrupt_callback(7, cb)
    provider.rising(7)
    provider.falling(7)
    loop.wait_for_interrupts()
    assert seen.calls == [(7, 1), (7, 0)]


def test_cleanup_from_a_threaded_callback(no_leaks, provider):
    intr = Interruptor(provider)
    done = threading.Event()

    def cb(gpio, value):
        intr.cleanup_interrupts()
        done.set()

    intr.add_interrupt_callback(8, cb, threaded_callback=True)
    intr.wait_for_interrupts(threaded=True)
    provider.rising(8)
    assert done.wait(WAIT)
    intr.stop_waiting_for_interrupts()  # joins the loop thread, which closed the epoll set
    assert provider.released == [8] and intr._epoll is None


def test_ctrl_c_leaves_a_loop_that_can_be_restarted(loop, provider):
    """RPIO 0.10 issue #1: after Ctrl-C the callbacks must still work when the loop restarts."""
    seen = Recorder()

    def cb(gpio, value):
        seen(gpio, value)
        if len(seen.calls) == 1:
            raise KeyboardInterrupt  # what Ctrl-C raises inside the blocking loop
        loop.stop_waiting_for_interrupts()

    loop.add_interrupt_callback(9, cb)
    provider.rising(9)
    with pytest.raises(KeyboardInterrupt):
        loop.wait_for_interrupts()
    assert not loop.running
    provider.falling(9)
    loop.wait_for_interrupts()
    assert seen.calls == [(9, 1), (9, 0)]


def test_ctrl_c_while_the_loop_thread_starts_leaves_nothing_to_wait_for(loop, provider, monkeypatch):
    """A KeyboardInterrupt (Ctrl-C, or SIGTERM turned into one) landing in wait_for_interrupts
    before its thread started: stop_waiting_for_interrupts() must neither join a thread that never
    ran nor wait for it, and the loop must start again afterwards."""
    import threading

    seen = Recorder()
    loop.add_interrupt_callback(9, seen)
    real_start = threading.Thread.start

    def interrupted_start(self):
        monkeypatch.setattr(threading.Thread, "start", real_start)
        raise KeyboardInterrupt

    monkeypatch.setattr(threading.Thread, "start", interrupted_start)
    with pytest.raises(KeyboardInterrupt):
        loop.wait_for_interrupts(threaded=True)
    loop.stop_waiting_for_interrupts()  # no RuntimeError, no wait
    assert not loop.running
    loop.wait_for_interrupts(threaded=True)
    provider.rising(9)
    assert seen.wait_for(1) == [(9, 1)]
    loop.stop_waiting_for_interrupts()
