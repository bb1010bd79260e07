"""SIGTERM (systemd, docker stop, kill) ends a program as cleanly as Ctrl-C does.

Each program runs as a subprocess on a shared simulated board that this test also attaches to, so
the test sees what the program left behind after it died: its attachment, its event lines, the
level of a pin it drove with PWM. Before RPIO handled SIGTERM, the program died at once and left
all three. The exit status must still say "killed by SIGTERM", and a handler the program
installed itself must stay its own.
"""

from __future__ import annotations

import os
import select
import signal
import struct
import subprocess
import sys
import textwrap
import time

import pytest
import rpio_core as rc
from rpio_core import _core

# the kernel hands a process-directed signal to a thread that does not block it; qemu-user leaves it
# with the thread the host picked, blocked there for good (RPIO's threads block SIGTERM on purpose)
pytestmark = pytest.mark.native_kernel("a process-directed signal can stay pending on a thread that blocks it")

WAIT = 30.0
LAYOUT = _core._segment_layout()
PROCS: list = []


@pytest.fixture
def board(request):
    name = f"sigterm-{os.getpid()}-{request.node.name.replace('[', '-').strip(']')}"[:60]
    chip = rc.open_board(name, "bcm2711")
    yield name, chip
    while PROCS:  # a failed test never leaves its program running
        proc = PROCS.pop()
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=WAIT)
    chip.detach()
    rc.reset_board(name)


def start(name: str, body: str) -> subprocess.Popen:
    env = dict(os.environ, RPIO_BACKEND="sim", RPIO_SIM_SHARED=name, RPIO_SIM_BOARD="c03111",
               RPIO_PWM_BACKEND="software")  # RPIO.PWM's pulses land on the shared board
    env.pop("RPIO_SIM_CONFIG", None)
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(body)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    PROCS.append(proc)
    return proc


def expect(proc: subprocess.Popen, word: str) -> None:
    fd = proc.stdout.fileno()
    data = b""
    deadline = time.monotonic() + WAIT
    while word.encode() + b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            proc.kill()
            raise AssertionError(f"no {word!r} from the program: {data!r} {proc.communicate()[1]}")
        chunk = os.read(fd, 4096)
        if not chunk:
            raise AssertionError(f"the program ended before {word!r}: {proc.communicate()[1]}")
        data += chunk


def subscribers_of(name: str, pid: int) -> int:
    sub = LAYOUT["Subscriber"]
    with open("/dev/shm" + rc.board_segment_path(name), "rb") as f:
        data = f.read()
    count = 0
    for i in range(LAYOUT["subs"][1] // LAYOUT["sizeof.Subscriber"]):
        base = LAYOUT["subs"][0] + i * LAYOUT["sizeof.Subscriber"]
        sid, spid = struct.unpack_from("=Ii", data, base + sub["id"][0])
        count += bool(sid) and spid == pid
    return count


def listed(name: str, pid: int) -> bool:
    """The program is still listed on the board, alive or dead (no crash recovery ran yet)."""
    board = next(b for b in rc.list_boards() if b["name"] == name)
    return pid in board["pids"] or pid in board["dead_pids"]


def terminate(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == -signal.SIGTERM, (proc.returncode, err)
    return err


LOOP = """
    import RPIO
    RPIO.add_interrupt_callback(17, lambda gpio, value: None, edge="both")
    print("ready", flush=True)
    RPIO.wait_for_interrupts()
"""

EVENTS = """
    import time
    import RPIO as GPIO
    GPIO.setup(17, GPIO.IN)
    GPIO.add_event_detect(17, GPIO.BOTH, callback=lambda channel: None)
    print("ready", flush=True)
    time.sleep(3600)
"""

THREADED_LOOP = """
    import time
    import RPIO, rpio_core
    from rpio_interrupts import loop
    # Markers: the loop is stopped (its lines released) before the boards are left, as at exit.
    def marked(label, fn):
        def step():
            print(label, flush=True)
            fn()
        return step
    loop._shutdown_all = marked("step: loops stopped", loop._shutdown_all)
    rpio_core._shutdown = marked("step: boards left", rpio_core._shutdown)
    RPIO.add_interrupt_callback(17, lambda gpio, value: None, edge="both", threaded_callback=True)
    RPIO.wait_for_interrupts(threaded=True)
    print("ready", flush=True)
    time.sleep(3600)
"""


@pytest.mark.parametrize("body", [LOOP, EVENTS, THREADED_LOOP], ids=["loop", "event_detection", "threaded_loop"])
def test_sigterm_releases_lines_and_leaves_the_board(board, body):
    name, chip = board
    proc = start(name, body)
    expect(proc, "ready")
    assert subscribers_of(name, proc.pid) >= 1 and listed(name, proc.pid)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == -signal.SIGTERM, (proc.returncode, err)
    if body is THREADED_LOOP:
        steps = [line for line in out.splitlines() if line.startswith("step: ")]
        assert steps == ["step: loops stopped", "step: boards left"], (out, err)
    assert subscribers_of(name, proc.pid) == 0, f"its event line was left on the board: {err}"
    assert not listed(name, proc.pid), f"it never left the board: {err}"
    chip.drive(17, 1)  # the board works on: nobody is left to write to
    chip.drive(17, None)


SOFTWARE_PWM = """
    import time
    import RPIO as GPIO
    GPIO.setup(18, GPIO.OUT)
    p = GPIO.PWM(18, 50)
    p.start(100)  # constantly high while it runs
    print("ready", flush=True)
    time.sleep(3600)
"""


RPIO_PWM = """
    import time
    import RPIO
    from RPIO import PWM
    RPIO.setup(18, RPIO.OUT)  # software timing writes the latch; the pin must be an output
    PWM.setup()
    PWM.init_channel(0)
    PWM.add_channel_pulse(0, 18, 0, 1999)  # high 19.99 ms of every 20 ms
    print("ready", flush=True)
    time.sleep(3600)
"""


@pytest.mark.parametrize("body", [SOFTWARE_PWM, RPIO_PWM], ids=["GPIO.PWM", "RPIO.PWM"])
def test_sigterm_stops_pwm_with_its_pin_low(board, body):
    name, chip = board
    proc = start(name, body)
    expect(proc, "ready")
    deadline = time.monotonic() + WAIT
    while chip.level(18) != 1:
        assert time.monotonic() < deadline, "the PWM never drove the pin high"
        time.sleep(0.01)
    err = terminate(proc)
    assert chip.level(18) == 0, f"PWM left its pin high: {err}"
    assert chip.pin_state(18).function == rc.OUTPUT
    assert not listed(name, proc.pid)


USER_HANDLER = """
    import os, signal, sys
    def mine(signum, frame):
        os.write(1, b"mine\\n")  # not print(): the signal may come while print("ready") still flushes
        sys.exit(42)
    signal.signal(signal.SIGTERM, mine)
    import RPIO as GPIO
    assert signal.getsignal(signal.SIGTERM) is mine
    GPIO.setup(17, GPIO.IN)
    GPIO.add_event_detect(17, GPIO.BOTH, callback=lambda channel: None)
    print("ready", flush=True)
    import time
    time.sleep(3600)
"""


def test_a_handler_the_program_installed_stays_its_own(board):
    name, _ = board
    proc = start(name, USER_HANDLER)
    expect(proc, "ready")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 42 and "mine" in out, (proc.returncode, out, err)
    assert subscribers_of(name, proc.pid) == 0 and not listed(name, proc.pid)  # its exit cleaned up


def test_an_ignored_sigterm_stays_ignored_and_a_later_handler_wins():
    code = textwrap.dedent("""
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        import RPIO, RPIO._termination as t
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN and not t.installed()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        assert t.install() and t.installed()
        mine = lambda s, f: None
        signal.signal(signal.SIGTERM, mine)
        t.uninstall()  # not RPIO's any more: left alone
        assert signal.getsignal(signal.SIGTERM) is mine
        print("ok")
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=WAIT,
                         env=dict(os.environ, RPIO_BACKEND="sim"))
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr
