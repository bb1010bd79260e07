"""GPIO input and output: RPi.GPIO 0.7.1's rules, RPIO's additions, one state per process.

``output()`` and ``input()`` are C++ fast paths (``rpio_core.fast_output``/``fast_input``). They
serve the common case themselves and call ``_output_slow``/``_input_slow`` below for everything
else, so RPi.GPIO's rules (argument parsing, messages, list handling) are written once, here.
"""

from __future__ import annotations

import threading
import warnings
from typing import Callable, List, NamedTuple, Optional

import rpio_core
from rpio_core import boards

from . import _backend
from rpio_interrupts._cargs import MISSING, c_int, parse_keywords, parse_positional, truncated_int
from ._constants import BCM, BOARD, HARD_PWM, HIGH, I2C, IN, LOW, OUT, PUD_DOWN, PUD_OFF, PUD_UP
from ._constants import SERIAL, SPI, UNKNOWN
from .Exceptions import (
    InvalidChannelException,
    InvalidDirectionException,
    InvalidModeException,
    InvalidPullException,
    WrongDirectionException,
)

_IN_USE = (
    "This channel is already in use, continuing anyway.  "
    "Use GPIO.setwarnings(False) to disable warnings."
)
_PULL_FITTED = "A physical pull up resistor is fitted on this channel!"
_NOTHING_TO_CLEAN = (
    "No channels have been set up yet - nothing to clean up!  "
    "Try cleaning up at the end of your program instead!"
)
_INVALID_CHANNEL = "The channel sent is invalid on a Raspberry Pi"
_BAD_PULL = "Invalid value for pull_up_down - should be either PUD_OFF, PUD_UP or PUD_DOWN"

_PUD_TO_CORE = {PUD_OFF: rpio_core.PULL_OFF, PUD_DOWN: rpio_core.PULL_DOWN, PUD_UP: rpio_core.PULL_UP}
_CORE_TO_PUD = {core: pud for pud, core in _PUD_TO_CORE.items()}
_FAST_DIRECTION = {OUT: 0, IN: 1}
_FAST_GPIOS = 64  # the C++ fast path serves gpios 0-63
_RPIGPIO_CATEGORIES = {"I2C": I2C, "SPI": SPI, "HARD_PWM": HARD_PWM, "SERIAL": SERIAL}


class GpioState:
    """Everything RPi.GPIO keeps in C globals: the mode, the board, what this process set up."""

    def __init__(self, identify: Callable[[], _backend.Board] = _backend.identify):
        self._identify = identify
        self._lock = threading.RLock()
        self._board: Optional[_backend.Board] = None
        self.mode = BCM  # RPIO's default; an explicit setmode() may replace it once
        self.mode_explicit = False
        self.warnings = True
        self.directions: dict[int, int] = {}  # gpio -> IN/OUT, set up by this process
        self.pulls: dict[int, int] = {}  # gpio -> PUD_*, as this process set it
        self.cleanup_hooks: List[Callable[[Optional[int]], None]] = []

    # -- the board ---------------------------------------------------------------------------
    @property
    def board(self) -> _backend.Board:
        """The board identified (no registers touched yet)."""
        if self._board is None:
            with self._lock:
                if self._board is None:
                    self._board = self._identify()
        return self._board

    @property
    def driver(self):
        """The register driver; mapping the registers on first use, as RPi.GPIO does."""
        board = self.board
        if board.driver is None:
            with self._lock:
                board.open()
                rpio_core.fastpath_bind(board.driver, _output_slow, _input_slow)
                self._publish_channel_map()
        return board.driver

    def open_registers(self):
        """Map the registers (or build the model) if that has not happened yet."""
        return self.driver

    def use_board(self, board: _backend.Board) -> None:
        """Replace the board (tests, and RPIO.sim.use_board()); forgets this process's setup."""
        with self._lock:
            if self._board is not None and self._board.driver is not None:
                for hook in self.cleanup_hooks:  # lines and loops of the old board go with it
                    hook(None)
                getattr(self._board.driver, "close", lambda: None)()  # chardev: its line requests
            self._board = board
            self.reset()

    def reset(self) -> None:
        """Back to a freshly imported module: BCM, warnings on, nothing set up."""
        with self._lock:
            rpio_core.fastpath_reset()
            self.mode, self.mode_explicit, self.warnings = BCM, False, True
            self.directions.clear()
            self.pulls.clear()
            driver = self._board.driver if self._board is not None else None
            rpio_core.fastpath_bind(driver, _output_slow, _input_slow)
            if driver is not None:
                self._publish_channel_map()

    # -- channels ----------------------------------------------------------------------------
    def board_map(self) -> dict:
        return boards.board_to_bcm_map(self.board.info.p1_revision) or {}

    def gpio_number(self, channel: int) -> int:
        """RPi.GPIO's get_gpio_number(): the chip gpio of a channel in the current mode."""
        if self.mode == BCM:
            if 0 <= channel < self.board.gpio_count:
                return channel
            raise InvalidChannelException(_INVALID_CHANNEL)
        gpio = self.board_map().get(channel)
        if gpio is None:
            raise InvalidChannelException(_INVALID_CHANNEL)
        return gpio

    def channel_of(self, gpio: int) -> int:
        """The channel a gpio has in the current mode (RPi.GPIO's chan_from_gpio)."""
        if self.mode == BCM:
            return gpio
        for pin, mapped in self.board_map().items():
            if mapped == gpio:
                return pin
        return -1

    def _publish_channel_map(self) -> None:
        if self.mode == BCM:
            table = list(range(min(self.board.gpio_count, _FAST_GPIOS)))
        else:
            board_map = self.board_map()
            table = [board_map.get(pin, -1) for pin in range(max(board_map, default=0) + 1)]
        rpio_core.fastpath_set_channel_map(table)

    def set_direction(self, gpio: int, direction: Optional[int]) -> None:
        if direction is None:
            self.directions.pop(gpio, None)
        else:
            self.directions[gpio] = direction
        if gpio < _FAST_GPIOS:  # past them (chardev chips with more lines): the Python path
            rpio_core.fastpath_set_direction(gpio, -1 if direction is None else _FAST_DIRECTION[direction])

    # -- the operations ----------------------------------------------------------------------
    def setmode(self, mode: int) -> None:
        if self.mode_explicit and mode != self.mode:
            raise InvalidModeException("A different mode has already been set!")
        if mode not in (BOARD, BCM):
            raise InvalidModeException("An invalid mode was passed to setmode()")
        if mode == BOARD and self.board.info.p1_revision == 0:
            raise RuntimeError(self.board.board_mode_error
                               or "BOARD numbering system not applicable on compute module")
        with self._lock:
            self.mode, self.mode_explicit = mode, True
            if self.board.driver is not None:
                self._publish_channel_map()

    def setup_one(self, gpio: int, direction: int, pud: int, initial: int) -> None:
        driver = self.driver
        function = driver.get_function(gpio)
        if self.warnings:
            alternate = function not in (rpio_core.INPUT, rpio_core.OUTPUT, rpio_core.NONE)
            foreign_output = function == rpio_core.OUTPUT and gpio not in self.directions
            held_elsewhere = getattr(driver, "in_use_elsewhere", None)  # chardev: line info
            if alternate or foreign_output or (held_elsewhere and held_elsewhere(gpio)):
                warnings.warn(_IN_USE, RuntimeWarning, stacklevel=3)
            p1 = self.board.info.p1_revision
            if p1 != 0 and ((p1 == 1 and gpio in (0, 1)) or gpio in (2, 3)):
                if pud in (PUD_UP, PUD_DOWN):
                    warnings.warn(_PULL_FITTED, RuntimeWarning, stacklevel=3)
        function = rpio_core.OUTPUT if direction == OUT else rpio_core.INPUT
        if hasattr(driver, "setup_line"):  # chardev: direction, bias and level in one request
            driver.setup_line(gpio, function, _PUD_TO_CORE[pud], initial)
        else:
            if direction == OUT and initial in (LOW, HIGH):
                driver.write(gpio, initial)  # the level first, then the direction: no glitch
            driver.set_pull(gpio, _PUD_TO_CORE[pud])
            driver.set_function(gpio, function)
        self.pulls[gpio] = pud
        self.set_direction(gpio, direction)

    def cleanup_one(self, gpio: int) -> bool:
        for hook in self.cleanup_hooks:
            hook(gpio)
        release = getattr(self.driver, "release_line", None)  # chardev: release the request
        if release is not None:
            release(gpio)
        if gpio not in self.directions:
            return False
        if release is None:
            self.driver.set_pull(gpio, rpio_core.PULL_OFF)
            self.driver.set_function(gpio, rpio_core.INPUT)
        self.pulls[gpio] = PUD_OFF
        self.set_direction(gpio, None)
        return True

    def cleanup_all(self) -> bool:
        for hook in self.cleanup_hooks:
            hook(None)
        found = False
        for gpio in sorted(self.directions):
            found = self.cleanup_one(gpio) or found
        getattr(self.driver, "release_all", lambda: None)()  # chardev: lines forced or pulled
        self.mode, self.mode_explicit = BCM, False
        self._publish_channel_map()
        return found


_state = GpioState()


# -- argument helpers shared by the public functions -------------------------------------------
def _channel_arg(obj) -> tuple[bool, list]:
    """(is_list, items) as RPi.GPIO's setup/output/cleanup accept a channel argument."""
    if isinstance(obj, int):
        return False, [truncated_int(obj)]
    if isinstance(obj, (list, tuple)):
        return True, list(obj)
    raise InvalidChannelException("Channel must be an integer or list/tuple of integers")


def _list_element(obj, message: str, error=InvalidChannelException) -> int:
    if isinstance(obj, int):
        return truncated_int(obj)
    raise error(message)


# -- RPi.GPIO's functions ----------------------------------------------------------------------
def setmode(*args, **kwargs) -> None:
    """setmode(mode): BOARD or BCM numbering. RPIO starts in BCM; one explicit change is allowed."""
    (mode,) = parse_positional("setmode", args, kwargs, 1, "i")
    _state.setmode(mode)


def getmode(*_args, **_kwargs) -> Optional[int]:
    """The numbering mode: BCM (RPIO's default) or BOARD."""
    return _state.mode


def setwarnings(*args, **kwargs) -> None:
    """setwarnings(flag): RuntimeWarnings on (default) or off.

    RPi.GPIO's positional-only form, plus RPIO 0.10's ``setwarnings()`` (no argument: on) and its
    keyword ``enabled``."""
    if not args and set(kwargs) <= {"enabled"}:  # RPIO 0.10: setwarnings(enabled=True)
        args, kwargs = (kwargs.get("enabled", True),), {}
    (flag,) = parse_positional("setwarnings", args, kwargs, 1, "i")
    _state.warnings = bool(flag)


def setup(*args, **kwargs) -> None:
    """setup(channel, direction, pull_up_down=PUD_OFF, initial=-1)

    channel: an int, or a list/tuple of ints; direction IN or OUT; pull_up_down PUD_OFF, PUD_UP
    or PUD_DOWN (inputs only); initial LOW or HIGH (outputs only), written before the pin turns
    into an output. A list is checked whole before any pin changes.
    """
    channel, direction, pud, initial = parse_keywords(
        args, kwargs, ("channel", "direction", "pull_up_down", "initial"), 2, "Oiii"
    )
    pud = PUD_OFF if pud is MISSING else pud
    initial = -1 if initial is MISSING else initial
    _is_list, items = _channel_arg(channel)
    _state.open_registers()  # now: RPi.GPIO reports access errors before argument errors
    if direction not in (IN, OUT):
        raise InvalidDirectionException("An invalid direction was passed to setup()")
    if direction == OUT and pud != PUD_OFF:
        raise InvalidPullException("pull_up_down parameter is not valid for outputs")
    if direction == IN and initial != -1:
        raise ValueError("initial parameter is not valid for inputs")
    if pud not in (PUD_OFF, PUD_DOWN, PUD_UP):
        raise InvalidPullException(_BAD_PULL)
    with _state._lock:
        gpios = [
            _state.gpio_number(_list_element(item, "Channel must be an integer")) for item in items
        ]
        check_free = getattr(_state.driver, "check_free", None)  # chardev: a list all or nothing
        if check_free is not None and len(gpios) > 1:
            check_free(gpios)
        for gpio in gpios:
            _state.setup_one(gpio, direction, pud, initial)


output = rpio_core.fast_output
input = rpio_core.fast_input  # noqa: A001 - RPi.GPIO's name


def _output_slow(*args):
    """output(channel, value) for every case the C++ fast path hands back."""
    channel, value = parse_positional("output", args, {}, 2, "OO")
    chan_is_list, channels = _channel_arg(channel)
    if isinstance(value, int):
        value_is_list, values = False, [truncated_int(value)]
    elif isinstance(value, (list, tuple)):
        value_is_list, values = True, list(value)
    else:
        raise ValueError("Value must be an integer/boolean or a list/tuple of integers/booleans")
    chan_count = len(channels) if chan_is_list else -1
    value_count = len(values) if value_is_list else -1
    if (chan_count != -1 and chan_count != value_count and value_count != -1) or (
        chan_count == -1 and value_count != -1
    ):
        raise RuntimeError("Number of channels != number of values")
    writes = []
    for index, item in enumerate(channels):  # RPi.GPIO's order: channel, value, then the pin
        channel = _list_element(item, "Channel must be an integer")
        level = values[index] if value_count > 0 else values[0]
        level = _list_element(level, "Value must be an integer or boolean", ValueError)
        gpio = _state.gpio_number(channel)
        if _state.directions.get(gpio) != OUT:
            raise WrongDirectionException("The GPIO channel has not been set up as an OUTPUT")
        writes.append((gpio, HIGH if level else LOW))
    driver = _state.driver if writes else None
    for gpio, level in writes:  # every pair checked before the first pin changes
        driver.write(gpio, level)


def _input_slow(*args):
    """input(channel) for every case the C++ fast path hands back."""
    (channel,) = parse_positional("input", args, {}, 1, "i")
    gpio = _state.gpio_number(channel)
    if _state.directions.get(gpio) not in (IN, OUT):
        raise WrongDirectionException("You must setup() the GPIO channel first")
    return HIGH if _state.driver.read(gpio) else LOW


# No board yet: every call goes to the fallbacks, which identify and open it on first need.
rpio_core.fastpath_bind(None, _output_slow, _input_slow)


def cleanup(*args, **kwargs) -> None:
    """cleanup(channel=None): every channel this process set up (or the ones named) back to an
    input without pull, and its event detection removed; no argument also resets the mode."""
    (channel,) = parse_keywords(args, kwargs, ("channel",), 0, "O")
    items = None
    if channel is not MISSING:
        _is_list, items = _channel_arg(channel)
    found = False
    with _state._lock:
        # RPi.GPIO looks at the list only once its registers are mapped (before, it just warns),
        # then element by element: the type, then the channel. RPIO checks every element first and
        # changes nothing if one is wrong (docs/compat.md).
        if _state.board.driver is not None:
            if items is None:
                found = _state.cleanup_all()
            else:
                gpios = [
                    _state.gpio_number(_list_element(item, "Channel must be an integer"))
                    for item in items
                ]
                for gpio in gpios:
                    found = _state.cleanup_one(gpio) or found
    if not found and _state.warnings:
        warnings.warn(_NOTHING_TO_CLEAN, RuntimeWarning, stacklevel=2)


def gpio_function(*args, **kwargs) -> int:
    """gpio_function(channel): IN, OUT, SERIAL, SPI, I2C, HARD_PWM or UNKNOWN, from the registers."""
    (channel,) = parse_positional("gpio_function", args, kwargs, 1, "i")
    gpio = _state.gpio_number(channel)
    if hasattr(_state.driver, "rpigpio_function"):  # chardev: from the line info
        return {"IN": IN, "OUT": OUT, **_RPIGPIO_CATEGORIES}.get(
            _state.driver.rpigpio_function(gpio), UNKNOWN)
    function = _state.driver.get_function(gpio)
    if function == rpio_core.INPUT:
        return IN
    if function == rpio_core.OUTPUT:
        return OUT
    if function == rpio_core.NONE:
        return UNKNOWN
    alt = function - rpio_core.ALT0
    category = boards.rpigpio_function(_state.board.info.chip, gpio, alt)
    return _RPIGPIO_CATEGORIES.get(category, UNKNOWN)


# -- RPIO's additions --------------------------------------------------------------------------
def channel_to_gpio(channel: int) -> int:
    """The BCM gpio number of a channel in the current numbering mode."""
    return _state.gpio_number(c_int(channel))


def _bcm(gpio_id) -> int:
    """RPIO's own pin helpers take BCM gpio ids whatever the numbering mode (as the spec's
    example ``setmode(BOARD); set_pullupdn(17, PUD_UP)`` needs)."""
    gpio = c_int(gpio_id)
    if not 0 <= gpio < _state.board.gpio_count:
        raise InvalidChannelException(_INVALID_CHANNEL)
    return gpio


def set_pullupdn(gpio_id: int, pull_up_down: int = PUD_OFF) -> None:
    """Set a pull-up or pull-down resistor on a BCM gpio, set up or not."""
    gpio = _bcm(gpio_id)
    pud = c_int(pull_up_down)
    if pud not in _PUD_TO_CORE:
        raise InvalidPullException(_BAD_PULL)
    _state.driver.set_pull(gpio, _PUD_TO_CORE[pud])
    _state.pulls[gpio] = pud


def forceinput(gpio_id: int) -> int:
    """The level of any BCM gpio, without setup() first."""
    gpio = _bcm(gpio_id)
    return HIGH if _state.driver.read(gpio) else LOW


def forceoutput(gpio_id: int, value: int) -> None:
    """Write a level to any BCM gpio's output latch, without setup() first.

    Careful: driving a pin that something else drives can harm the board.
    """
    gpio = _bcm(gpio_id)
    _state.driver.write(gpio, HIGH if c_int(value) else LOW)


def get_pullupdn(gpio_id: int) -> Optional[int]:
    """The pull of a BCM gpio: read from the chip where it can be (BCM2711, RP1), else what this
    process set, else None."""
    return _pull_of(_bcm(gpio_id))


def _pull_of(gpio: int) -> Optional[int]:
    core = _state.driver.get_pull(gpio)
    if core != rpio_core.PULL_UNKNOWN:
        return _CORE_TO_PUD[core]
    return _state.pulls.get(gpio)


class PinInfo(NamedTuple):
    """What a pin is doing: its function by name, the signal of an ALT function, level, pull."""

    gpio: int
    function: str  # 'IN', 'OUT', 'ALT0'..'ALT8', or 'NONE' (RP1: not connected to anything)
    signal: Optional[str]  # e.g. 'SDA1' for ALT0 on GPIO 2; None for IN/OUT/NONE
    level: int
    pull: Optional[int]  # PUD_OFF/PUD_UP/PUD_DOWN, or None where neither chip nor we know


def function_name(function: int) -> str:
    """'IN', 'OUT', 'ALT0'..'ALT8' or 'NONE' for an rpio_core function code (RPIO's names)."""
    if function == rpio_core.INPUT:
        return "IN"
    if function == rpio_core.OUTPUT:
        return "OUT"
    if function == rpio_core.NONE:
        return "NONE"
    return f"ALT{function - rpio_core.ALT0}"


def pin_info(gpio_id: int) -> PinInfo:
    """Function (every ALT named, with its signal), level and pull of any BCM gpio."""
    gpio = _bcm(gpio_id)
    function = _state.driver.get_function(gpio)
    signal = None
    if rpio_core.ALT0 <= function < rpio_core.NONE:
        signal = boards.alt_function_name(_state.board.info.chip, gpio, function - rpio_core.ALT0)
    level = HIGH if _state.driver.read(gpio) else LOW
    return PinInfo(gpio, function_name(function), signal, level, _pull_of(gpio))


def alt_functions(gpio_id: int) -> dict:
    """Every alternate function a BCM gpio offers on this chip: {'ALT0': 'SDA1', ...}."""
    gpio = _bcm(gpio_id)
    chip = _state.board.info.chip
    alts = range(9) if chip == "rp1" else range(6)
    names = {f"ALT{alt}": boards.alt_function_name(chip, gpio, alt) for alt in alts}
    return {alt: name for alt, name in names.items() if name}


def gpio_count() -> int:
    """How many GPIOs the board's chip has (54, or 58 on a BCM2711)."""
    return _state.board.gpio_count
