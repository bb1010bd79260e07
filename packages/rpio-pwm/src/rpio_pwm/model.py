"""The simulated board: inspect (and, in manual-clock mode, drive) the model's time and waveform.

When no Raspberry Pi is found (or ``RPIO_PWM_BACKEND=model``), rpio_pwm runs its DMA controller
against :class:`rpio_pwm._pwm.SimSoc`, a simulated DMA engine + pacing FIFO + GPIO block that
executes the control blocks the compiler wrote. :func:`board` returns a :class:`SimBoard` for it.

Clock modes (``RPIO_PWM_MODEL_CLOCK``):

* ``wall`` (default): model time follows time.monotonic() since setup(); the model catches up
  lazily, in C++, whenever rpio_pwm is called or the waveform is read (no thread, no Python work per
  pulse). Idle gaps longer than ``RPIO_PWM_MODEL_CATCHUP_US`` (default 2 s) are skipped with the
  pins held, so the history shows the last stretch in full.
* ``manual``: model time moves only through :meth:`SimBoard.advance_us` -- deterministic, for tests.
"""

from __future__ import annotations

import contextlib
from typing import List, Optional, Tuple

from rpio_pwm import _pwm

__all__ = ["SimBoard", "board", "TICKS_PER_US"]

TICKS_PER_US = _pwm.TICKS_PER_US


class SimBoard:
    """A view of one SimSoc in microseconds."""

    def __init__(self, sim: _pwm.SimSoc, sync=None, held=None):
        self.sim = sim
        self._sync = sync or (lambda: None)
        self._held = held or contextlib.nullcontext  # holds the model against a pump thread

    @property
    def soc(self) -> str:
        return self.sim.soc

    @property
    def now_us(self) -> float:
        with self._held():
            self._sync()
            return self.sim.now / TICKS_PER_US

    @property
    def now_ticks(self) -> int:
        with self._held():
            self._sync()
            return self.sim.now

    def advance_us(self, us: int) -> None:
        """Runs the model forward by ``us`` microseconds (whole or a multiple of 1/720720)."""
        ticks = round(us * TICKS_PER_US)
        if ticks < 0:
            raise ValueError("cannot run the model backwards")
        with self._held():
            self.sim.advance(ticks)

    def run_until_us(self, t_us: float) -> None:
        with self._held():
            self.sim.run_until(round(t_us * TICKS_PER_US))

    def level(self, gpio: int) -> int:
        with self._held():
            self._sync()
            return self.sim.level(gpio)

    def transitions(self, gpio: Optional[int] = None, since_us: float = 0.0) -> List[Tuple[float, int, int]]:
        """(t_us, gpio, level) for every change of a pin's level, oldest first."""
        with self._held():
            self._sync()
            raw = self.sim.transitions()
        since = round(since_us * TICKS_PER_US)
        return [(t / TICKS_PER_US, g, lv) for (t, g, lv) in raw
                if (gpio is None or g == gpio) and t >= since]

    def transitions_ticks(self, gpio: Optional[int] = None) -> List[Tuple[int, int, int]]:
        with self._held():
            self._sync()
            raw = self.sim.transitions()
        return [tr for tr in raw if gpio is None or tr[1] == gpio]

    def pulses(self, gpio: int, since_us: float = 0.0) -> List[Tuple[float, float]]:
        """Completed high pulses of ``gpio`` as (start_us, width_us)."""
        out, rise = [], None
        for t, _, lv in self.transitions(gpio, since_us):
            if lv:
                rise = t
            elif rise is not None:
                out.append((rise, t - rise))
                rise = None
        return out

    def ring_starts_us(self, dma_channel: int) -> List[float]:
        """When ``dma_channel`` began each subcycle (fetched its first control block)."""
        with self._held():
            self._sync()
            raw = self.sim.ring_starts(dma_channel)
        return [t / TICKS_PER_US for t in raw]

    def clear_history(self) -> None:
        with self._held():
            self.sim.clear_transitions()

    def __repr__(self) -> str:
        return f"<SimBoard {self.sim.soc} t={self.sim.now / TICKS_PER_US:.3f}us>"


def board() -> SimBoard:
    """The simulated board of the running session (after setup() on the model backend)."""
    from rpio_pwm import _session

    be = _session.backend()
    sim = getattr(be, "sim", None)
    if sim is None:
        raise _pwm.PWMError("the PWM backend is not the model (RPIO_PWM_BACKEND=model selects it)")
    return SimBoard(sim, be.sync, be.held)
