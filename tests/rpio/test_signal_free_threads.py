"""Every thread RPIO starts, in C++ (the software PWM engine, the DMA model's and the PIO emulator's
pumps, the simulated board's generators) and in Python (the interrupt loop, callback workers, the
VCD recorder, the board page), blocks the asynchronous signals, so SIGTERM and SIGINT reach the main
thread, where Python acts on them. A SIGTERM taken by a C++ worker left the main thread asleep in
time.sleep() and the program running (seen under qemu-user, where delivery to any thread is
common; natively the kernel merely prefers the main thread)."""

import os
import subprocess
import sys
import textwrap

import pytest

PROBE = """
    import os, signal, threading, time
    import RPIO

    def tids():
        return {int(t) for t in os.listdir("/proc/self/task")}

    def blocked(tid):
        # glibc starts a thread with every signal blocked and sets the inherited mask once it runs:
        # wait for that (a thread that never unblocks SIGSEGV is reported after 30 s)
        deadline = time.monotonic() + 30
        while True:
            with open(f"/proc/self/task/{tid}/status") as status:
                mask = next(int(line.split()[1], 16) for line in status if line.startswith("SigBlk:"))
            if not mask >> (signal.SIGSEGV - 1) & 1 or time.monotonic() > deadline:
                return mask
            time.sleep(0.001)

    before = tids()
    START
    new = tids() - before - {threading.main_thread().native_id}
    assert new, "no thread was started"
    for tid in new:
        mask = blocked(tid)
        with open(f"/proc/self/task/{tid}/comm") as comm:
            name = comm.read().strip()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1):
            assert mask >> (sig - 1) & 1, f"thread {tid} ({name}) takes {sig.name} (SigBlk {mask:x})"
        for sig in (signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE):
            assert not mask >> (sig - 1) & 1, f"thread {tid} ({name}) blocks the fault {sig.name} (SigBlk {mask:x})"
    print("checked", len(new))
"""

STARTS = {
    "software PWM engine": ("c03111", """
        RPIO.setup(18, RPIO.OUT)
        p = RPIO.PWM(18, 50)
        p.start(50)
    """),
    "DMA model pump": ("c03111", """
        from RPIO import PWM
        PWM.Servo().set_servo(17, 1500)
    """),
    "PIO emulator pump": ("d04170", """
        RPIO.setup(6, RPIO.OUT)
        p = RPIO.PWM(6, 100)
        p.start(25)
    """),
    "board generator": ("c03111", """
        RPIO.sim.Generator("clock", 5, 200).start()
    """),
    "interrupt loop and callback workers": ("c03111", """
        ran = threading.Event()
        RPIO.add_interrupt_callback(17, lambda gpio, value: ran.set(), edge="both", threaded_callback=True)
        RPIO.wait_for_interrupts(threaded=True)
        RPIO.sim.drive(17, 1)
        assert ran.wait(60), "the threaded callback never ran"
    """),
    "RPi.GPIO event detection": ("c03111", """
        RPIO.setup(17, RPIO.IN)
        RPIO.add_event_detect(17, RPIO.BOTH, callback=lambda channel: None)
    """),
    "VCD recorder and board page": ("c03111", """
        from RPIO.workbench.server import BoardServer
        from RPIO.workbench.vcd import Recorder
        Recorder([17]).start()
        BoardServer(port=0).start()
    """),
}


@pytest.mark.parametrize("what", sorted(STARTS))
def test_rpio_threads_leave_sigterm_to_python(what):
    model, start = STARTS[what]
    script = textwrap.dedent(PROBE).replace("START", textwrap.dedent(start).strip())
    env = dict(os.environ, RPIO_BACKEND="sim", RPIO_SIM_BOARD=model)
    env.pop("RPIO_SIM_CONFIG", None)
    env.pop("RPIO_SIM_SHARED", None)
    if what == "software PWM engine":
        env["RPIO_PWM_BACKEND"] = "software"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("checked ")

