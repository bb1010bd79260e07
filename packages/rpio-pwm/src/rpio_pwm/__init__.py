"""RPIO.PWM: DMA-timed PWM on any GPIO of a Raspberry Pi, with RPIO 0.10's API.

A subcycle (20 ms by default) is compiled into a ring of DMA control blocks that set and clear the
pins every pulse increment (10 us by default), paced by the PWM or PCM FIFO; the CPU does nothing per
pulse. Off a Pi the very same control blocks run on a simulated DMA engine (:mod:`rpio_pwm.model`);
on a Pi 5 the kernel's hardware PWM and software timing stand in. See README.md for the design and
the per-board behaviour.

Example::

    from rpio_pwm import Servo
    servo = Servo()
    servo.set_servo(17, 1200)   # 1.2 ms pulses on GPIO17, every 20 ms
    servo.stop_servo(17)
"""

from __future__ import annotations

import logging
import operator
import sys
from typing import Optional, Sequence, Tuple

from rpio_pwm import _pwm, _session
from rpio_pwm._session import set_gpio_writer
from rpio_pwm.engines import engine_table, pwm_engine
from rpio_pwm.errors import DMAChannelBusyError, ModelFault, PWMArgumentError, PWMError, ServoError

__version__ = _pwm.__version__

DELAY_VIA_PWM = 0
DELAY_VIA_PCM = 1
LOG_LEVEL_DEBUG = 0
LOG_LEVEL_ERRORS = 1
SUBCYCLE_TIME_US_DEFAULT = 20000
PULSE_WIDTH_INCREMENT_GRANULARITY_US_DEFAULT = 10
SUBCYCLE_TIME_US_MIN = _pwm.SUBCYCLE_MIN_US
VERSION = __version__

__all__ = [
    "DELAY_VIA_PWM", "DELAY_VIA_PCM", "LOG_LEVEL_DEBUG", "LOG_LEVEL_ERRORS", "SUBCYCLE_TIME_US_DEFAULT",
    "PULSE_WIDTH_INCREMENT_GRANULARITY_US_DEFAULT", "VERSION",
    "setup", "cleanup", "init_channel", "clear_channel", "clear_channel_gpio", "add_channel_pulse",
    "print_channel", "set_loglevel", "is_setup", "is_channel_initialized", "get_pulse_incr_us",
    "get_channel_subcycle_time_us", "Servo",
    # RPIO 2 additions
    "set_channel_pulses", "default_dma_channel", "backend_name", "set_gpio_writer", "pwm_engine", "engine_table",
    "PWMError", "PWMArgumentError", "DMAChannelBusyError", "ServoError", "ModelFault",
]

log = logging.getLogger("rpio_pwm")
log.addHandler(logging.NullHandler())
_loglevel = LOG_LEVEL_DEBUG


def _int(name: str, value) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}") from None


def _be_or_fail(channel: Optional[int] = None):
    be = _session.backend()
    if be is None or not be.is_setup():
        if channel is not None:
            raise PWMError(f"Error: channel {channel} has not been initialized with 'init_channel(..)'")
        raise PWMError("Error: you need to call `setup(..)` before initializing channels")
    be.sync()
    return be


# ---------------------------------------------------------------- RPIO 0.10 API
def setup(pulse_incr_us: int = PULSE_WIDTH_INCREMENT_GRANULARITY_US_DEFAULT, delay_hw: int = DELAY_VIA_PWM) -> None:
    """Chooses the backend (once per process) and sets the pulse width increment (us) and the
    pacing peripheral for every channel. Calling it again with the same values does nothing; with
    other values it raises until cleanup() is called."""
    pulse_incr_us = _int("pulse_incr_us", pulse_incr_us)
    delay_hw = _int("delay_hw", delay_hw)
    be = _session.ensure_backend()
    be.sync()
    be.setup(pulse_incr_us, delay_hw)


def cleanup() -> None:
    """Stops all PWM (DMA channels, pacer, software timing); every pin PWM used is left an output,
    driven low. Safe to call again; setup() works afterwards. Also runs at interpreter exit."""
    be = _session.backend()
    if be is not None:
        be.sync()
        be.cleanup()


def init_channel(channel: int, subcycle_time_us: int = SUBCYCLE_TIME_US_DEFAULT) -> None:
    """Starts DMA channel ``channel`` with a subcycle of ``subcycle_time_us`` (>= 3000, a multiple of
    the pulse increment)."""
    channel = _int("channel", channel)
    subcycle_time_us = _int("subcycle_time_us", subcycle_time_us)
    _be_or_fail().init_channel(channel, subcycle_time_us)


def clear_channel(channel: int) -> None:
    """Removes every pulse of the channel; its pins are driven low and released."""
    channel = _int("channel", channel)
    _be_or_fail(channel).clear_channel(channel)


def clear_channel_gpio(channel: int, gpio: int) -> None:
    """Removes every pulse of ``gpio`` from the channel and drives it low at once."""
    channel, gpio = _int("channel", channel), _int("gpio", gpio)
    _be_or_fail(channel).clear_channel_gpio(channel, gpio)


def add_channel_pulse(dma_channel: int, gpio: int, start: int, width: int) -> None:
    """Adds a pulse on ``gpio``, high from increment ``start`` for ``width`` increments of every
    subcycle (start + width <= subcycle / increment; width 1 is one increment). The first pulse on a
    gpio makes it an output, driven low."""
    dma_channel, gpio = _int("dma_channel", dma_channel), _int("gpio", gpio)
    start, width = _int("start", start), _int("width", width)
    _be_or_fail(dma_channel).add_pulse(dma_channel, gpio, start, width)


def set_channel_pulses(dma_channel: int, gpio: int, pulses: Sequence[Tuple[int, int]]) -> None:
    """RPIO 2: replaces all pulses of ``gpio`` on the channel by ``pulses`` ((start, width) in
    increments) in one edit -- no dropout between a clear and an add."""
    dma_channel, gpio = _int("dma_channel", dma_channel), _int("gpio", gpio)
    ps = [(_int("start", s), _int("width", w)) for s, w in pulses]
    _be_or_fail(dma_channel).set_pulses(dma_channel, gpio, ps)


def print_channel(channel: int) -> None:
    """Prints the channel's layout and pulses (to stdout at LOG_LEVEL_DEBUG, as RPIO 0.10 did)."""
    channel = _int("channel", channel)
    if not 0 <= channel < _pwm.DMA_CHANNELS:
        raise PWMArgumentError(f"Error: you tried to print channel {channel}, but max channel is {_pwm.DMA_CHANNELS - 1}")
    be = _session.backend()
    if be is not None and be.is_setup() and be.is_channel_initialized(channel):
        be.sync()
        text = be.describe_channel(channel)
    else:
        text = f"Channel {channel}: not initialized\n"
    log.debug("%s", text.rstrip())
    if _loglevel == LOG_LEVEL_DEBUG:
        sys.stdout.write(text)


def set_loglevel(level: int) -> None:
    """LOG_LEVEL_DEBUG (print_channel prints; the 'rpio_pwm' logger at DEBUG) or LOG_LEVEL_ERRORS."""
    global _loglevel
    level = _int("level", level)
    if level not in (LOG_LEVEL_DEBUG, LOG_LEVEL_ERRORS):
        raise PWMArgumentError("Error: log level must be LOG_LEVEL_DEBUG (0) or LOG_LEVEL_ERRORS (1)")
    _loglevel = level
    log.setLevel(logging.DEBUG if level == LOG_LEVEL_DEBUG else logging.ERROR)


def is_setup() -> int:
    """1 after setup(), 0 before it and after cleanup()."""
    be = _session.backend()
    return int(be is not None and be.is_setup())


def is_channel_initialized(channel: int) -> int:
    channel = _int("channel", channel)
    be = _session.backend()
    return int(be is not None and be.is_setup() and be.is_channel_initialized(channel))


def get_pulse_incr_us() -> int:
    """The pulse width increment in us (65535 before setup(), as RPIO 0.10 reported)."""
    be = _session.backend()
    return be.incr_us if be is not None and be.is_setup() else 65535


def get_channel_subcycle_time_us(channel: int) -> int:
    """The channel's subcycle in us (0 if it is not initialized)."""
    channel = _int("channel", channel)
    if not 0 <= channel < _pwm.DMA_CHANNELS:
        raise PWMArgumentError(f"Error: maximum channel is {_pwm.DMA_CHANNELS - 1} (requested channel {channel})")
    be = _session.backend()
    if be is None or not be.is_setup() or not be.is_channel_initialized(channel):
        return 0
    return be.subcycle_us(channel)


def default_dma_channel() -> int:
    """RPIO 2: the DMA channel Servo() uses when none is given (see README, "Which DMA channel")."""
    return _session.ensure_backend().default_channel()


def backend_name() -> Optional[str]:
    """RPIO 2: 'hardware', 'model', 'sysfs' or 'software' once chosen, else None."""
    be = _session.backend()
    return None if be is None else be.kind


# ---------------------------------------------------------------- Servo
class Servo:
    """Servo pulses on any number of GPIOs of one DMA channel (BCM numbering).

    ``Servo(dma_channel=None, subcycle_time_us=20000, pulse_incr_us=10)``; ``dma_channel=None`` takes
    the board's safe default (RPIO 0.10 used channel 0, which the kernel uses too)."""

    def __init__(self, dma_channel: Optional[int] = None, subcycle_time_us: int = SUBCYCLE_TIME_US_DEFAULT,
                 pulse_incr_us: int = PULSE_WIDTH_INCREMENT_GRANULARITY_US_DEFAULT):
        subcycle_time_us = self._arg("subcycle_time_us", subcycle_time_us)
        pulse_incr_us = self._arg("pulse_incr_us", pulse_incr_us)
        if dma_channel is not None:
            dma_channel = self._arg("dma_channel", dma_channel)
            if not 0 <= dma_channel < _pwm.DMA_CHANNELS:
                raise ServoError(f"Error: DMA channel {dma_channel} does not exist (0..{_pwm.DMA_CHANNELS - 1})")
        if subcycle_time_us < SUBCYCLE_TIME_US_MIN or pulse_incr_us < 1 or subcycle_time_us % pulse_incr_us:
            raise ServoError(f"Error: subcycle_time_us={subcycle_time_us} must be >= {SUBCYCLE_TIME_US_MIN} and a "
                             f"multiple of pulse_incr_us={pulse_incr_us}")
        if is_setup():
            incr = get_pulse_incr_us()
            if incr != pulse_incr_us:
                raise ServoError(f"Error: PWM is already setup with pulse-width increment granularity of {incr}us "
                                 f"instead of {pulse_incr_us}us")
        else:
            setup(pulse_incr_us=pulse_incr_us)
        self._dma_channel = dma_channel if dma_channel is not None else default_dma_channel()
        self._subcycle_time_us = subcycle_time_us

    @staticmethod
    def _arg(name, value) -> int:
        try:
            return operator.index(value)
        except TypeError:
            raise ServoError(f"Error: {name} must be an integer, not {type(value).__name__}") from None

    @property
    def dma_channel(self) -> int:
        return self._dma_channel

    @property
    def subcycle_time_us(self) -> int:
        return self._subcycle_time_us

    def set_servo(self, gpio: int, pulse_width_us: int) -> None:
        """Pulses of ``pulse_width_us`` (a multiple of the increment) on ``gpio`` every subcycle.
        Changing the width of a running servo is one edit: there is no gap between old and new."""
        gpio = self._arg("gpio", gpio)
        pulse_width_us = self._arg("pulse_width_us", pulse_width_us)
        incr = get_pulse_incr_us()
        if pulse_width_us % incr:
            raise ServoError(f"Pulse width increment granularity {incr}us cannot divide a pulse-time of "
                             f"{pulse_width_us}us")
        if not 0 <= pulse_width_us <= self._subcycle_time_us:
            raise ServoError(f"Error: pulse width {pulse_width_us}us is outside 0..{self._subcycle_time_us}us "
                             "(the subcycle)")
        if not 0 <= gpio < 32:
            raise ServoError(f"Error: gpio {gpio} cannot be driven by DMA PWM (GPIO 0..31)")
        if is_channel_initialized(self._dma_channel):
            sub = get_channel_subcycle_time_us(self._dma_channel)
            if sub != self._subcycle_time_us:
                raise ServoError(f"Error: DMA channel {self._dma_channel} is setup with a subcycle_time of {sub}us "
                                 f"(instead of {self._subcycle_time_us}us)")
        else:
            init_channel(self._dma_channel, self._subcycle_time_us)
        set_channel_pulses(self._dma_channel, gpio, [(0, pulse_width_us // incr)])

    def stop_servo(self, gpio: int) -> None:
        """Stops the pulses on ``gpio`` and drives it low."""
        gpio = self._arg("gpio", gpio)
        clear_channel_gpio(self._dma_channel, gpio)

    def __repr__(self) -> str:
        return f"<Servo dma_channel={self._dma_channel} subcycle_time_us={self._subcycle_time_us}>"
