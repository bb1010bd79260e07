"""Software-timed PWM: the C++ engine (``rpio_pwm._pwm.SoftEngine``), one thread of its own per
engine, no Python and no GIL in its loop.

Used where no DMA engine, PIO state machine or hardware PWM drives a pin (RPi.GPIO's PWM class on
the simulated board, ``RPIO_PWM_BACKEND=software``, Pi 5 pins without hardware PWM, a Pi 0-4 with
no free DMA channel). Edges are due at absolute times computed from each pin's origin (lateness never
accumulates); the thread waits on a condition variable, then ``clock_nanosleep(TIMER_ABSTIME)``, then
spins the last microseconds. A frequency the thread cannot keep (edges closer than about 20 us) is
run as closely as it can, with one log line; whole periods it misses are skipped, never queued, so
``start``/``ChangeDutyCycle``/``stop`` always return at once.

The writer, in order of preference:

* ``rpio_core.pin_writer(driver)``: RPIO's own register driver (the umbrella passes it), called from
  the engine's thread without the GIL; on the simulated board the edges land in the board's history
  at their true times;
* a :class:`rpio_pwm.chardev.ChardevWriter` (rpio_pwm installed alone): the engine sets the lines
  through their character-device file descriptors itself;
* any Python ``write(gpio, level)`` callable: the loop stays in C++, each write takes the GIL.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from typing import Callable, List, Optional, Sequence, Tuple

from rpio_pwm import _pwm

__all__ = ["SoftwareEngine", "edges_gap_ns", "stop_all"]

log = logging.getLogger("rpio_pwm")

_engines: weakref.WeakSet[SoftwareEngine] = weakref.WeakSet()
_engines_lock = threading.Lock()


def realtime_priority() -> int:
    """The SCHED_FIFO priority engine threads ask for: ``RPIO_PWM_RT_PRIORITY`` (default 10; 0 turns it
    off). Granted only where the process may (root, CAP_SYS_NICE, RLIMIT_RTPRIO); elsewhere the
    thread runs at normal priority. The thread sleeps between edges and backs off when it falls a
    period behind, and it holds the priority only while no pin's period is shorter than 500 us
    (2 kHz): a faster PWM runs at normal priority, so a real-time thread spinning before its edges
    never eats a core (a Pi Zero has only one)."""
    import os

    try:
        return max(0, min(99, int(os.environ.get("RPIO_PWM_RT_PRIORITY", "10"))))
    except ValueError:
        return 0


def edges_gap_ns(period: int, runs: Sequence[Tuple[int, int]]) -> Optional[int]:
    """The shortest time between two level changes of the waveform (None for a constant level)."""
    points = sorted({s % period for s, _ in runs} | {e % period for _, e in runs})

    def high(t: int) -> bool:
        t %= period
        return any(s <= t < e for s, e in runs)

    edges = [p for p in points if high(p) != high(p - 1)]
    if not edges:
        return None
    gaps = [b - a for a, b in zip(edges, edges[1:])] + [edges[0] + period - edges[-1]]
    return min(gaps)


class SoftwareEngine:
    """Plays periodic waveforms on pins from a C++ thread.

    ``write``: an rpio_core pin-writer capsule, a ChardevWriter, a callable, or ``"record"`` (tests:
    every write kept in memory, see :meth:`recorded`). ``threaded=False``: no thread; :meth:`run_until`
    writes the due edges, and ``clock_ns`` (if given) is "now" for :meth:`set_pin`.
    """

    def __init__(self, write, *, clock_ns: Optional[Callable[[], int]] = None, threaded: bool = True):
        from rpio_pwm.chardev import ChardevWriter

        self._chardev = write if isinstance(write, ChardevWriter) else None
        self._engine = _pwm.SoftEngine("lines" if self._chardev is not None else write, threaded)
        self._engine.set_realtime_priority(realtime_priority())
        self._clock = clock_ns
        self._warned = set()
        self._lock = threading.Lock()
        with _engines_lock:
            _engines.add(self)

    @property
    def writer_kind(self) -> str:
        return self._engine.writer_kind

    # ---- schedule
    def set_pin(self, gpio: int, period_ns: int, runs_ns: Sequence[Tuple[int, int]]) -> None:
        """High during ``runs_ns`` ((start, end) in ns) of every period. A pin whose period does not
        change keeps its phase, so an edit lands from the next edge on."""
        period = int(period_ns)
        runs = [(int(s), int(e)) for s, e in runs_ns]
        if self._chardev is not None:
            self._engine.set_line_fd(gpio, self._chardev._line(gpio, 0))
        gap = edges_gap_ns(period, runs) if period > 0 and all(0 <= s < e <= period for s, e in runs) else None
        with self._lock:
            if gap is not None and gap < _pwm.SOFT_MIN_EDGE_GAP_NS and gpio not in self._warned:
                self._warned.add(gpio)
                log.warning("GPIO %d: %.6g Hz PWM has edges %.3g us apart; software timing keeps edges "
                            "about %d us apart at best, so it runs as closely as it can",
                            gpio, 1e9 / period, gap / 1000, _pwm.SOFT_MIN_EDGE_GAP_NS // 1000)
        self._engine.set_pin(gpio, period, runs, self._clock() if self._clock is not None else -1)

    def make_output(self, gpio: int) -> None:
        """Make ``gpio`` an output, low, through the writer (rpio_core's driver table; a character
        device line is requested as an output anyway; a callable writer is left to its owner)."""
        self._engine.make_output(gpio)

    def remove_pin(self, gpio: int, level: Optional[int] = 0) -> None:
        """Stops driving ``gpio``; writes ``level`` to it last (None: leave it as it is)."""
        now = -1
        if self._clock is not None:
            now = self._clock()
            if not self._engine.threaded:
                self._engine.run_until(now)  # manual mode: the edges due before the removal
        self._engine.remove_pin(gpio, level, now)
        with self._lock:
            self._warned.discard(gpio)

    def pins(self) -> List[int]:
        return self._engine.pins()

    # ---- running
    def run_until(self, t_ns: int) -> int:
        """Manual mode: writes every edge due at or before ``t_ns``; returns how many."""
        return self._engine.run_until(int(t_ns))

    def next_event_ns(self) -> Optional[int]:
        return self._engine.next_event_ns()

    def stop(self) -> None:
        """Stops the thread (pins keep their last level; remove_pin them first to drive them low).
        A later set_pin starts it again."""
        self._engine.stop()

    # ---- observation
    def stats(self) -> dict:
        return self._engine.stats()

    def set_edge_log(self, n: int) -> None:
        """Keep the last ``n`` scheduled edges: :meth:`edge_log` gives (due_ns, written_ns, gpio, level)."""
        self._engine.set_edge_log(n)

    def edge_log(self) -> List[Tuple[int, int, int, int]]:
        return self._engine.edge_log()

    def recorded(self) -> List[Tuple[int, int, int]]:
        return self._engine.recorded()

    def set_spin_ns(self, ns: int) -> None:
        self._engine.set_spin_ns(ns)

    @property
    def due_ns(self) -> int:
        """Inside a write: the time it was due (the edge's time, or now for set_pin/remove_pin)."""
        return self._engine.due_ns

    @property
    def realtime(self) -> bool:
        """Whether the thread got its SCHED_FIFO priority (known once it has started)."""
        return self._engine.realtime

    @property
    def writes(self) -> int:
        return self._engine.stats()["writes"]


def stop_all() -> None:
    """Stops every engine's thread (at exit: a program ends normally with PWM running)."""
    with _engines_lock:
        engines = list(_engines)
    for e in engines:
        try:
            e.stop()
        except Exception:  # exiting anyway
            pass


atexit.register(stop_all)
