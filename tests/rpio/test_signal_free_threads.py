"""Every thread RPIO's C++ starts (the software PWM engine, the DMA model's and the PIO emulator's
pumps, the simulated board's generators) blocks the asynchronous signals, so SIGTERM and SIGINT
reach a thread Python can act on. A SIGTERM taken by a C++ worker left the main thread asleep in
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
        with open(f"/proc/self/task/{tid}/status") as status:
            for line in status:
                if line.startswith("SigBlk:"):
                    return int(line.split()[1], 16)

    before = tids()
    START
    python_threads = {t.native_id for t in threading.enumerate()}
    new = tids() - before - python_threads
    assert new, "no C++ thread was started"
    for tid in new:
        mask = blocked(tid)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1):
            assert mask >> (sig - 1) & 1, f"thread {tid} takes {sig.name} (SigBlk {mask:x})"
        for sig in (signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE):
            assert not mask >> (sig - 1) & 1, f"thread {tid} blocks the fault {sig.name}"
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
}


@pytest.mark.parametrize("what", sorted(STARTS))
def test_cpp_threads_leave_sigterm_to_python(what):
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

