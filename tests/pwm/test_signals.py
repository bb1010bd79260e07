"""The fatal-signal guard: stops the DMA when a signal would end the process, and only then."""

import os
import signal
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent("""
    import os, signal, sys, time
    from rpio_pwm import _pwm
    r, w = int(sys.argv[1]), int(sys.argv[2])
    _pwm.signal_guard_install_for_test(w)
    {body}
""")


def run_child(body, *extra):
    r, w = os.pipe()
    code = CHILD.format(body=textwrap.indent(textwrap.dedent(body), "").strip())
    p = subprocess.run([sys.executable, "-c", code, str(r), str(w), *extra], pass_fds=(r, w),
                       capture_output=True, text=True, timeout=30)
    os.close(w)
    os.set_blocking(r, False)
    try:
        hook = os.read(r, 100)
    except BlockingIOError:
        hook = b""
    os.close(r)
    return p, hook


def test_sigterm_stops_the_dma_then_terminates():
    p, hook = run_child("""
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        print("survived")
    """)
    assert hook == b"S"
    assert p.returncode == -signal.SIGTERM and "survived" not in p.stdout


def test_ctrl_c_is_still_keyboard_interrupt():
    p, hook = run_child("""
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            print("KeyboardInterrupt")
        print("alive")
    """)
    assert p.stdout.split() == ["KeyboardInterrupt", "alive"]
    assert hook == b""  # the program handled it: PWM keeps running
    assert p.returncode == 0


def test_an_ignored_signal_stays_ignored():
    p, hook = run_child("""
        os.kill(os.getpid(), signal.SIGPIPE)   # Python ignores SIGPIPE
        print("alive")
    """)
    assert p.stdout.strip() == "alive" and hook == b""


def test_sigwinch_is_not_touched():
    import rpio_pwm._pwm as _pwm

    assert signal.SIGWINCH not in _pwm.guarded_signals()
    assert signal.SIGCHLD not in _pwm.guarded_signals()
    assert signal.SIGTERM in _pwm.guarded_signals()


def test_python_handler_installed_later_wins():
    p, hook = run_child("""
        signal.signal(signal.SIGTERM, lambda *a: print("python handler"))
        os.kill(os.getpid(), signal.SIGTERM)
        print("alive")
    """)
    assert p.stdout.split() == ["python", "handler", "alive"] and hook == b""
