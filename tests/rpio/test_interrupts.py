"""RPIO's interrupt loop and RPi.GPIO's event API on the simulated board (the umbrella's wiring:
numbering mode, the simulated chip's edge records, pins becoming inputs, cleanup)."""

import contextlib
import io
import pathlib
import re
import socket
import threading
import time

import pytest

import RPIO
import RPIO.sim

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
WAIT = 5.0


@pytest.fixture(autouse=True)
def stop_everything():
    yield
    RPIO.stop_waiting_for_interrupts()
    RPIO.cleanup_interrupts()


class Calls:
    """Records callback arguments; wait(n) blocks until n calls arrived (or fails)."""

    def __init__(self):
        self.calls, self._cond = [], threading.Condition()

    def __call__(self, *args):
        with self._cond:
            self.calls.append(args)
            self._cond.notify_all()

    def wait(self, count):
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.calls) >= count, WAIT), self.calls
        return self.calls


def test_spec_interrupt_example_runs_verbatim_with_a_button_and_a_tcp_client():
    try:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
            probe.bind(("127.0.0.1", 8080))
    except OSError:
        pytest.skip("port 8080 is in use on this machine")
    code = compile((EXAMPLES / "spec_interrupts.py").read_text(), "spec_interrupts.py", "exec")
    printed = io.StringIO()

    def script():
        with contextlib.redirect_stdout(printed):
            exec(code, {"__name__": "__main__"})

    runner = threading.Thread(target=script)
    runner.start()
    deadline = time.monotonic() + WAIT
    while not RPIO.default_interruptor().running and time.monotonic() < deadline:
        time.sleep(0.01)  # the script registers its callbacks and server, then enters the loop
    assert RPIO.sim.chip().pin_state(9).pull == 2  # PUD_UP reached the chip
    with socket.create_connection(("127.0.0.1", 8080), timeout=WAIT) as client:
        RPIO.sim.drive(7, 1)  # a button on GPIO 7 pressed...
        RPIO.sim.drive(7, 0)  # ...and released
        RPIO.sim.drive(9, 0)  # GPIO 9 (pulled up) pulled down
        client.sendall(b"hello\n")
        assert client.recv(100) == b"echo: hello\n"
        client.sendall(b"\n")  # an empty message closes the client
        assert client.recv(100) == b""
    deadline = time.monotonic() + WAIT
    while printed.getvalue().count("gpio") < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    RPIO.stop_waiting_for_interrupts()
    runner.join(WAIT)
    assert not runner.is_alive()
    lines = printed.getvalue().splitlines()
    assert [line for line in lines if line.startswith("gpio")] == [
        "gpio 7: 1", "gpio 7: 0", "gpio 9: 0"]
    assert any(re.fullmatch(r"socket \d+: 'hello'", line) for line in lines)


def test_board_mode_callbacks_get_the_board_pin():
    RPIO.setmode(RPIO.BOARD)
    calls = Calls()
    RPIO.add_interrupt_callback(11, calls, edge="rising")  # pin 11 is GPIO 17
    RPIO.wait_for_interrupts(threaded=True)
    RPIO.sim.drive(11, 1)
    RPIO.sim.drive(11, 0)
    RPIO.sim.drive(11, 1)
    assert calls.wait(2) == [(11, 1), (11, 1)]
    assert RPIO.input(11) == 1  # the interrupt pin is an input of this process


def test_pull_up_down_reaches_the_chip_and_timestamps_are_opt_in():
    events = Calls()
    RPIO.add_interrupt_callback(17, events, pull_up_down=RPIO.PUD_UP, with_event=True)
    assert RPIO.input(17) == 1
    RPIO.wait_for_interrupts(threaded=True)
    before = time.monotonic_ns()
    RPIO.sim.drive(17, 0)
    ((gpio, value, event),) = events.wait(1)
    assert (gpio, value) == (17, 0)
    assert before <= event.timestamp_ns <= time.monotonic_ns()
    assert event.timestamp_ns == RPIO.sim.history(17)[-1].timestamp_ns  # the model's own clock


def test_an_edge_caused_by_an_output_reaches_its_callback():
    RPIO.setup(22, RPIO.OUT)
    calls = Calls()
    RPIO.add_interrupt_callback(22, calls)  # RPIO 0.10 made it an input: so do we
    RPIO.wait_for_interrupts(threaded=True)
    RPIO.sim.drive(22, 1)
    assert calls.wait(1) == [(22, 1)]


def test_invalid_channel_and_busy_line_leave_the_loop_unchanged():
    with pytest.raises(ValueError, match="The channel sent is invalid on a Raspberry Pi"):
        RPIO.add_interrupt_callback(99, print)
    RPIO.setup(23, RPIO.IN)
    RPIO.add_event_detect(23, RPIO.RISING)  # RPi.GPIO's event API holds GPIO 23...
    with pytest.raises(OSError, match="GPIO 23 is busy"):
        RPIO.add_interrupt_callback(23, print)  # ...so the interrupt loop cannot have it
    assert RPIO.default_interruptor().interrupt_callbacks() == {}


def test_rpigpio_event_api_on_the_simulated_board():
    RPIO.setmode(RPIO.BOARD)
    RPIO.setup(13, RPIO.IN, pull_up_down=RPIO.PUD_DOWN)  # GPIO 27
    calls = Calls()
    RPIO.add_event_detect(13, RPIO.RISING, callback=calls)
    RPIO.sim.drive(13, 1)
    assert calls.wait(1) == [(13,)]
    assert RPIO.event_detected(13) is True
    assert RPIO.event_detected(13) is False
    RPIO.remove_event_detect(13)
    result = []
    waiter = threading.Thread(target=lambda: result.append(RPIO.wait_for_edge(13, RPIO.FALLING,
                                                                             timeout=5000)))
    waiter.start()
    deadline = time.monotonic() + WAIT
    while not RPIO.edge_detector().has_detection(27) and time.monotonic() < deadline:
        time.sleep(0.005)
    RPIO.sim.drive(13, 0)
    waiter.join(WAIT)
    assert result == [13]
    assert RPIO.wait_for_edge(13, RPIO.RISING, timeout=10) is None


def test_rpigpio_event_api_errors_come_from_the_umbrellas_state():
    with pytest.raises(RuntimeError, match=re.escape("You must setup() the GPIO channel as an input first")):
        RPIO.add_event_detect(17, RPIO.BOTH)
    with pytest.raises(ValueError, match="The channel sent is invalid on a Raspberry Pi"):
        RPIO.add_event_detect(70, RPIO.BOTH)
    with pytest.raises(TypeError, match=re.escape("function missing required argument 'gpio' (pos 1)")):
        RPIO.add_event_detect(channel=17, edge=RPIO.BOTH)


def test_cleanup_removes_event_detection_and_interrupts():
    RPIO.setup(24, RPIO.IN)
    RPIO.add_event_detect(24, RPIO.BOTH)
    RPIO.add_interrupt_callback(25, print)
    RPIO.cleanup()
    assert not RPIO.edge_detector().has_detection(24)
    assert RPIO.default_interruptor().interrupt_callbacks() == {}
    RPIO.add_interrupt_callback(24, print)  # the lines were released: free again


def test_edges_lost_while_a_callback_blocks_are_counted_and_said_once(caplog):
    """The simulated chip drops edges when its queue for the line is full, leaving a gap in the
    seqnos, as the kernel does: RPIO.default_interruptor().lost_events() counts them, and one
    WARNING says so for the pin."""
    caplog.set_level("WARNING", logger="RPIO")
    first, release, calls = threading.Event(), threading.Event(), Calls()

    def slow(gpio, value):
        if not first.is_set():
            first.set()
            assert release.wait(WAIT)  # the loop is stuck here while the edges pile up
        calls(gpio, value)

    RPIO.add_interrupt_callback(17, slow, edge="both")
    RPIO.wait_for_interrupts(threaded=True)
    try:
        RPIO.sim.drive(17, 1)
        assert first.wait(WAIT)
        for _ in range(2000):  # 4000 edges into a queue that holds far fewer
            RPIO.sim.drive(17, 0)
            RPIO.sim.drive(17, 1)
    finally:
        release.set()
    # The gap shows with the first edge the chip can queue again, once the loop drained the
    # queue: edges one at a time (each waited for) until the count says so.
    lost, extra, deadline = {}, 0, time.monotonic() + WAIT
    while not lost and time.monotonic() < deadline:
        before = len(calls.calls)
        RPIO.sim.drive(17, extra & 1)
        extra += 1
        calls.wait(before + 1)
        lost = RPIO.default_interruptor().lost_events()
    # 4000 edges into a pipe of 64 KiB (1365 records): at least 2635 dropped, and what was
    # delivered and what was lost never add up to more edges than were made
    assert set(lost) == {17} and 2635 <= lost[17] < 4000
    assert len(calls.calls) + lost[17] <= 1 + 4000 + extra
    warnings = [r for r in caplog.records if "lost" in r.getMessage()]
    assert len(warnings) == 1 and "gpio 17" in warnings[0].getMessage()
    RPIO.cleanup_interrupts()
    assert RPIO.default_interruptor().lost_events() == {}
