"""RPIO's former software PWM engine (a Python thread), kept for the benchmarks only as their
baseline (bench/pwm_soft.py, bench/pwm.py); rpio_pwm.software is the C++ engine that replaced it.

Software-timed PWM: one thread plays every pin's periodic waveform through ``write(gpio, level)``.

Used where no DMA engine can drive a pin (the Pi 5's pins without hardware PWM, or
``RPIO_PWM_BACKEND=software``) and by RPi.GPIO's PWM class when no DMA channel is free. Timing comes
from a sleeping Python thread, so edges land a few tens to hundreds of microseconds late under load;
the *schedule* is exact (every edge is computed from the pin's origin, so lateness never accumulates).

Deterministic use (tests, simulations): ``SoftwareEngine(write, clock_ns=fake, threaded=False)`` and
:meth:`run_until` to emit every edge up to a time.
"""

from __future__ import annotations

import bisect
import heapq
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

__all__ = ["SoftwareEngine", "edges_of"]

log = logging.getLogger("rpio_pwm")

Write = Callable[[int, int], None]


def edges_of(period: int, runs: Sequence[Tuple[int, int]]) -> Tuple[List[Tuple[int, int]], Optional[int]]:
    """Level changes of a periodic waveform high during ``runs`` ((start, end) with
    0 <= start < end <= period). Returns (edges, constant): edges as (offset, new level) sorted by
    offset, or no edges and the constant level (0 for no runs, 1 when the runs cover everything)."""
    if period <= 0:
        raise ValueError("period must be positive")

    def high(t: int) -> int:
        t %= period
        return int(any(s <= t < e for s, e in runs))

    points = sorted({s % period for s, _ in runs} | {e % period for _, e in runs})
    edges = []
    for p in points:
        before = high(p - 1) if period > 1 else 1 - high(p)
        lv = high(p)
        if lv != before:
            edges.append((p, lv))
    if edges:
        return edges, None
    return [], high(0)


@dataclass
class _Pin:
    gpio: int
    period: int
    origin: int
    edges: List[Tuple[int, int]]
    constant: Optional[int]
    offsets: List[int] = field(default_factory=list)
    level: Optional[int] = None
    cursor: int = 0

    def __post_init__(self):
        self.offsets = [o for o, _ in self.edges]

    def level_at(self, t: int) -> int:
        if self.constant is not None:
            return self.constant
        off = (t - self.origin) % self.period
        i = bisect.bisect_right(self.offsets, off) - 1
        return self.edges[i][1] if i >= 0 else self.edges[-1][1]

    def next_edge(self, after: int) -> Tuple[int, int]:
        rel = after - self.origin
        k, off = divmod(rel, self.period)
        i = bisect.bisect_right(self.offsets, off)
        if i == len(self.offsets):
            k, i = k + 1, 0
        return self.origin + k * self.period + self.offsets[i], self.edges[i][1]


class SoftwareEngine:
    """Plays periodic waveforms on several pins by calling ``write(gpio, level)``."""

    def __init__(self, write: Write, *, clock_ns: Callable[[], int] = time.monotonic_ns, threaded: bool = True):
        self._write = write
        self._clock = clock_ns
        self._threaded = threaded
        self._pins: Dict[int, _Pin] = {}
        self._cond = threading.Condition()
        self._thread: Optional[threading.Thread] = None
        self._stopping = False
        self.writes = 0
        self.max_late_ns = 0
        self.due_ns = 0  # when the edge being written was due (valid inside write())
        self.errors: List[BaseException] = []

    # ---- schedule
    def set_pin(self, gpio: int, period_ns: int, runs_ns: Sequence[Tuple[int, int]]) -> None:
        """High during ``runs_ns`` of every period. A pin whose period does not change keeps its
        phase, so an edit takes effect from the next edge on."""
        period_ns = int(period_ns)
        runs = [(int(s), int(e)) for s, e in runs_ns]
        for s, e in runs:
            if not 0 <= s < e <= period_ns:
                raise ValueError(f"run ({s}, {e}) is outside the period {period_ns}")
        edges, constant = edges_of(period_ns, runs)
        with self._cond:
            now = self._clock()
            old = self._pins.get(gpio)
            origin = old.origin if old is not None and old.period == period_ns else now
            pin = _Pin(gpio, period_ns, origin, edges, constant,
                       level=old.level if old else None, cursor=now)
            self._pins[gpio] = pin
            lv = pin.level_at(now)
            if pin.level != lv:
                self._emit(pin, lv, now, now)
            self._cond.notify_all()
        self._ensure_thread()

    def remove_pin(self, gpio: int, level: Optional[int] = 0) -> None:
        """Stops driving ``gpio``; writes ``level`` to it last (None: leave it as it is)."""
        with self._cond:
            pin = self._pins.pop(gpio, None)
            if level is not None and (pin is None or pin.level != level):
                self.due_ns = self._clock()
                self._write(gpio, level)
                self.writes += 1
            self._cond.notify_all()

    def pins(self) -> List[int]:
        with self._cond:
            return sorted(self._pins)

    # ---- running
    def next_event_ns(self) -> Optional[int]:
        with self._cond:
            return self._next_time()

    def run_until(self, t_ns: int) -> int:
        """Emits every edge due at or before ``t_ns``; returns how many."""
        with self._cond:
            return self._run_until(int(t_ns))

    def stop(self) -> None:
        """Stops the thread (pins keep their last level; remove_pin them first to drive them low)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=5)
        self._thread = None
        self._stopping = False

    # ---- internals (called with the lock held)
    def _emit(self, pin: _Pin, level: int, due: int, now: int) -> None:
        self.due_ns = due
        try:
            self._write(pin.gpio, level)
        except Exception as e:  # a failing writer must not kill the thread: drop that pin
            self.errors.append(e)
            log.error("software PWM: writing GPIO %s failed (%s); the pin is no longer driven", pin.gpio, e)
            self._pins.pop(pin.gpio, None)
            return
        pin.level = level
        self.writes += 1
        self.max_late_ns = max(self.max_late_ns, now - due)

    def _next_time(self) -> Optional[int]:
        best = None
        for pin in self._pins.values():
            if pin.constant is None:
                t, _ = pin.next_edge(pin.cursor)
                best = t if best is None or t < best else best
        return best

    def _run_until(self, t: int) -> int:
        heap = []
        for pin in self._pins.values():
            if pin.constant is None:
                nt, lv = pin.next_edge(pin.cursor)
                heap.append((nt, pin.gpio, lv))
        heapq.heapify(heap)
        n = 0
        now = self._clock() if self._threaded else t
        while heap and heap[0][0] <= t:
            nt, g, lv = heapq.heappop(heap)
            pin = self._pins.get(g)
            if pin is None:
                continue
            pin.cursor = nt
            if pin.level != lv:
                self._emit(pin, lv, nt, max(now, nt))
                n += 1
            if g in self._pins:
                nnt, nlv = pin.next_edge(nt)
                heapq.heappush(heap, (nnt, g, nlv))
        for pin in self._pins.values():
            pin.cursor = max(pin.cursor, t)
        return n

    def _ensure_thread(self) -> None:
        if not self._threaded or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="rpio-pwm-software", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        with self._cond:
            while not self._stopping:
                nxt = self._next_time()
                if nxt is None:
                    self._cond.wait()
                    continue
                now = self._clock()
                if nxt > now:
                    self._cond.wait((nxt - now) / 1e9)
                    continue
                self._run_until(now)
