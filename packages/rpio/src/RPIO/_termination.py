"""SIGTERM ends a program that uses RPIO as cleanly as Ctrl-C does.

systemd, ``docker stop`` and ``kill`` send SIGTERM, whose default action ends the process at once:
no ``finally``, no ``atexit``. A program stopped that way while PWM, event detection or RPIO's
interrupt loop runs would leave DMA running on a Pi (pulses without a program), pins held, and
its event lines and attachment on a shared simulated board. So at import RPIO installs a SIGTERM
handler, only if SIGTERM still has its default disposition (a handler the program installed
first, or SIG_IGN, is left alone; a handler installed later replaces RPIO's, and is then the
program's to run RPIO.cleanup() from). The handler does what an exit after Ctrl-C does for RPIO's
parts, in the same order (PWM objects stopped with their pins driven low, RPIO.PWM's DMA or
software timing stopped, interrupt loops stopped with their lines released, the simulated boards
left), then restores the default disposition and sends SIGTERM again, so that the process still
ends "killed by SIGTERM" (exit status 143 in a shell, what a supervisor expects).

Plain outputs keep their levels, as after Ctrl-C (RPi.GPIO never resets pins at exit; call
cleanup() for that). The cleanup runs in the main thread, where Python runs signal handlers (an
interrupt loop running there then ends from inside, and the locks RPIO's parts hold are re-entrant),
watched by a timer: if it has not finished after CLEANUP_TIMEOUT seconds, the process ends anyway,
as a stop request must never hang. Python runs a handler between bytecodes: a main thread inside
one long C call (a 10 s button_bounce, say) ends when that call returns. The handler acts only in
the process that installed it: a forked child (say, of multiprocessing) ends by the default action,
leaving its parent's PWM alone.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

log = logging.getLogger("RPIO")

CLEANUP_TIMEOUT = 5.0

_installed_pid = 0


def _stop_gpio_pwm() -> None:
    """RPi.GPIO-style PWM objects (GPIO.PWM): stopped, their pins driven low."""
    pwm = sys.modules.get("RPIO.PWM")
    live = getattr(getattr(pwm, "GpioPWM", None), "_live", None)
    if live is not None:
        for obj in list(live.values()):
            obj.stop()


def _stop_rpio_pwm() -> None:
    """RPIO.PWM (rpio_pwm): DMA channels, pacer and software timing stopped."""
    session = sys.modules.get("rpio_pwm._session")
    if session is not None:
        session._at_exit()


def _stop_interrupts() -> None:
    """Every interrupt loop (RPIO's, RPi.GPIO's event detection, RPIO.aio's): lines released."""
    loop = sys.modules.get("rpio_interrupts.loop")
    if loop is not None:
        loop._shutdown_all()


def _leave_boards() -> None:
    """The simulated boards: this process's event lines and generators leave them."""
    core = sys.modules.get("rpio_core")
    if core is not None:
        core._shutdown()


STEPS = (_stop_gpio_pwm, _stop_rpio_pwm, _stop_interrupts, _leave_boards)


def cleanup_for_exit() -> None:
    """What an exit after Ctrl-C does for RPIO's parts; each step runs even if one before fails."""
    for step in STEPS:
        try:
            step()
        except Exception:  # noqa: BLE001 - ending anyway: say what failed, go on
            log.exception("RPIO cleanup on SIGTERM: %s failed", step.__name__)


def _on_sigterm(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    if os.getpid() == _installed_pid:
        # In this (the main) thread: a loop running here sees the cleanup as coming from inside,
        # and the locks it may hold are re-entrant. A watchdog ends the process if it hangs.
        watchdog = threading.Timer(CLEANUP_TIMEOUT, _give_up)
        watchdog.daemon = True
        watchdog.start()
        cleanup_for_exit()
        watchdog.cancel()
    _flush()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    os.kill(os.getpid(), signal.SIGTERM)
    os._exit(128 + signal.SIGTERM)  # not reached: SIGTERM's default action ends the process


def _give_up() -> None:
    log.error("RPIO cleanup on SIGTERM did not finish within %.0f s; ending anyway", CLEANUP_TIMEOUT)
    _flush()
    os.kill(os.getpid(), signal.SIGTERM)  # the default disposition is back: the process ends


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed or broken stream
            pass


def install() -> bool:
    """Installs the handler if SIGTERM has its default disposition and this is the main thread.
    True if RPIO's handler is (now) installed."""
    global _installed_pid
    if threading.current_thread() is not threading.main_thread():
        return False
    current = signal.getsignal(signal.SIGTERM)
    if current is _on_sigterm:
        return True
    if current is not signal.SIG_DFL:
        return False
    signal.signal(signal.SIGTERM, _on_sigterm)
    _installed_pid = os.getpid()
    return True


def uninstall() -> None:
    """Restores the default disposition, if RPIO's handler is still the one installed."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is _on_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def installed() -> bool:
    return signal.getsignal(signal.SIGTERM) is _on_sigterm
