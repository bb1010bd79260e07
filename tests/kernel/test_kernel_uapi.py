"""rpio_interrupts.uapi against the real kernel: gpio-sim chips and the GPIO character device."""

from __future__ import annotations

import errno
import os
import time

import pytest
from kernel_helpers import (
    EVENT_TIMEOUT,
    assert_no_events,
    collect_events,
    line_request_fds,
    open_fds,
    wait_readable,
)
from rpio_interrupts import uapi
from rpio_interrupts.event import decode_events
from rpio_interrupts.exceptions import InterruptError
from rpio_interrupts.provider import LineHandle, LineProvider

pytestmark = pytest.mark.gpiosim


def test_chip_info_and_line_info(sim):
    s = sim(num_lines=12, label="rpio-info", line_names={5: "BUTTON"}, hogs={9: ("spi0 CS0", "output-high")})
    with uapi.Chip(s.dev_path) as chip:
        info = chip.info()
        assert (info.name, info.label, info.lines) == (s.name, "rpio-info", 12)
        assert repr(chip) == f"<Chip {s.dev_path!r} name={s.name!r} label='rpio-info' lines=12>"
        button = chip.line_info(5)
        assert (button.offset, button.name, button.consumer, button.used) == (5, "BUTTON", "", False)
        assert button.direction == "input"
        hog = chip.line_info(9)
        assert (hog.used, hog.consumer, hog.direction) == (True, "spi0 CS0", "output")
        assert hog.flags & uapi.FLAG_USED and hog.flags & uapi.FLAG_OUTPUT
        with pytest.raises(uapi.LineConfigError, match=r"line 12 does not exist .* 0 to 11") as e:
            chip.line_info(12)
        assert isinstance(e.value, ValueError) and e.value.errno == errno.EINVAL
    assert chip.closed and "closed" in repr(chip)
    with pytest.raises(ValueError, match="closed chip"):
        chip.info()


def test_find_chip_by_label_not_by_number(sim):
    other = sim(num_lines=4, label="some-expander")
    pi = sim(num_lines=54, label="pinctrl-bcm2711")
    assert other.name != pi.name
    assert uapi.find_chip() == pi.dev_path
    assert uapi.find_chip(labels=("some-expander",), compatibles=()) == other.dev_path
    assert uapi.ChardevLineProvider().chip_path == pi.dev_path
    with pytest.raises(uapi.ChipNotFoundError) as e:
        uapi.find_chip(labels=("pinctrl-nothing",), compatibles=())
    msg = str(e.value)
    assert "'pinctrl-nothing'" in msg
    assert f"{pi.name} 'pinctrl-bcm2711' (54 lines)" in msg and f"{other.name} 'some-expander' (4 lines)" in msg
    assert e.value.errno == errno.ENOENT and isinstance(e.value, InterruptError)


def test_bias_sets_the_sim_pull(sim):
    s = sim(num_lines=4)
    with uapi.Chip(s.dev_path) as chip:
        for bias, level in (("pull-up", 1), ("pull-down", 0), ("pull-up", 1)):
            with chip.request_lines([2], bias=bias, consumer="bias-test") as req:
                assert s.get_pull(2) == bias
                assert req.get_values() == [level] and req.get_value() == level
                assert chip.line_info(2).bias == bias
        with chip.request_lines([2], bias="disabled") as req:
            assert chip.line_info(2).bias == "disabled"
            assert chip.line_info(2).flags & uapi.FLAG_BIAS_DISABLED
        with chip.request_lines([2]) as req:  # 'as-is' touches nothing: still pulled up
            assert chip.line_info(2).bias == "as-is" and req.get_value() == 1


def test_edges_give_records_with_ids_seqnos_and_monotonic_timestamps(sim):
    s = sim(num_lines=8)
    s.set_pull(5, "pull-down")
    with uapi.request_lines(s.dev_path, [5], edge="both", consumer="edges") as req:
        assert req.get_value() == 0
        before = time.monotonic_ns()
        events = []
        for _ in range(3):
            s.set_pull(5, "pull-up")
            events += collect_events(req, 1)
            s.set_pull(5, "pull-down")
            events += collect_events(req, 1)
        after = time.monotonic_ns()
        assert [e.id for e in events] == [1, 2] * 3
        assert [e.edge for e in events] == ["rising", "falling"] * 3
        assert [e.value for e in events] == [1, 0] * 3
        assert {e.offset for e in events} == {5}
        assert [e.seqno for e in events] == [1, 2, 3, 4, 5, 6]
        assert [e.line_seqno for e in events] == [1, 2, 3, 4, 5, 6]
        stamps = [e.timestamp_ns for e in events]
        assert stamps == sorted(stamps) and len(set(stamps)) == 6
        assert before <= stamps[0] and stamps[-1] <= after  # CLOCK_MONOTONIC, as time.monotonic_ns()
        assert_no_events(req, 0.2)


def test_edge_filter_and_read_events_batches(sim):
    s = sim(num_lines=4)
    s.set_pull(1, "pull-down")
    with uapi.request_lines(s.dev_path, [1], edge="rising") as req:
        s.set_pull(1, "pull-up")
        # Wait until the first edge is queued: gpio-sim (like real hardware) merges an edge that
        # comes before the previous one's interrupt was taken.
        assert req.wait_events(EVENT_TIMEOUT)
        s.set_pull(1, "pull-down")
        s.set_pull(1, "pull-up")
        got = []
        deadline = time.monotonic() + EVENT_TIMEOUT
        while len(got) < 2 and req.wait_events(deadline - time.monotonic()):
            batch = req.read_events(max_events=1)
            assert len(batch) == 1
            got += batch
        assert [(e.id, e.seqno) for e in got] == [(1, 1), (1, 2)]  # the falling edge is filtered out
        assert_no_events(req, 0.2)
        with pytest.raises(ValueError, match="max_events"):
            req.read_events(0)


def test_multi_line_request_seqno_and_line_seqno(sim):
    s = sim(num_lines=8)
    for off in (2, 5):
        s.set_pull(off, "pull-down")
    with uapi.request_lines(s.dev_path, [5, 2], edge="both") as req:
        assert req.offsets == (5, 2)
        events = []
        for off, pull in ((5, "pull-up"), (2, "pull-up"), (5, "pull-down")):
            s.set_pull(off, pull)
            events += collect_events(req, 1)
        assert [(e.offset, e.id, e.seqno, e.line_seqno) for e in events] == [(5, 1, 1, 1), (2, 1, 2, 1), (5, 2, 3, 2)]
        assert req.get_values() == [0, 1] and req.get_values([2]) == [1]
        with pytest.raises(uapi.LineConfigError, match="say which one"):
            req.get_value()


def test_debounce_is_stable_for_period(sim):
    period_us = 100_000
    s = sim(num_lines=4)
    s.set_pull(3, "pull-down")
    with uapi.Chip(s.dev_path) as chip, chip.request_lines([3], edge="both", debounce_us=period_us) as req:
        assert chip.line_info(3).debounce_us == period_us
        fd = s.pull_fd(3)
        try:  # a glitch much shorter than the period: no event at all
            os.pwrite(fd, b"pull-up", 0)
            os.pwrite(fd, b"pull-down", 0)
        finally:
            os.close(fd)
        assert_no_events(req, 3 * period_us / 1e6)
        t0 = time.monotonic_ns()
        s.set_pull(3, "pull-up")  # held: reported once stable for the period
        (event,) = collect_events(req, 1)
        assert event.id == 1 and event.seqno == 1
        assert event.timestamp_ns - t0 >= period_us * 1000 * 0.95
        assert_no_events(req, 0.2)


def test_busy_line_held_by_this_process_names_the_consumer(sim):
    s = sim(num_lines=8)
    with uapi.Chip(s.dev_path) as chip, chip.request_lines([4], consumer="first-holder"):
        fds = open_fds()
        with pytest.raises(uapi.LineBusyError) as e:
            chip.request_lines([3, 4], edge="both")
        assert str(e.value).endswith(
            f"line 4 of {s.name} (rpio-test) is busy: held by 'first-holder', a line request of this process"
        )
        assert e.value.errno == errno.EBUSY and isinstance(e.value, OSError)
        assert e.value.offsets == (4,) and e.value.consumer == "first-holder"
        assert e.value.holders and e.value.holders[0][0] == os.getpid()
        assert open_fds() == fds  # the failed request left nothing open
        assert not chip.line_info(3).used  # nor line 3 requested half-way


def test_busy_line_held_by_another_process(sim):
    s = sim(num_lines=8)
    ready_r, ready_w = os.pipe()
    hold_r, hold_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: hold line 6 until the parent closes hold_w
        code = 1
        try:
            os.close(ready_r)
            os.close(hold_w)
            with uapi.request_lines(s.dev_path, [6], consumer="other-holder"):
                os.write(ready_w, b"k")
                os.read(hold_r, 1)
            code = 0
        finally:
            os._exit(code)
    os.close(ready_w)
    os.close(hold_r)
    try:
        assert os.read(ready_r, 1) == b"k"
        with pytest.raises(uapi.LineBusyError) as e:
            uapi.ChardevLineProvider(s.dev_path).request(6, edge="both", bias="pull-up", consumer="rpio")
        assert f"GPIO 6 is busy: held by 'other-holder', a line request of process {pid} (" in str(e.value)
        assert [h[0] for h in e.value.holders] == [pid]
    finally:
        os.close(hold_w)
        os.close(ready_r)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with uapi.request_lines(s.dev_path, [6]) as req:  # released by the child's exit
        assert not req.closed


def test_busy_line_held_by_the_kernel(sim):
    s = sim(num_lines=8, label="pinctrl-bcm2711", hogs={7: ("spi0 CS0", "output-high")})
    provider = uapi.ChardevLineProvider()
    assert provider.chip_path == s.dev_path
    fds = open_fds()
    with pytest.raises(uapi.LineBusyError) as e:
        provider.request(7, edge="falling", bias="as-is", consumer="rpio")
    assert str(e.value) == (
        "[Errno 16] GPIO 7 is busy: held by 'spi0 CS0', the kernel "
        "(a driver or a device-tree hog; no process holds it through a uAPI v2 line request, "
        "though one using the deprecated v1 uAPI would not show)"
    )
    assert e.value.holders == () and open_fds() == fds


def test_close_releases_the_line(sim):
    s = sim(num_lines=4)
    with uapi.Chip(s.dev_path) as chip:
        req = chip.request_lines([1], consumer="releaser", edge="both")
        assert repr(req) == f"<LineRequest {s.name} (rpio-test) lines=[1] consumer='releaser' fd={req.fileno()}>"
        info = chip.line_info(1)
        assert info.used and info.consumer == "releaser" and info.edge == "both"
        assert line_request_fds() == {req.fileno()}
        req.close()
        req.close()  # idempotent
        assert req.closed and "released" in repr(req)
        assert line_request_fds() == set()
        info = chip.line_info(1)
        assert not info.used and info.consumer == "" and info.edge is None
        with pytest.raises(ValueError, match="released line request"):
            req.fileno()
        with chip.request_lines([1]) as again:  # free for the next holder
            assert chip.line_info(1).used
        assert again.closed and not chip.line_info(1).used


def test_outputs_are_seen_by_the_sim(sim):
    s = sim(num_lines=8)
    with uapi.Chip(s.dev_path) as chip:
        with chip.request_lines([3, 4], direction="output", output_values=[1, 0]) as req:
            assert (s.get_value(3), s.get_value(4)) == (1, 0)
            assert chip.line_info(3).direction == "output"
            req.set_values([0, 1])
            assert (s.get_value(3), s.get_value(4)) == (0, 1)
            req.set_values({3: 1})
            assert (s.get_value(3), s.get_value(4)) == (1, 1)
            req.set_value(4, 0)
            assert req.get_values() == [1, 0] and s.get_value(4) == 0
            with pytest.raises(uapi.LineConfigError, match="2 values for 1 lines|1 values for 2 lines"):
                req.set_values([1])
        with chip.request_lines([5], direction="output") as req:  # no output_values: driven low
            assert s.get_value(5) == 0
        with chip.request_lines([6], direction="input") as req, pytest.raises(uapi.LineConfigError, match="not outputs"):
            req.set_values([1])


def test_reconfigure_and_reset_on_close(sim):
    s = sim(num_lines=4)
    with uapi.Chip(s.dev_path) as chip:
        req = chip.request_lines([2], bias="pull-down")
        req.reconfigure(edge="both", bias="pull-up")
        assert s.get_pull(2) == "pull-up" and req.get_value() == 1
        assert chip.line_info(2).edge == "both" and chip.line_info(2).bias == "pull-up"
        if req.wait_events(0.1):  # a bias change may or may not report an edge: drop it
            req.read_events(16)
        s.set_pull(2, "pull-down")
        (event,) = collect_events(req, 1)
        assert event.id == 2
        req.reconfigure(direction="output", output_values=[1])
        assert s.get_value(2) == 1 and chip.line_info(2).direction == "output"
        with pytest.raises(uapi.LineConfigError, match="edge='rising' needs direction='input'"):
            req.reconfigure(direction="output", edge="rising")
        req.close(reset=True)  # RPi.GPIO-style cleanup: input, bias disabled, then release
        assert chip.line_info(2).direction == "input" and not chip.line_info(2).used
        req = chip.request_lines([3], direction="output", output_values=[1])
        req.close()  # without reset gpio-sim leaves a released output an output
        assert chip.line_info(3).direction == "output"


def test_bad_combinations_are_named_and_leave_nothing_open(sim):
    s = sim(num_lines=4)
    with uapi.Chip(s.dev_path) as chip:
        fds = open_fds()
        cases = [
            ({"direction": "output", "edge": "both"}, "edge='both' needs direction='input', not 'output'"),
            ({"direction": "as-is", "bias": "pull-up"}, "bias='pull-up' needs direction='input' or 'output', not 'as-is'"),
            ({"direction": "output", "debounce_us": 10}, "debounce_us=10 needs direction='input', not 'output'"),
            ({"output_values": [1]}, "output_values need direction='output', not 'input'"),
            ({"bias": "up"}, "bias='up' is not one of 'as-is', 'disabled', 'pull-up', 'pull-down'"),
            ({"edge": "high"}, "edge='high' is not one of None, 'rising', 'falling', 'both'"),
            ({"direction": "in"}, "direction='in' is not one of 'input', 'output', 'as-is'"),
            ({"consumer": "x" * 32}, "the kernel keeps at most 31 bytes"),
        ]
        for kwargs, message in cases:
            with pytest.raises(uapi.LineConfigError) as e:
                chip.request_lines([1], **kwargs)
            assert message in str(e.value), (kwargs, str(e.value))
            assert isinstance(e.value, ValueError) and e.value.errno == errno.EINVAL
        with pytest.raises(uapi.LineConfigError, match=r"line offsets \[1\] appear more than once"):
            chip.request_lines([1, 2, 1])
        with pytest.raises(uapi.LineConfigError, match="line 4 does not exist"):
            chip.request_lines([4])
        with pytest.raises(uapi.ChipNotFoundError, match="no GPIO chip at /dev/gpiochip999"):
            uapi.Chip("/dev/gpiochip999")
        assert open_fds() == fds
        assert not any(chip.line_info(i).used for i in range(4))


def test_permission_error_says_what_to_do(sim):
    s = sim(num_lines=2)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(r)
            os.setgid(65534)
            os.setuid(65534)
            try:
                uapi.Chip(s.dev_path)
            except PermissionError as e:
                os.write(w, f"{e.errno}|{e}".encode())
                code = 0
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        text = f.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, text
    err, msg = text.split("|", 1)
    assert int(err) == errno.EACCES
    assert f"no permission to open {s.dev_path} (group 'root', mode 0600)" in msg
    assert "run as root, or give a group read-write access" in msg


def test_provider_hands_out_a_line_handle_with_edge_records(sim):
    s = sim(num_lines=32, label="pinctrl-bcm2711")
    provider = uapi.ChardevLineProvider()
    assert isinstance(provider, LineProvider)
    handle = provider.request(17, edge="falling", bias="pull-up", consumer="rpio-test")
    try:
        assert isinstance(handle, LineHandle)
        assert handle.get_value() == 1 and s.get_pull(17) == "pull-up"
        with uapi.Chip(s.dev_path) as chip:
            info = chip.line_info(17)
        assert info.consumer == "rpio-test"
        assert info.flags & ~uapi.FLAG_USED == uapi.FLAG_INPUT | uapi.FLAG_EDGE_FALLING | uapi.FLAG_BIAS_PULL_UP
        s.set_pull(17, "pull-down")
        assert wait_readable(handle.fileno(), EVENT_TIMEOUT)
        (event,) = decode_events(os.read(handle.fileno(), 48 * 4))
        assert (event.id, event.offset, event.seqno) == (2, 17, 1)
    finally:
        handle.close()
    handle.close()
    with pytest.raises(uapi.LineConfigError, match="edge=None is not one of"):
        provider.request(17, edge=None, bias="as-is", consumer="rpio")


@pytest.mark.parametrize("how", ["edges-at-request", "edges-turned-on-later"])
@pytest.mark.parametrize("buffer", [0, uapi.MAX_EVENT_BUFFER_SIZE])
def test_the_event_queue_is_sized_at_request_time(sim, how, buffer):
    """What RPIO relies on: the request's event_buffer_size decides the edge queue, also when
    edges are turned on later by SET_CONFIG; 0 gives the kernel's 16, and when the queue is
    full the oldest edges are dropped (a seqno gap before what is kept)."""
    chip = sim(num_lines=8)
    chip.set_pull(3, "pull-down")
    edge = "both" if how == "edges-at-request" else None
    with uapi.request_lines(chip.dev_path, [3], direction="input", edge=edge,
                            event_buffer_size=buffer) as req:
        if edge is None:
            req.reconfigure(direction="input", edge="both")
        for _ in range(50):  # 100 edges, nobody reading
            for pull in ("pull-up", "pull-down"):
                chip.set_pull(3, pull)
                time.sleep(0.001)  # let the simulated interrupt run: two quick edges may merge
        events = collect_events(req, 100, timeout=1.0 if buffer == 0 else EVENT_TIMEOUT)
    seqnos = [e.seqno for e in events]
    made = seqnos[-1]  # the kernel numbers every event it makes, the dropped ones too
    assert made > 16, f"only {made} events for 100 edges: the emulated interrupts merged them"
    assert seqnos == list(range(seqnos[0], made + 1))  # what is kept is the newest, in order
    if buffer:
        assert seqnos[0] == 1  # nothing dropped
    else:
        # the oldest were dropped; under load an edge's event may still come in while the queue
        # is being read, so the newest 16 are a floor, not an exact count
        assert seqnos[0] > 1 and seqnos[0] <= made - 15
