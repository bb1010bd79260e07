"""``RPIO.PWM`` is one class that also carries RPIO 0.10's module API, as the two APIs it serves need:

- RPi.GPIO's class: ``GPIO.PWM(channel, frequency)`` after ``import RPIO as GPIO``. It is a real
  class: ``inspect.isclass(GPIO.PWM)``, ``GPIO.PWM.__name__ == 'PWM'``, ``isinstance``, subclassing
  and ``unittest.mock.patch.object(GPIO.PWM, 'start')`` work as with RPi.GPIO;
- RPIO 0.10's module: ``import RPIO.PWM``, ``from RPIO import PWM; PWM.setup(); PWM.Servo()``,
  ``from RPIO.PWM import Servo``... every name of rpio_pwm's API (DMA-timed PWM) is an attribute of
  the class (functions as staticmethods), and this module puts the class itself in
  ``sys.modules['RPIO.PWM']``, so the import system hands out the class wherever it would hand out
  the module.

Where the pulses come from: the DMA engine on a Pi 0-4 (or rpio_pwm's model elsewhere) for RPIO
0.10's API; for RPi.GPIO's class, the DMA engine on a Pi 0-4, the kernel's hardware PWM on a Pi 5
pin that has it, and software timing through RPIO's own register driver otherwise, which on the
simulated board lands in its history like any output().
"""

import inspect
import sys

import rpio_pwm
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
    board's pins (and its history, parts and edges); the same on the GPIO character device
    (DMA needs the registers, and the line is this process's request); elsewhere rpio_pwm's
    choice."""
    if _state.board.backend in ("sim", "chardev"):
        return SoftwarePwmEngine(gpio, write)
    return default_engine(gpio, write)


# rpio_pwm's software timing (Pi 5 pins without hardware PWM) writes through RPIO's driver too.
rpio_pwm.set_gpio_writer(_write)

# RPi.GPIO's class, bound to RPIO's numbering, setup state and register driver.
PWM = make_pwm_class(_check_output, _write, _engine, to_gpio=_to_gpio, name="PWM", parse_channel=c_int)
PWM.__module__ = "RPIO"

_RPIGPIO_METHODS = {"start", "stop", "ChangeDutyCycle", "ChangeFrequency"}
_clash = _RPIGPIO_METHODS.intersection(_PWM_ALL)
if _clash:  # a new rpio_pwm name must never shadow a method of RPi.GPIO's class
    raise ImportError(f"rpio_pwm exports {sorted(_clash)}, names of RPi.GPIO's PWM methods")

# RPIO 0.10's module API, as attributes of the class: plain functions as staticmethods (so that
# PWM.setup() and an instance's lookups never bind them), classes and constants as they are.
for _name in _PWM_ALL:
    _value = getattr(rpio_pwm, _name)
    setattr(PWM, _name, staticmethod(_value) if inspect.isfunction(_value) else _value)
PWM.GpioPWM = PWM  # RPIO 2.0's first alphas exported the class under this name
PWM.__all__ = list(_PWM_ALL) + ["GpioPWM"]  # `from RPIO.PWM import *`, as from the module

sys.modules[__name__] = PWM
