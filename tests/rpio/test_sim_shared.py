"""One simulated board shared by several processes, through RPIO's own API: RPIO_SIM_SHARED, an
edge caused by another process reaching this process's interrupt loop and RPi.GPIO's event API
with its timestamp, parts made by one process used by another, generators that stop with their
process, listing and resetting. Subprocesses with line handshakes; every wait has a timeout."""

import gc
import os
import select
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import RPIO
import RPIO.sim as sim

WAIT = 20.0
CHILDREN = []


class Child:
    """A Python subprocess on the shared board (RPIO_SIM_SHARED), driven by lines."""

    def __init__(self, code: str, board: str):
        env = dict(os.environ, RPIO_BACKEND="sim", RPIO_SIM_SHARED=board)
        env.pop("RPIO_SIM_CONFIG", None)
        env.pop("RPIO_SIM_BOARD", None)
        self.proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self._buffer = b""
        CHILDREN.append(self)

    def expect(self, prefix: str) -> str:
        deadline, fd = time.monotonic() + WAIT, self.proc.stdout.fileno()
        while True:
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                if line.decode().startswith(prefix):
                    return line.decode()[len(prefix):].strip()
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise AssertionError(f"no {prefix!r} from the child")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError(f"child ended before {prefix!r}: {self.proc.stderr.read()}")
            self._buffer += chunk

    def send(self, line: str = "go") -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def finish(self) -> int:
        self.proc.stdin.close()
        code = self.proc.wait(WAIT)
        assert code == 0, self.proc.stderr.read()
        self.close()
        return code

    def close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if not stream.closed:
                stream.close()


@pytest.fixture
def shared(request):
    """This process on a fresh shared board of a unique name; afterwards detached and removed."""
    name = f"pytest-{os.getpid()}-{request.node.name}"[:60]
    chip = sim.use_board(shared=name)
    assert sim.board_name() == name and chip.attached_pids() == [os.getpid()]
    yield name
    RPIO.stop_waiting_for_interrupts()
    RPIO.cleanup_interrupts()
    while CHILDREN:
        child = CHILDREN.pop()
        if child.proc.poll() is None:
            child.proc.send_signal(signal.SIGKILL)
            child.proc.wait(WAIT)
        child.close()
    sim.use_board("c03111")  # back on a private board, as the other tests expect
    chip.detach()
    del chip
    gc.collect()
    sim.reset_board(name)
    assert name not in [b.name for b in sim.list_boards()]


def test_an_edge_from_another_process_reaches_the_interrupt_loop_with_its_timestamp(shared):
    sim.Button("bell", 22)  # made here; the other process presses it by name
    seen, done = [], threading.Event()

    def callback(gpio, value, event):
        seen.append((gpio, value, event.timestamp_ns))
        done.set()

    RPIO.add_interrupt_callback(22, callback, edge="falling", pull_up_down=RPIO.PUD_UP,
                                with_event=True)
    RPIO.wait_for_interrupts(threaded=True)
    child = Child("""
        import RPIO.sim as sim
        sim.part("bell").press()
        change = sim.history(22)[-1]
        print("pressed", change.timestamp_ns, change.cause, flush=True)
    """, shared)
    stamp, cause = child.expect("pressed ").split(" ", 1)
    child.finish()
    assert done.wait(WAIT), seen
    assert seen == [(22, 0, int(stamp))]  # the model's CLOCK_MONOTONIC time, same in both
    assert cause == "part bell" and sim.history(22)[-1].timestamp_ns == int(stamp)
    assert RPIO.input(22) == 0 and sim.part("bell").is_pressed


def test_two_scripts_on_one_board_with_a_wire_and_the_event_api(shared):
    child = Child("""
        import sys, RPIO, RPIO.sim as sim
        print("board", sim.board_name(), flush=True)
        sim.wire(17, 27)
        RPIO.setup(17, RPIO.OUT, initial=RPIO.HIGH)
        print("high", flush=True)
        sys.stdin.readline()
        RPIO.output(17, 0)
        print("low", flush=True)
        sys.stdin.readline()
    """, shared)
    assert child.expect("board ") == shared
    child.expect("high")
    RPIO.setup(27, RPIO.IN)
    assert RPIO.input(27) == 1  # the other script's output, through its wire
    assert [w.gpios for w in sim.wires()] == [(17, 27)]
    falling, got = [], threading.Event()
    RPIO.add_event_detect(27, RPIO.FALLING, callback=lambda ch: (falling.append(ch), got.set()))
    child.send()
    child.expect("low")
    assert RPIO.input(27) == 0  # synchronous: it is low once the other script says so
    assert got.wait(WAIT) and falling == [27]
    assert RPIO.event_detected(27)
    listing = [b for b in sim.list_boards() if b.name == shared]
    assert set(listing[0].pids) == {os.getpid(), child.proc.pid}
    assert listing[0].model == "c03111" and listing[0].kind == "bcm2711"
    child.finish()
    RPIO.remove_event_detect(27)
    assert [b.pids for b in sim.list_boards() if b.name == shared] == [(os.getpid(),)]


def test_a_generator_runs_in_its_process_and_stops_when_it_exits(shared):
    clock = sim.Generator("clock", 4, frequency=200, duty=0.5)
    RPIO.setup(4, RPIO.IN)
    child = Child("""
        import sys, RPIO.sim as sim
        sim.part("clock").start()
        print("started", flush=True)
        sys.stdin.readline()
    """, shared)
    child.expect("started")
    assert clock.running and clock.state["pid"] == child.proc.pid
    assert RPIO.wait_for_edge(4, RPIO.FALLING, timeout=5000) == 4  # driven from the child
    child.finish()  # a normal exit detaches: the generator stops and lets go at once
    assert not clock.running and sim.level(4) == 0  # let go: setup(IN) left it without a pull
    assert sim.chip().pin_state(4).floating


def test_a_shared_board_keeps_its_model_and_rejects_another(shared):
    assert RPIO.RPI_INFO["TYPE"] == "Pi 4 Model B"
    with pytest.raises(ValueError, match=r"models a Pi 4 Model B \(revision c03111, BCM2711\), not a Pi 3"):
        sim.use_board("pi3", shared=shared)
    assert sim.board_name() == shared  # the failed call left this process where it was
    again = sim.use_board(shared=shared)  # no model: the board's own
    assert again.board_name == shared and again.model == "c03111"


def test_reset_board_from_another_process(shared):
    sim.wire(5, 6)
    sim.Button("b", 5)
    child = Child("""
        import RPIO.sim as sim, os
        print("reset", sim.reset_board(os.environ["RPIO_SIM_SHARED"]), flush=True)
    """, shared)
    assert child.expect("reset ") == "True"
    child.finish()
    assert sim.wires() == [] and sim.parts() == [] and sim.chip().resets == 1
