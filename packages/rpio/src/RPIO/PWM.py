"""``RPIO.PWM`` is two things at once, as the two APIs it serves need:

- RPIO 0.10's module: ``import RPIO.PWM``, ``from RPIO import PWM; PWM.Servo()``,
  ``RPIO.PWM.setup()``... all of rpio_pwm (DMA-timed PWM), re-exported;
- RPi.GPIO's class: ``GPIO.PWM(channel, frequency)`` after ``import RPIO as GPIO``, with
  RPi.GPIO's errors, ``isinstance(p, GPIO.PWM)`` and ``class Mine(GPIO.PWM)`` working.

The module's type is a ModuleType subclass whose ``__call__`` builds the class's instances and
whose ``__instancecheck__``/``__subclasscheck__`` answer for it; ``__mro_entries__`` lets the module
stand in a class statement's bases (PEP 560). Where the pulses come from: the DMA engine on a Pi 0-4
(or rpio_pwm's model elsewhere) for RPIO 0.10's API; for RPi.GPIO's class, the DMA engine on a Pi
0-4, the kernel's hardware PWM on a Pi 5 pin that has it, and software timing through RPIO's own
register driver otherwise, which on the simulated board lands in its history like any output().
"""

import sys
import types

import rpio_core
import rpio_pwm
from rpio_pwm import _session as _pwm_session
from rpio_pwm import *  # noqa: F403 - RPIO 0.10's RPIO.PWM is exactly rpio_pwm's API
from rpio_pwm import __all__ as _PWM_ALL
from rpio_pwm.gpio_pwm import SoftwarePwmEngine, default_engine, make_pwm_class

from rpio_interrupts._cargs import c_int
from ._constants import OUT
from ._gpio import _state
from .Exceptions import WrongDirectionException


def _to_gpio(channel) -> int:
    return _state.gpio_number(c_int(channel))


def _check_output(channel) -> int:
    gpio = _to_gpio(channel)
    if _state.directions.get(gpio) != OUT:
        raise WrongDirectionException("You must setup() the GPIO channel as an output first")
    return gpio


def _write(gpio: int, level: int) -> None:
    _state.driver.write(gpio, level)


def _engine(gpio: int, write):
    """On the simulated board, software timing through RPIO's driver, so the pulses reach the
    board's pins (and its history, parts and edges); elsewhere rpio_pwm's choice."""
    if _state.board.simulated and _state.board.info.chip != "rp1":  # a simulated Pi 5: PIO first
        return SoftwarePwmEngine(gpio, write)
    return default_engine(gpio, write)


# RPi.GPIO's class, bound to RPIO's numbering, setup state and register driver.
GpioPWM = make_pwm_class(_check_output, _write, _engine, to_gpio=_to_gpio, name="PWM")
GpioPWM.__module__ = "RPIO"

# rpio_pwm's software timing (Pi 5 pins without hardware PWM) writes through RPIO's driver too.
rpio_pwm.set_gpio_writer(_write)

# rpio_pwm's C++ engines write through RPIO's driver from their own threads, without the GIL:
# software timing through the driver's C pin-writer table, and on a simulated Pi 0-4 the DMA model
# drives the board's pins (history, parts, edges) at the model's times.
_SIM_SOCS = {"bcm2835": "BCM2835", "bcm2836": "BCM2836", "bcm2837": "BCM2837", "bcm2711": "BCM2711",
             "rp1": "BCM2712"}
_writer_cache: list = [None, None]  # (driver, its pin-writer capsule)


def _pin_writer():
    try:
        driver = _state.driver
    except Exception:  # no board RPIO may drive (e.g. RPIO_BACKEND=hardware off a Pi): rpio_pwm's own
        return None
    if _writer_cache[0] is not driver:
        _writer_cache[:] = [driver, rpio_core.pin_writer(driver)]
    return _writer_cache[1]


def _sim_board():
    try:
        board = _state.board
    except Exception:  # as above: rpio_pwm keeps its own model
        return None
    if not board.simulated:
        return None
    processor = board.info.processor if board.info.processor in _SIM_SOCS.values() else None
    return _state.driver, _pin_writer(), processor or _SIM_SOCS.get(board.info.chip, "")


_pwm_session.set_pin_writer_source(_pin_writer)
_pwm_session.set_sim_board_source(_sim_board)


def __mro_entries__(bases):
    return (GpioPWM,)


class _PWMModule(types.ModuleType):
    """RPIO.PWM's type: a module that is also RPi.GPIO's PWM class."""

    def __call__(self, *args, **kwargs):
        return GpioPWM(*args, **kwargs)

    def __instancecheck__(self, instance):
        return isinstance(instance, GpioPWM)

    def __subclasscheck__(self, subclass):
        return issubclass(subclass, GpioPWM)


__all__ = list(_PWM_ALL) + ["GpioPWM"]

sys.modules[__name__].__class__ = _PWMModule
