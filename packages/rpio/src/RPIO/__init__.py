"""RPIO: GPIO for every Raspberry Pi (1 to 5), and a simulated board everywhere else.

A drop-in for ``import RPi.GPIO as GPIO`` (BCM numbering by default), plus RPIO's additions:
GPIO and TCP interrupts in one epoll loop, DMA-timed PWM (``RPIO.PWM``), a simulated board
(``RPIO.sim``) and asyncio (``RPIO.aio``). This file is the table of contents; every name is
implemented in the module it comes from.
"""

from . import PWM, Exceptions, _GPIO, sim  # noqa: F401 - _GPIO: RPIO 0.10's RPIO._GPIO
from ._constants import (
    ALT0,
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
    RISING,
    SERIAL,
    SPI,
    UNKNOWN,
)

# GPIO input and output (RPi.GPIO 0.7.1's rules and messages)
from ._gpio import (
    cleanup,
    getmode,
    gpio_function,
    input,
    output,
    setmode,
    setup,
    setwarnings,
)

# RPIO's additions
from ._gpio import (
    PinInfo,
    alt_functions,
    channel_to_gpio,
    forceinput,
    forceoutput,
    get_pullupdn,
    gpio_count,
    pin_info,
    set_pullupdn,
)
from ._info import LAZY_ATTRIBUTES as _LAZY_ATTRIBUTES

# GPIO and TCP interrupts in one epoll loop (RPIO), and RPi.GPIO's event API on the same machinery
from ._interrupts import (
    add_event_callback,
    add_event_detect,
    add_interrupt_callback,
    add_tcp_callback,
    cleanup_interrupts,
    close_tcp_client,
    default_interruptor,
    del_interrupt_callback,
    edge_detector,
    event_detected,
    remove_event_detect,
    remove_tcp_callback,
    stop_waiting_for_interrupts,
    wait_for_edge,
    wait_for_interrupts,
)
from ._info import VERSION, sysinfo, version

# RPIO 0.10's other module-level names (and RPIO._GPIO, its C extension's names, imported above)
from ._rpio010 import GPIO_LIST_R1, GPIO_LIST_R2, HEADER_P5, MODEL_DATA, PIN_LIST, VERSION_GPIO

__version__ = VERSION


def __getattr__(name):
    """RPI_INFO, RPI_REVISION and RPI_REVISION_HEX: read from the board on first use;
    RPIO.aio imported on first use (so `import RPIO` does not import asyncio)."""
    if name in _LAZY_ATTRIBUTES:
        return _LAZY_ATTRIBUTES[name]()
    if name == "aio":
        import importlib

        return importlib.import_module(".aio", __name__)
    raise AttributeError(f"module 'RPIO' has no attribute {name!r}")


def __dir__():
    """The module's names, with the ones __getattr__ computes (RPI_INFO, RPI_REVISION, ...)."""
    return sorted(set(globals()) | set(_LAZY_ATTRIBUTES) | {"aio"})


__all__ = [
    # RPi.GPIO 0.7.1
    "BCM", "BOARD", "BOTH", "FALLING", "HARD_PWM", "HIGH", "I2C", "IN", "LOW", "OUT",
    "PUD_DOWN", "PUD_OFF", "PUD_UP", "RISING", "SERIAL", "SPI", "UNKNOWN",
    "RPI_INFO", "RPI_REVISION", "VERSION",
    "cleanup", "getmode", "gpio_function", "input", "output", "setmode", "setup", "setwarnings",
    "PWM", "add_event_callback", "add_event_detect", "event_detected", "remove_event_detect",
    "wait_for_edge",
    # RPIO (RPIO.aio is left out of `import *` so that it does not import asyncio)
    "ALT0", "Exceptions", "sim", "RPI_REVISION_HEX", "PinInfo", "alt_functions", "channel_to_gpio",
    "forceinput", "forceoutput", "get_pullupdn", "gpio_count", "pin_info", "set_pullupdn",
    "sysinfo", "version",
    # RPIO 0.10
    "VERSION_GPIO", "MODEL_DATA", "GPIO_LIST_R1", "GPIO_LIST_R2", "HEADER_P5", "PIN_LIST",
    "add_interrupt_callback", "add_tcp_callback", "cleanup_interrupts", "close_tcp_client",
    "default_interruptor", "del_interrupt_callback", "edge_detector", "remove_tcp_callback", "stop_waiting_for_interrupts",
    "wait_for_interrupts",
]  # fmt: skip
