"""One board shared by every process: several processes writing at once without corruption, edges
from one process reaching another's event lines, crash recovery (kill -9 of a process holding the
lock, of the only process attached, of a generator's and of a subscriber's process), listing and
resetting, and private boards that no other process sees. Every multi-process step is a
subprocess with line handshakes on its pipes, and every wait has a timeout."""

from __future__ import annotations

import gc
import os
import pathlib
import select
import signal
import struct
import subprocess
import sys
import textwrap
import time

import pytest
import rpio_core as rc

WAIT = 20.0
CHILDREN: list = []


class Child:
    """A Python subprocess driven by lines: send() writes one, expect() waits for one."""

    def __init__(self, code: str, *args: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self._buffer = b""
        CHILDREN.append(self)

    def expect(self, prefix: str, timeout: float = WAIT) -> str:
        """The rest of the next line that starts with prefix (raw reads: no hidden buffer)."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while True:
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                text = line.decode()
                if text.startswith(prefix):
                    return text[len(prefix):].strip()
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise AssertionError(f"no {prefix!r} from the child; stderr: {self.stderr()}")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError(f"child ended before {prefix!r}; stderr: {self.stderr()}")
            self._buffer += chunk

    def send(self, line: str = "") -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(WAIT)

    def finish(self) -> int:
        self.proc.stdin.close()
        return self.proc.wait(WAIT)

    def close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if not stream.closed:
                stream.close()

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read()


@pytest.fixture
def board(request):
    """A unique shared-board name; every chip opened through open() is detached and the board
    removed afterwards."""
    name = f"pytest-{os.getpid()}-{request.node.name.replace('[', '-').strip(']')}"[:60]
    chips: list = []

    def open_(kind: str | None = "bcm2711", **kw):
        chip = rc.open_board(name, kind, **kw)
        chips.append(chip)
        return chip

    open_.name = name
    yield open_
    while CHILDREN:  # a failed test may leave one running (holding the lock, say)
        child = CHILDREN.pop()
        if child.proc.poll() is None:
            child.kill9()
        child.close()
    for chip in chips:
        chip.detach()
    chips.clear()
    gc.collect()
    rc.reset_board(name)
    assert name not in [b["name"] for b in rc.list_boards()]


def names() -> list[str]:
    return [b["name"] for b in rc.list_boards()]


def read_records(fd: int) -> list[tuple[int, int, int, int]]:
    out = []
    while select.select([fd], [], [], 0)[0]:
        buf = os.read(fd, 48 * 256)
        for pos in range(0, len(buf), 48):
            out.append(struct.unpack_from("=QIII", buf, pos))
    return out


def test_open_list_reset_and_kind_checks(board):
    chip = board("rp1", model="d04170", history_capacity=1024)
    assert type(chip) is rc.SimRp1 and chip.board_name == board.name and chip.model == "d04170"
    assert chip.history_allocation == 1024 and chip.attached_pids() == [os.getpid()]
    again = board(None)  # kind None: whatever the board is
    assert type(again) is rc.SimRp1
    again.drive(3, 1)
    assert chip.level(3) == 1  # one board
    with pytest.raises(ValueError, match="is a simulated rp1, not a bcm2711"):
        rc.open_board(board.name, "bcm2711")
    with pytest.raises(KeyError, match="no shared board"):
        rc.open_board(board.name + "-none", None)
    with pytest.raises(ValueError, match="board name"):
        rc.open_board("a/b", "rp1")
    listing = [b for b in rc.list_boards() if b["name"] == board.name]
    assert listing == [{"name": board.name, "kind": "rp1", "model": "d04170", "pids": [os.getpid()],
                        "dead_pids": [], "created_ns": listing[0]["created_ns"], "compatible": True,
                        "problem": None}]
    with pytest.raises(ValueError, match="history holds \\(1024"):
        chip.history_capacity = 2048
    chip.wire([5, 6])
    chip.add_part("button", "b", 5)
    assert rc.reset_board(board.name) is True  # attached: reset in place
    assert chip.wires() == [] and chip.parts() == [] and chip.level(3) == 0 and chip.resets == 1
    assert board.name in names()
    assert rc.reset_board(board.name + "-none") is False


def test_another_process_sees_and_drives_the_same_pins(board):
    chip = board()
    chip.wire([17, 27])
    chip.add_part("button", "bell", 22, active_low=True)
    driver = rc.make_driver("bcm2711", chip)
    driver.set_pull(22, rc.PULL_UP)
    line = chip.request_events(27)
    bell = chip.request_events(22)
    child = Child("""
        import sys, rpio_core as rc
        chip = rc.open_board(sys.argv[1])
        print("wires", repr(chip.wires()), [p["name"] for p in chip.parts()], flush=True)
        driver = rc.make_driver(chip.kind, chip)
        driver.set_function(17, rc.OUTPUT)
        driver.write(17, 1)
        chip.button_set("bell", True)
        print("done", chip.history()[-1].cause, flush=True)
        sys.stdin.readline()
    """, board.name)
    assert child.expect("wires ") == f"{chip.wires()!r} ['bell']"
    cause = child.expect("done ")
    assert cause == "part bell"
    # Synchronous: once the child said done, the levels and the edge records are here.
    assert chip.level(27) == 1 and chip.level(22) == 0
    (record,) = read_records(line.fileno())
    assert record[1] == 1 and record[2] == 27
    assert record[0] in [e.t_ns for e in chip.history() if e.gpio == 27]
    assert [r[1] for r in read_records(bell.fileno())] == [2]
    causes = {e.cause for e in chip.history()}
    assert f"pid {child.proc.pid} output" in causes and "part bell" in causes
    assert child.finish() == 0
    assert chip.attached_pids() == [os.getpid()]  # it detached on exit


WRITER = """
    import sys, rpio_core as rc
    name, index, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    chip = rc.open_board(name)
    driver = rc.make_driver(chip.kind, chip)
    gpio = 10 + index  # pulled down at reset: no edge before the writes
    driver.set_pull(gpio, rc.PULL_OFF)
    driver.set_function(gpio, rc.OUTPUT)
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(rounds):
        driver.write(gpio, 1)
        driver.write(gpio, 0)
        if i % 50 == 0:
            part = f"p{index}"
            chip.add_part("led", part, 40 + index)
            wire = chip.wire([30 + 2 * index, 31 + 2 * index])
            chip.drive(44 + index, i % 100 == 0)
            chip.unwire(wire)
            chip.remove_part(part)
    print("done", flush=True)
"""


def test_several_processes_writing_at_once_do_not_corrupt_the_board(board):
    writers, rounds = 4, 1500
    chip = board(history_capacity=65536)
    lines = [chip.request_events(10 + i) for i in range(writers)]
    children = [Child(WRITER, board.name, str(i), str(rounds)) for i in range(writers)]
    for child in children:
        child.expect("ready")
    chip.clear_history()
    for child in children:
        child.send("go")
    records = {i: [] for i in range(writers)}
    pending = set(range(writers))
    deadline = time.monotonic() + 60
    while pending and time.monotonic() < deadline:
        fds = [line.fileno() for line in lines]
        for fd in select.select(fds, [], [], 0.05)[0]:
            records[fds.index(fd)] += read_records(fd)
        for i in list(pending):
            if children[i].proc.poll() is not None:
                pending.discard(i)
    for i, child in enumerate(children):
        child.expect("done")
        assert child.finish() == 0
        records[i] += read_records(lines[i].fileno())
    history = chip.history()
    for i, child in enumerate(children):
        entries = [e for e in history if e.gpio == 10 + i]
        # Every write of every writer is there, in order, with its cause: 1, 0, 1, 0, ...
        assert [e.level for e in entries] == [1, 0] * rounds
        assert {e.cause for e in entries} == {f"pid {child.proc.pid} output"}
        assert all(a.t_ns <= b.t_ns for a, b in zip(entries, entries[1:]))
        # Every edge is in this process's records or counted as dropped, seqnos in order.
        seqnos = [r[3] for r in records[i]]
        assert seqnos == sorted(seqnos) and len(set(seqnos)) == len(seqnos)
        assert len(records[i]) + lines[i].dropped == 2 * rounds == lines[i].seqno
        stamps = {e.t_ns for e in entries}
        assert all(r[0] in stamps for r in records[i])  # the model's time of each change
    assert all(a.t_ns <= b.t_ns for a, b in zip(history, history[1:]))  # one clock, one order
    assert chip.parts() == [] and chip.wires() == []
    assert [chip.level(10 + i) for i in range(writers)] == [0] * writers
    assert chip.attached_pids() == [os.getpid()]


# a process killed while it holds the board's lock (a generator thread holds it often)
needs_robust_futex_lists = pytest.mark.native_kernel("no robust futex lists: a dead holder's lock is never handed on")


@needs_robust_futex_lists
def test_kill_9_while_holding_the_lock_is_recovered(board, caplog):
    chip = board()
    chip.drive(40, 1)
    child = Child("""
        import os, sys, rpio_core as rc
        chip = rc.open_board(sys.argv[1])
        chip._hold_lock(1, 60.0)
    """, board.name)
    child.expect("locked")
    child.kill9()
    with caplog.at_level("WARNING", logger="rpio_core.sim"):
        chip.drive(41, 1)  # the lock's owner died: recovered, state kept
    assert chip.level(40) == 1 and chip.level(41) == 1
    assert any("died holding its lock" in r.getMessage() for r in caplog.records)
    assert chip.attached_pids() == [os.getpid()]  # the dead holder was pruned
    chip.drive(42, 1)  # and the lock works as before
    assert chip.level(42) == 1


def test_board_left_by_a_crashed_process_is_reset_not_reused(board, caplog):
    child = Child("""
        import sys, rpio_core as rc
        chip = rc.open_board(sys.argv[1], "bcm2711")
        rc.make_driver("bcm2711", chip).set_function(17, rc.OUTPUT)
        chip.drive(22, 1)
        chip.wire([5, 6])
        chip.add_part("led", "lamp", 7)
        print("built", flush=True)
        sys.stdin.readline()
    """, board.name)
    child.expect("built")
    child.kill9()
    (listing,) = [b for b in rc.list_boards() if b["name"] == board.name]
    assert listing["pids"] == [] and listing["dead_pids"] == [child.proc.pid]
    with caplog.at_level("WARNING", logger="rpio_core.sim"):
        chip = board(None)
    assert any("ended without detaching" in r.getMessage() for r in caplog.records)
    assert chip.resets == 1 and chip.wires() == [] and chip.parts() == []
    assert chip.level(22) == 0 and chip.pin_state(17).function == rc.INPUT
    assert chip.attached_pids() == [os.getpid()]


@needs_robust_futex_lists
def test_a_generator_stops_when_its_process_dies(board):
    chip = board()
    chip.add_part("generator", "clk", 12, frequency=500.0, duty=0.5)
    line = chip.request_events(12)
    child = Child("""
        import sys, rpio_core as rc
        chip = rc.open_board(sys.argv[1])
        chip.generator_start("clk")
        print("started", flush=True)
        sys.stdin.readline()
    """, board.name)
    child.expect("started")
    assert select.select([line.fileno()], [], [], WAIT)[0]  # it runs in the child's thread
    info = chip.part("clk")
    assert info["running"] and info["pid"] == child.proc.pid
    child.kill9()
    parts = {p["name"]: p for p in chip.parts()}  # listing prunes the dead owner
    assert parts["clk"]["running"] is False and parts["clk"]["drive"] is None
    assert chip.level(12) == 0  # let go: GPIO 12's pull-down
    chip.generator_start("clk")  # and another process may run it
    assert chip.part("clk")["pid"] == os.getpid()
    chip.generator_stop("clk")


def test_generator_stopped_by_another_process(board):
    chip = board()
    chip.add_part("generator", "clk", 12, frequency=200.0, duty=0.5)
    chip.generator_start("clk")
    child = Child("""
        import sys, rpio_core as rc
        chip = rc.open_board(sys.argv[1])
        chip.generator_stop("clk")
        print("stopped", chip.part("clk")["running"], flush=True)
    """, board.name)
    assert child.expect("stopped ") == "False"
    assert child.finish() == 0
    assert chip.part("clk")["running"] is False and chip.level(12) == 0
    chip.generator_stop("clk")  # this process's thread ended; stopping again is harmless


def test_a_dead_subscriber_is_pruned_without_harm(board):
    chip = board()
    child = Child("""
        import sys, rpio_core as rc
        chip = rc.open_board(sys.argv[1])
        line = chip.request_events(23)
        print("listening", flush=True)
        sys.stdin.readline()
    """, board.name)
    child.expect("listening")
    chip.drive(23, 1)  # reaches the child's pipe through /proc/PID/fd
    child.kill9()
    for level in (0, 1, 0):  # EPIPE / ENOENT: the subscriber goes, this process does not die
        chip.drive(23, level)
    mine = chip.request_events(23)
    chip.drive(23, 1)
    assert [r[3] for r in read_records(mine.fileno())] == [1]


def test_private_boards_are_invisible_to_other_processes(board):
    """A private board has no name and no segment: no other process can list or open it.
    (Checked by what carries this process's pid, so boards other test runs create at the same
    time on this machine do not disturb it.)"""
    shm = pathlib.Path("/dev/shm")
    before_files = set(p.name for p in shm.iterdir()) if shm.is_dir() else set()
    mine_before = sorted(b["name"] for b in rc.list_boards() if os.getpid() in b["pids"])
    private = rc.SimChip("bcm2711")
    private.drive(17, 1)
    private.wire([5, 6])
    assert private.board_name is None and private.attached_pids() == [os.getpid()]
    child = Child(f"""
        import rpio_core as rc
        print("boards", sorted(b["name"] for b in rc.list_boards() if {os.getpid()} in b["pids"]),
              flush=True)
    """)
    assert child.expect("boards ") == repr(mine_before)
    assert child.finish() == 0
    new_files = (set(p.name for p in shm.iterdir()) if shm.is_dir() else set()) - before_files
    assert not [name for name in new_files if name.startswith("rpio-sim.") and
                os.getpid() in next((b["pids"] for b in rc.list_boards()
                                     if name.endswith("." + b["name"])), [])]


def test_a_segment_that_is_not_a_board_is_refused_then_removed(board):
    path = pathlib.Path("/dev/shm") / rc.board_segment_path(board.name).lstrip("/")
    path.write_bytes(b"not a board".ljust(8192, b"\0"))
    path.chmod(0o600)  # this user's own file: its content is what is refused
    with pytest.raises(RuntimeError, match=f"board '{board.name}' is damaged: it is not an RPIO board"):
        rc.open_board(board.name, "bcm2711")
    assert rc.reset_board(board.name) is True
    assert not path.exists()
