# The typed face of `import RPIO`. The runtime objects cannot carry these signatures themselves:
# RPi.GPIO's functions take C-style (*args, **kwargs) to reproduce its argument errors exactly,
# output()/input() are C++ builtins (rpio_core.fast_output/fast_input), the interrupt functions
# are bound methods of RPIO's Interruptor, and RPIO.PWM is a module that is also a class.
# tests/typing/ checks this file against the runtime (mypy.stubtest) and type-checks sample user
# programs against it (mypy --strict, pyright). Keep both in step with __init__.py's __all__.
import socket
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, TypeAlias

import rpio_interrupts
import rpio_pwm
from rpio_interrupts.event import LineEvent

from . import Exceptions as Exceptions
from . import aio as aio
from . import sim as sim
from ._gpio import PinInfo as PinInfo

__version__: Final[str]
VERSION: Final[str]

# RPi.GPIO 0.7.1's constants and values
HIGH: Final = 1
LOW: Final = 0
OUT: Final = 0
IN: Final = 1
BOARD: Final = 10
BCM: Final = 11
PUD_OFF: Final = 20
PUD_DOWN: Final = 21
PUD_UP: Final = 22
RISING: Final = 31
FALLING: Final = 32
BOTH: Final = 33
SERIAL: Final = 40
SPI: Final = 41
I2C: Final = 42
HARD_PWM: Final = 43
UNKNOWN: Final = -1
ALT0: Final = 4

# RPIO 0.10's names
VERSION_GPIO: Final[str]
MODEL_DATA: Mapping[str, tuple[str, str, int, str]]
GPIO_LIST_R1: Final[tuple[int, ...]]
GPIO_LIST_R2: Final[tuple[int, ...]]
HEADER_P5: Final[int]
PIN_LIST: Final[tuple[int, ...]]

# read from the board on first access (PEP 562)
RPI_INFO: dict[str, int | str]
RPI_REVISION: int
RPI_REVISION_HEX: str

# A channel: an int, or (where RPi.GPIO takes several) a list or tuple of ints. bool is an int.
_Channels: TypeAlias = int | list[int] | tuple[int, ...]
_Levels: TypeAlias = int | list[int] | tuple[int, ...]
# add_interrupt_callback's edge: RPIO 0.10's strings or RPi.GPIO's constants
_Edge: TypeAlias = Literal["rising", "falling", "both"] | int

# -- GPIO input and output (RPi.GPIO 0.7.1) -----------------------------------------------------
def setmode(mode: int, /) -> None: ...
def getmode() -> int | None: ...
def setwarnings(flag: int = True, /) -> None: ...  # RPIO 0.10 accepted no argument
def setup(channel: _Channels, direction: int, pull_up_down: int = 20, initial: int = -1) -> None: ...
def output(channel: _Channels, value: _Levels, /) -> None: ...
def input(channel: int, /) -> int: ...
def cleanup(channel: _Channels = ...) -> None: ...
def gpio_function(channel: int, /) -> int: ...

# -- RPIO's additions ------------------------------------------------------------------------------
def channel_to_gpio(channel: int) -> int: ...
def set_pullupdn(gpio_id: int, pull_up_down: int = 20) -> None: ...
def get_pullupdn(gpio_id: int) -> int | None: ...
def forceinput(gpio_id: int) -> int: ...
def forceoutput(gpio_id: int, value: int) -> None: ...
def pin_info(gpio_id: int) -> PinInfo: ...
def alt_functions(gpio_id: int) -> dict[str, str]: ...
def gpio_count() -> int: ...
def sysinfo() -> tuple[str, str, str, int, str]: ...
def version() -> tuple[str, str]: ...

# -- RPi.GPIO's event API (on RPIO's epoll loop) ---------------------------------------------------
def add_event_detect(
    gpio: int, edge: int, callback: Callable[[int], object] | None = None, bouncetime: int | None = None
) -> None: ...
def add_event_callback(gpio: int, callback: Callable[[int], object]) -> None: ...
def remove_event_detect(channel: int, /) -> None: ...
def event_detected(channel: int, /) -> bool: ...
def wait_for_edge(channel: int, edge: int, bouncetime: int | None = None, timeout: int | None = None) -> int | None: ...

# -- RPIO's GPIO and TCP interrupts in one epoll loop ----------------------------------------------
# callback(gpio_id, value), or callback(gpio_id, value, event) with with_event=True
def add_interrupt_callback(
    gpio_id: int,
    callback: Callable[[int, int], object] | Callable[[int, int, LineEvent], object],
    edge: _Edge = "both",
    pull_up_down: int = 20,
    threaded_callback: bool = False,
    debounce_timeout_ms: float | None = None,
    *,
    with_event: bool = False,
) -> None: ...
def del_interrupt_callback(gpio_id: int) -> None: ...

# callback(client socket, message): message is str (bytes with encoding=None)
def add_tcp_callback(
    port: int,
    callback: Callable[[socket.socket, Any], object],
    threaded_callback: bool = False,
    *,
    bind: str = ...,
    encoding: str | None = "utf-8",
    max_clients: int = ...,
    max_message: int = ...,
    max_outbuf: int = ...,
    backlog: int = ...,
    max_queued: int = ...,
    max_queued_total: int = ...,
    idle_timeout: float | None = ...,
) -> int: ...
def remove_tcp_callback(port: int) -> None: ...
def close_tcp_client(fileno: int) -> None: ...
def wait_for_interrupts(threaded: bool = False, epoll_timeout: float | None = 1) -> None: ...
def stop_waiting_for_interrupts() -> None: ...
def cleanup_interrupts() -> None: ...
def default_interruptor() -> rpio_interrupts.Interruptor: ...
def edge_detector() -> rpio_interrupts.EdgeDetector: ...

# -- PWM: RPi.GPIO's class GPIO.PWM(channel, frequency), and RPIO 0.10's module RPIO.PWM -------------
class PWM:
    """RPi.GPIO's PWM class; also RPIO 0.10's RPIO.PWM module (its functions are reachable here)."""

    def __init__(self, channel: int, frequency: float, /) -> None: ...
    def start(self, dutycycle: float, /) -> None: ...
    def ChangeDutyCycle(self, dutycycle: float, /) -> None: ...
    def ChangeFrequency(self, frequency: float, /) -> None: ...
    def stop(self, *args: object) -> None: ...  # RPi.GPIO's stop() ignores any arguments
    def __del__(self) -> None: ...
    GpioPWM: type[PWM]  # RPIO 2.0's first alphas exported the class under this name
    __all__: list[str]
    # RPIO 0.10's module API (import RPIO.PWM / from RPIO import PWM; PWM.Servo())
    Servo = rpio_pwm.Servo
    PWMError = rpio_pwm.PWMError
    PWMArgumentError = rpio_pwm.PWMArgumentError
    ServoError = rpio_pwm.ServoError
    ModelFault = rpio_pwm.ModelFault
    DMAChannelBusyError = rpio_pwm.DMAChannelBusyError
    pwm_engine = staticmethod(rpio_pwm.pwm_engine)
    engine_table = staticmethod(rpio_pwm.engine_table)
    DELAY_VIA_PWM: Final[int]
    DELAY_VIA_PCM: Final[int]
    LOG_LEVEL_DEBUG: Final[int]
    LOG_LEVEL_ERRORS: Final[int]
    SUBCYCLE_TIME_US_DEFAULT: Final[int]
    PULSE_WIDTH_INCREMENT_GRANULARITY_US_DEFAULT: Final[int]
    VERSION: Final[str]
    setup = staticmethod(rpio_pwm.setup)
    cleanup = staticmethod(rpio_pwm.cleanup)
    init_channel = staticmethod(rpio_pwm.init_channel)
    clear_channel = staticmethod(rpio_pwm.clear_channel)
    clear_channel_gpio = staticmethod(rpio_pwm.clear_channel_gpio)
    add_channel_pulse = staticmethod(rpio_pwm.add_channel_pulse)
    set_channel_pulses = staticmethod(rpio_pwm.set_channel_pulses)
    print_channel = staticmethod(rpio_pwm.print_channel)
    set_loglevel = staticmethod(rpio_pwm.set_loglevel)
    is_setup = staticmethod(rpio_pwm.is_setup)
    is_channel_initialized = staticmethod(rpio_pwm.is_channel_initialized)
    get_pulse_incr_us = staticmethod(rpio_pwm.get_pulse_incr_us)
    get_channel_subcycle_time_us = staticmethod(rpio_pwm.get_channel_subcycle_time_us)
    default_dma_channel = staticmethod(rpio_pwm.default_dma_channel)
    backend_name = staticmethod(rpio_pwm.backend_name)
    set_gpio_writer = staticmethod(rpio_pwm.set_gpio_writer)

__all__ = [
    "BCM", "BOARD", "BOTH", "FALLING", "HARD_PWM", "HIGH", "I2C", "IN", "LOW", "OUT",
    "PUD_DOWN", "PUD_OFF", "PUD_UP", "RISING", "SERIAL", "SPI", "UNKNOWN",
    "RPI_INFO", "RPI_REVISION", "VERSION",
    "cleanup", "getmode", "gpio_function", "input", "output", "setmode", "setup", "setwarnings",
    "PWM", "add_event_callback", "add_event_detect", "event_detected", "remove_event_detect",
    "wait_for_edge",
    "ALT0", "Exceptions", "sim", "RPI_REVISION_HEX", "PinInfo", "alt_functions", "channel_to_gpio",
    "forceinput", "forceoutput", "get_pullupdn", "gpio_count", "pin_info", "set_pullupdn",
    "sysinfo", "version",
    "VERSION_GPIO", "MODEL_DATA", "GPIO_LIST_R1", "GPIO_LIST_R2", "HEADER_P5", "PIN_LIST",
    "add_interrupt_callback", "add_tcp_callback", "cleanup_interrupts", "close_tcp_client",
    "default_interruptor", "del_interrupt_callback", "edge_detector", "remove_tcp_callback", "stop_waiting_for_interrupts",
    "wait_for_interrupts",
]
