"""RPi.GPIO's ``PWM(channel, frequency)`` class, built for a host that knows its own GPIO state.

The umbrella package binds it::

    PWM = make_pwm_class(check_output, write)           # RPIO's GPIO.PWM

* ``check_output(channel) -> gpio``: maps the user's channel (BOARD/BCM) and raises RPi.GPIO's
  ``RuntimeError('You must setup() the GPIO channel as an output first')`` unless it is an output.
* ``write(gpio, level)``: drives the pin (software timing, and the final LOW of ``stop()``).
* ``choose_engine(gpio, write) -> engine`` (optional): where the waveform comes from. The default,
  :func:`default_engine`, takes a free DMA channel of rpio_pwm's backend (hardware or model) where
  there is one, the kernel's hardware PWM on a Pi 5 pin that has it, and a software timer otherwise.
* ``to_gpio(channel) -> gpio`` (optional): if given, RPi.GPIO's check order is kept exactly
  (the "already exists" check comes before the output check).
* ``parse_channel(obj) -> int`` (optional): the host's ``i`` format unit (C int range and texts);
  ``operator.index`` by default.

An engine has ``start(frequency, dutycycle)``, ``update(frequency, dutycycle)`` and ``stop()``;
``stop()`` leaves the pin low.
"""

from __future__ import annotations

import ctypes
import inspect
import logging
import math
import operator
import threading
import weakref
from typing import Callable, Dict, Optional, Tuple

from rpio_pwm import _session
from rpio_pwm.errors import DMAChannelBusyError, PWMError

__all__ = ["make_pwm_class", "default_engine", "DmaPwmEngine", "SoftwarePwmEngine", "SysfsPwmEngine", "PioPwmEngine"]

log = logging.getLogger("rpio_pwm")

_FREQ_MSG = "frequency must be greater than 0.0"
_DC_MSG = "dutycycle must have a value from 0.0 to 100.0"


def _real(value) -> float:
    """float(value) with C's PyFloat_AsDouble errors: a str is a TypeError, not a ValueError."""
    kind = type(value)
    if isinstance(value, (str, bytes, bytearray)) or not (hasattr(kind, "__float__") or hasattr(kind, "__index__")):
        raise TypeError(f"must be real number, not {type(value).__name__}")
    return float(value)


def _float32(value) -> float:
    """The ``f`` format unit of PyArg_ParseTuple: a real number, stored as a C float (1e-50 becomes
    0.0, 100.000001 becomes 100.0, 1e39 becomes inf; NaN stays NaN)."""
    return ctypes.c_float(_real(value)).value


def _frequency(value) -> float:
    f = _float32(value)
    if f <= 0.0:  # RPi.GPIO's test: NaN passes, as it does there
        raise ValueError(_FREQ_MSG)
    return f


def _dutycycle(value) -> float:
    dc = _float32(value)
    if dc < 0.0 or dc > 100.0:  # RPi.GPIO's test: NaN passes, as it does there
        raise ValueError(_DC_MSG)
    return dc


def _varargs(method: str, args: tuple, kwargs: dict, count: int) -> list:
    """A METH_VARARGS method parsed with PyArg_ParseTuple: CPython's own TypeError texts."""
    if kwargs:
        raise TypeError(f"{method}() takes no keyword arguments")
    return _varargs_only(args, count)


def _signature(*names: str) -> inspect.Signature:
    """What inspect (and mock's autospec) shows for a method taking ``names`` positionally."""
    kind = inspect.Parameter.POSITIONAL_ONLY
    return inspect.Signature([inspect.Parameter(name, kind) for name in ("self",) + names])


# The highest frequency the class asks an engine for. RPi.GPIO accepts any positive float (up to
# inf) and its timer thread then spins; its software PWM never got near this anyway.
MAX_DRIVEN_FREQUENCY = 100_000.0


def _waveform(frequency: float, dutycycle: float, previous: Optional[float]) -> Tuple[float, float]:
    """What the engine is asked for. RPi.GPIO accepts NaN and inf (its timer thread then spins);
    RPIO stores and accepts them too, but drives the pin with the last finite frequency (1 kHz,
    RPi.GPIO's own default, if there was none), at most MAX_DRIVEN_FREQUENCY, and a NaN duty
    cycle as 0 %."""
    if not math.isfinite(frequency):
        frequency = previous if previous is not None else 1000.0
    frequency = min(frequency, MAX_DRIVEN_FREQUENCY)
    if math.isnan(dutycycle):
        dutycycle = 0.0
    return frequency, dutycycle


# ---------------------------------------------------------------- engines
class SoftwarePwmEngine:
    """A software timer (one shared thread) driving the pin through ``write``."""

    _shared: Dict[int, object] = {}
    _lock = threading.Lock()

    def __init__(self, gpio: int, write: Callable[[int, int], None], engine=None):
        from rpio_pwm.software import SoftwareEngine

        self.gpio = gpio
        if engine is None:
            # The host's C pin-writer table when it gives one (RPIO's driver, no GIL per write),
            # else ``write`` itself. One engine (one thread) per writer.
            cap = _session._pin_writer_source() if _session._pin_writer_source is not None else None
            target = write if cap is None else cap
            with SoftwarePwmEngine._lock:
                found = SoftwarePwmEngine._shared.get(id(target))
                if found is not None and found[0] is target:
                    engine = found[1]
                else:
                    if cap is not None:  # a new board: the engines of the old one stop
                        for old_target, old_engine in list(SoftwarePwmEngine._shared.values()):
                            if not callable(old_target):
                                old_engine.stop()
                        SoftwarePwmEngine._shared = {k: v for k, v in SoftwarePwmEngine._shared.items()
                                                     if callable(v[0])}
                    engine = SoftwareEngine(target)
                    SoftwarePwmEngine._shared[id(target)] = (target, engine)
        self.engine = engine

    def start(self, frequency: float, dutycycle: float) -> None:
        self.update(frequency, dutycycle)

    def update(self, frequency: float, dutycycle: float) -> None:
        period = max(1, round(1e9 / frequency))
        high = round(period * dutycycle / 100.0)
        self.engine.set_pin(self.gpio, period, [(0, high)] if high > 0 else [])

    def stop(self) -> None:
        self.engine.remove_pin(self.gpio, level=0)


class DmaPwmEngine:
    """A DMA channel of its own (the period is rounded to the pulse increment)."""

    def __init__(self, gpio: int, backend=None):
        self.gpio = gpio
        self.backend = backend
        self.channel: Optional[int] = None
        self.period_us = 0

    def _ensure(self):
        if self.backend is None:
            self.backend = _session.ensure_backend()
        be = self.backend
        be.sync()
        if not be.is_setup():
            be.setup(10, 0)
        return be

    def _period(self, be, frequency: float) -> int:
        incr = be.incr_us
        n = max(2, round(1e6 / frequency / incr))
        return n * incr

    def start(self, frequency: float, dutycycle: float) -> None:
        be = self._ensure()
        period = self._period(be, frequency)
        taken = set(be.initialized_channels())
        busy = []
        for ch in be.candidate_channels():
            if ch in taken:
                continue
            try:
                be.init_channel(ch, period, False)
            except DMAChannelBusyError:  # another program's channel: never taken over
                busy.append(ch)
                continue
            self.channel, self.period_us = ch, period
            break
        else:
            raise PWMError("no free DMA channel for another PWM" +
                           (f" (channels {', '.join(map(str, busy))} are held by other programs)" if busy else ""))
        self._pulse(be, dutycycle)

    def _pulse(self, be, dutycycle: float) -> None:
        n = self.period_us // be.incr_us
        width = round(n * dutycycle / 100.0)
        be.set_pulses(self.channel, self.gpio, [(0, width)] if width else [])

    def update(self, frequency: float, dutycycle: float) -> None:
        be = self._ensure()
        period = self._period(be, frequency)
        if period != self.period_us:
            be.release_channel(self.channel)
            be.init_channel(self.channel, period, False)
            self.period_us = period
        self._pulse(be, dutycycle)

    def stop(self) -> None:
        if self.channel is not None and self.backend is not None:
            be = self.backend
            be.sync()
            if be.is_setup() and be.is_channel_initialized(self.channel):
                be.release_channel(self.channel)  # drives the pin low
        self.channel = None


class SysfsPwmEngine:
    """The kernel's hardware PWM channel of the pin (Pi 5: GPIO 12/13/18/19)."""

    def __init__(self, gpio: int, chip, channel: int):
        self.gpio, self.chip, self.channel = gpio, chip, channel

    def start(self, frequency: float, dutycycle: float) -> None:
        self.update(frequency, dutycycle)

    def update(self, frequency: float, dutycycle: float) -> None:
        period = max(1, round(1e9 / frequency))
        self.chip.configure(self.channel, period, round(period * dutycycle / 100.0))

    def stop(self) -> None:
        self.chip.disable(self.channel)


class PioPwmEngine:
    """A PIO state machine of the RP1 (Pi 5, or the simulated Pi 5's emulator): period and width
    exact, a change lands on a period boundary. start() raises PWMError when all 4 are taken."""

    def __init__(self, gpio: int, pio):
        self.gpio, self.pio = gpio, pio

    def start(self, frequency: float, dutycycle: float) -> None:
        period = max(1, round(1e9 / frequency))
        if not self.pio.set(self.gpio, period, round(period * dutycycle / 100.0)):
            raise PWMError("the PIO's 4 state machines are taken")

    def update(self, frequency: float, dutycycle: float) -> None:
        self.start(frequency, dutycycle)

    def stop(self) -> None:
        self.pio.stop(self.gpio)


class _Chain:
    """The first engine of a list that starts; each fallback logged once per pin."""

    def __init__(self, gpio: int, makers):
        self.gpio, self.makers, self.active = gpio, makers, None

    def start(self, frequency, dutycycle):
        last = None
        for make in self.makers:
            try:
                engine = make()
                engine.start(frequency, dutycycle)
            except PWMError as e:
                last = e
                log.info("GPIO %d: %s; falling back to the next engine", self.gpio, e)
                continue
            self.active = engine
            return
        raise last or PWMError("no PWM engine could start")

    def update(self, frequency, dutycycle):
        self.active.update(frequency, dutycycle)

    def stop(self):
        if self.active is not None:
            self.active.stop()
        self.active = None


def default_engine(gpio: int, write: Callable[[int, int], None]):
    """DMA where rpio_pwm runs the DMA controller (a Pi 0-4, or the simulated board), the kernel's
    hardware PWM on a Pi 5 pin that has it, software timing otherwise."""
    be = _session.ensure_backend()
    if be.kind in ("hardware", "model"):
        # DMA; if it cannot start (no free channel, inexact pacing), software timing
        return _Chain(gpio, [lambda: DmaPwmEngine(gpio, be), lambda: SoftwarePwmEngine(gpio, write)])
    makers = []
    overlay = getattr(be, "pio_overlay", {}).get(gpio)
    if overlay is not None and be.owner(gpio) < 0:  # the kernel's pwm-pio channel of this pin
        makers.append(lambda: SysfsPwmEngine(gpio, overlay, 0))
    if getattr(be, "pio", None) is not None and 0 <= gpio < 28 and be.owner(gpio) < 0:
        if hasattr(be, "_emulator_pump"):
            be._emulator_pump(True)  # the simulated Pi 5: the emulator follows the wall clock
        makers.append(lambda: PioPwmEngine(gpio, be.pio))  # Pi 5: PIO first
    if be.kind == "sysfs":
        hw = be.hardware_channel(gpio)
        if hw is not None and be.owner(gpio) < 0:
            makers.append(lambda: SysfsPwmEngine(gpio, be.chip, hw))
    if makers:
        makers.append(lambda: SoftwarePwmEngine(gpio, write))
        return _Chain(gpio, makers)
    return SoftwarePwmEngine(gpio, write)


# ---------------------------------------------------------------- the class
def make_pwm_class(check_output: Callable[[object], int], write: Callable[[int, int], None],
                   choose_engine: Optional[Callable[[int, Callable[[int, int], None]], object]] = None, *,
                   to_gpio: Optional[Callable[[object], int]] = None, name: str = "PWM",
                   parse_channel: Callable[[object], int] = operator.index):
    """Returns a subclassable class ``PWM(channel, frequency)`` with RPi.GPIO 0.7.1's behaviour:
    its argument parsing (``PyArg_ParseTuple(args, "if")``: keywords ignored, CPython's C-parser
    texts for wrong counts, C float storage) and its check order (both arguments, the channel, an
    existing PWM, the output check, the frequency)."""
    choose = choose_engine or default_engine
    live: weakref.WeakValueDictionary[int, object] = weakref.WeakValueDictionary()
    lock = threading.RLock()

    def claim(gpio: int, obj) -> None:
        with lock:
            other = live.get(gpio)
            if other is not None and other is not obj:
                raise RuntimeError("A PWM object already exists for this GPIO channel")
            live[gpio] = obj

    class PWM:
        """Pulse Width Modulation class"""

        def __init__(self, *args, **_ignored):
            # RPi.GPIO's tp_init parses args only: PWM(17, 100, foo=1) works there, so here too
            channel, frequency = _varargs_only(args, 2)
            channel = parse_channel(channel)
            frequency = _float32(frequency)
            if to_gpio is not None:
                gpio = to_gpio(channel)
                with lock:
                    if gpio in live:
                        raise RuntimeError("A PWM object already exists for this GPIO channel")
                gpio = check_output(channel)
            else:
                gpio = check_output(channel)
                with lock:
                    if gpio in live:
                        raise RuntimeError("A PWM object already exists for this GPIO channel")
            if frequency <= 0.0:
                raise ValueError(_FREQ_MSG)
            self._frequency = frequency
            self._gpio = gpio
            self._dutycycle = 0.0
            self._driven: Optional[float] = None  # the last finite frequency the engine was given
            self._engine = None
            self._claimed = False
            claim(gpio, self)
            self._claimed = True

        def _drive(self) -> Tuple[float, float]:
            f, dc = _waveform(self._frequency, self._dutycycle, self._driven)
            self._driven = f
            return f, dc

        def start(self, *args, **kwargs) -> None:
            """Start software PWM
dutycycle - the duty cycle (0.0 to 100.0)"""
            (dutycycle,) = _varargs(f"{name}.start", args, kwargs, 1)
            dc = _dutycycle(dutycycle)
            claim(self._gpio, self)
            self._claimed = True
            self._dutycycle = dc
            if self._engine is None:
                engine = choose(self._gpio, write)
                engine.start(*self._drive())
                self._engine = engine
            else:
                self._engine.update(*self._drive())

        def ChangeDutyCycle(self, *args, **kwargs) -> None:  # noqa: N802 - RPi.GPIO's name
            """Change the duty cycle
dutycycle - between 0.0 and 100.0"""
            (dutycycle,) = _varargs(f"{name}.ChangeDutyCycle", args, kwargs, 1)
            dc = _dutycycle(dutycycle)
            self._dutycycle = dc
            if self._engine is not None:
                self._engine.update(*self._drive())

        def ChangeFrequency(self, *args, **kwargs) -> None:  # noqa: N802 - RPi.GPIO's name
            """Change the frequency
frequency - frequency in Hz (freq > 1.0)"""
            (frequency,) = _varargs(f"{name}.ChangeFrequency", args, kwargs, 1)
            f = _frequency(frequency)
            self._frequency = f
            if self._engine is not None:
                self._engine.update(*self._drive())

        def stop(self, *_args, **kwargs) -> None:
            """Stop software PWM"""
            if kwargs:  # RPi.GPIO's stop() takes (and ignores) any positional arguments
                raise TypeError(f"{name}.stop() takes no keyword arguments")
            if not getattr(self, "_claimed", False):
                return  # never started, or already stopped: nothing to do
            engine, self._engine = self._engine, None
            try:
                if engine is not None:
                    engine.stop()  # leaves the pin low
                else:
                    write(self._gpio, 0)
            finally:
                self._claimed = False
                with lock:
                    if live.get(self._gpio) is self:
                        del live[self._gpio]

        def __del__(self):
            try:
                self.stop()
            except Exception:  # interpreter shutdown, or the host already cleaned up
                pass

        def __repr__(self) -> str:
            state = "running" if self._engine is not None else "stopped"
            return f"<{type(self).__name__} gpio={self._gpio} frequency={self._frequency} dutycycle={self._dutycycle} {state}>"

    # what inspect.signature() and mock's autospec see (the real parameters, positional-only)
    PWM.__init__.__signature__ = _signature("channel", "frequency")
    PWM.start.__signature__ = _signature("dutycycle")
    PWM.ChangeDutyCycle.__signature__ = _signature("dutycycle")
    PWM.ChangeFrequency.__signature__ = _signature("frequency")
    PWM.stop.__signature__ = _signature().replace(parameters=[
        *_signature().parameters.values(), inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL)])
    PWM.__name__ = PWM.__qualname__ = name
    PWM._live = live  # for hosts and tests: gpio -> live PWM object
    return PWM


def _varargs_only(args: tuple, count: int) -> list:
    if len(args) != count:
        raise TypeError("function takes exactly %d argument%s (%d given)" % (
            count, "" if count == 1 else "s", len(args)))
    return list(args)
