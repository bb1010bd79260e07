"""RPIO 0.10's C extension ``RPIO._GPIO``, by its names, for programs and tests that reached into it
(0.10's own tests catch ``RPIO._GPIO.InvalidChannelException``). Everything here is RPIO 2's own
implementation: the same functions, constants and exception classes as ``RPIO`` and
``RPIO.Exceptions``."""

from ._constants import ALT0, BCM, BOARD, HIGH, IN, LOW, OUT, PUD_DOWN, PUD_OFF, PUD_UP
from ._gpio import (
    channel_to_gpio,
    cleanup,
    forceinput,
    forceoutput,
    gpio_function,
    input,
    output,
    set_pullupdn,
    setmode,
    setup,
    setwarnings,
)
from ._info import LAZY_ATTRIBUTES as _LAZY_ATTRIBUTES
from ._rpio010 import VERSION_GPIO
from .Exceptions import (
    InvalidChannelException,
    InvalidDirectionException,
    InvalidModeException,
    InvalidPullException,
    ModeNotSetException,
    WrongDirectionException,
)

__all__ = [
    "ALT0", "BCM", "BOARD", "HIGH", "IN", "LOW", "OUT", "PUD_DOWN", "PUD_OFF", "PUD_UP",
    "RPI_REVISION", "RPI_REVISION_HEX", "VERSION_GPIO",  # noqa: F822 - read on first use
    "channel_to_gpio", "cleanup", "forceinput", "forceoutput", "gpio_function", "input", "output",
    "set_pullupdn", "setmode", "setup", "setwarnings",
    "InvalidChannelException", "InvalidDirectionException", "InvalidModeException",
    "InvalidPullException", "ModeNotSetException", "WrongDirectionException",
]  # fmt: skip


def __getattr__(name):
    """RPI_REVISION and RPI_REVISION_HEX, read from the board on first use."""
    if name in ("RPI_REVISION", "RPI_REVISION_HEX"):
        return _LAZY_ATTRIBUTES[name]()
    raise AttributeError(f"module 'RPIO._GPIO' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"RPI_REVISION", "RPI_REVISION_HEX"})
