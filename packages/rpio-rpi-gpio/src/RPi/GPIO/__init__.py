"""``import RPi.GPIO as GPIO`` served by RPIO 2: RPi.GPIO 0.7.1's names, each one RPIO's own object.

The functions, the PWM class and the constants are RPIO's (``GPIO.setup is RPIO.setup``), so a
program may mix ``RPi.GPIO`` and ``RPIO`` imports: there is one GPIO state per process. Only the
names RPi.GPIO 0.7.1 has are here; RPIO's additions are in ``RPIO``. The differences from the real
RPi.GPIO are the ones docs/compat.md lists for ``import RPIO as GPIO`` (BCM is the default mode,
``GPIO.VERSION`` is RPIO's version, ...).
"""

import RPIO as _RPIO
from RPIO import (
    BCM,
    BOARD,
    BOTH,
    FALLING,
    HARD_PWM,
    HIGH,
    I2C,
    IN,
    LOW,
    OUT,
    PUD_DOWN,
    PUD_OFF,
    PUD_UP,
    PWM,
    RISING,
    SERIAL,
    SPI,
    UNKNOWN,
    VERSION,
    add_event_callback,
    add_event_detect,
    cleanup,
    event_detected,
    getmode,
    gpio_function,
    input,
    output,
    remove_event_detect,
    setmode,
    setup,
    setwarnings,
    wait_for_edge,
)

_FROM_THE_BOARD = ("RPI_INFO", "RPI_REVISION")

__all__ = [
    "BCM", "BOARD", "BOTH", "FALLING", "HARD_PWM", "HIGH", "I2C", "IN", "LOW", "OUT", "PUD_DOWN",
    "PUD_OFF", "PUD_UP", "RISING", "SERIAL", "SPI", "UNKNOWN", "RPI_INFO", "RPI_REVISION", "VERSION",
    "cleanup", "getmode", "gpio_function", "input", "output", "setmode", "setup", "setwarnings",
    "PWM", "add_event_callback", "add_event_detect", "event_detected", "remove_event_detect",
    "wait_for_edge",
]  # fmt: skip


def __getattr__(name):
    """RPI_INFO and RPI_REVISION, read from the board on first use (as RPIO does)."""
    if name in _FROM_THE_BOARD:
        return getattr(_RPIO, name)
    raise AttributeError(f"module 'RPi.GPIO' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_FROM_THE_BOARD))
