"""Background threads that leave the process's signals to the main thread.

The kernel hands a process-directed signal (SIGTERM from ``kill``, SIGINT from Ctrl-C) to any
thread that does not block it. Python runs signal handlers in the main thread only, when that thread
next runs bytecode: if the signal lands on a background thread while the main thread sleeps in
``time.sleep()`` or waits on a lock, the handler does not run until that wait ends, and a program
told to stop keeps running (seen under qemu-user, which delivers to whichever thread the host
picked; natively the kernel merely prefers the main thread). RPIO's own threads therefore start with
the asynchronous signals blocked (a new thread inherits its creator's mask); the faults (SIGSEGV,
SIGBUS, ...) stay with the thread that raises them.
"""

from __future__ import annotations

import signal
import threading

_FAULTS = {signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGTRAP, signal.SIGSYS,
           signal.SIGABRT}
ASYNC_SIGNALS = frozenset(signal.valid_signals()) - _FAULTS - {signal.SIGKILL, signal.SIGSTOP}


def start_signal_free(thread: threading.Thread) -> None:
    """``thread.start()``, the new thread blocking the asynchronous signals for its whole life."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, ASYNC_SIGNALS)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
